# The request_lifecycle role: its molecule scenario (emulator, converge, idempotence, verify).
# ansible-lint of the role is part of `make ansible-lint` (mk/ecosystem.mk, the root .ansible-lint).
MORE_TESTS += molecule
.PHONY: molecule

# A scenario directory of this build's own, so two checkouts on one machine never share molecule's state.
molecule: export MOLECULE_EPHEMERAL_DIRECTORY = $(COLLECTIONS)/molecule-request_lifecycle

molecule: collection ## the request_lifecycle role's molecule scenario
	cd $(COLLECTION)/roles/request_lifecycle && $(BIN)/molecule test

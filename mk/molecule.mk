# The request_lifecycle role: its molecule scenario (emulator, converge, idempotence, verify) and ansible-lint.
MORE_TESTS += molecule lint-role
.PHONY: molecule lint-role

# A scenario directory of this build's own, so two checkouts on one machine never share molecule's state.
molecule: export MOLECULE_EPHEMERAL_DIRECTORY = $(COLLECTIONS)/molecule-request_lifecycle

molecule: collection
	cd $(COLLECTION)/roles/request_lifecycle && $(BIN)/molecule test

lint-role: collection
	cd $(COLLECTION) && $(BIN)/ansible-lint -c roles/request_lifecycle/.ansible-lint roles/request_lifecycle

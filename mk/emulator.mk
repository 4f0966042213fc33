# The MIM CM emulator as users get it (emulator/, the mim-cm-emulator package): its wheel in an empty virtualenv,
# started from the console script, serving the demo playbook; and the guide "Test your playbooks without a Windows
# server" (docs/docsite/rst/testing_without_windows.rst) run as written: its files parse, its GitHub Actions steps and
# GitLab CI job run locally against the emulator. The emulator's own tests run in `make integration`.
MORE_TESTS += emulator-dist
.PHONY: emulator-dist

emulator-dist: collection ## the emulator's wheel in an empty venv, the demo and the CI guide's steps against it
	cd $(COLLECTION) && $(BIN)/python -m pytest tests/emulator/test_distribution.py -q

# The two commands of README.md: `make demo` and `make test`. Each sets up what it needs:
# a virtualenv in .venv, and a copy of the collection at .build/ansible_collections/mim/cm
# (ansible-test and ansible-playbook need it at a real path of that shape).

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
PYTHON_VERSION = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# The ansible-core the tests run on; the matrix overrides it with its own VENV and PYTHON.
ANSIBLE_CORE ?= ansible-core==2.19.14
VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
COLLECTIONS ?= $(CURDIR)/.build
COLLECTION := $(COLLECTIONS)/ansible_collections/mim/cm

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test sanity units integration collection venv get-pip clean

# More test targets (molecule, lint, docs, matrix, ...) live in mk/*.mk; each adds itself to MORE_TESTS.
MORE_TESTS :=
-include $(sort $(wildcard mk/*.mk))

demo: collection ## start the emulator, run the demo playbook twice (changed, then ok), stop it
	cd $(COLLECTION) && $(BIN)/python demo/demo.py

test: lint sanity units integration $(MORE_TESTS) ## everything CI runs (README's table), the fast lint first

# The stamp names the ansible-core it was made with: another ANSIBLE_CORE makes the venv again.
VENV_STAMP := $(BIN)/.installed-$(subst ==,-,$(ANSIBLE_CORE))

venv: $(VENV_STAMP) ## the test virtualenv in .venv (requirements-dev.txt and ANSIBLE_CORE)

# The emulator package's metadata (its version) is written at install: a new version installs it again.
$(VENV_STAMP): requirements-dev.txt emulator/pyproject.toml emulator/src/mim_cm_emulator/__init__.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade -r requirements-dev.txt "$(ANSIBLE_CORE)"
	touch $@

collection: venv ## copy the tree to .build/ansible_collections/mim/cm, where ansible-test and playbooks need it
	rm -rf $(COLLECTION)
	mkdir -p $(COLLECTION)
	tar --exclude=./.venv --exclude=./.build --exclude=./.git --exclude=./tests/output \
	    --exclude=__pycache__ --exclude=.pytest_cache --exclude='*.egg-info' -cf - . | tar -xf - -C $(COLLECTION)
	# A repository of its own, so ansible-test lists the copy's files instead of seeing them as ignored by ours.
	cd $(COLLECTION) && git init --quiet && git add --all

# ansible-test --venv bootstraps pip with a script it cannot download here: put our stand-in where this venv's
# ansible-test looks for it (tools/get_pip_standin.py, tools/install_get_pip_standin.py).
get-pip: venv ## put the stand-in for pip's bootstrap script where ansible-test --venv looks (offline)
	$(BIN)/python tools/install_get_pip_standin.py

sanity: collection get-pip ## ansible-test sanity, no ignore file
	cd $(COLLECTION) && $(BIN)/ansible-test sanity --venv --python $(PYTHON_VERSION) --color no

units: collection ## unit and property tests (tests/unit)
	cd $(COLLECTION) && $(BIN)/python -m pytest tests/unit -q

integration: collection ## the emulator's tests and the modules against it over HTTPS with NTLM
	# The Kerberos tests run in `make kerberos` (mk/kerberos.mk), after the install step they need.
	cd $(COLLECTION) && $(BIN)/python -m pytest emulator/tests tests/integration -q -k "not kerberos"

clean: ## remove .venv, .build and tests/output
	rm -rf $(COLLECTIONS) $(VENV) tests/output

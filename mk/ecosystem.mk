# How mim.cm fits the Ansible ecosystem; every target below is part of `make test` (MORE_TESTS):
#   eco-metadata    every module is in the `cm` action group; requires_ansible admits exactly what the matrix tests
#   changelog-lint  antsibull-changelog lint; changelog.yaml has galaxy.yml's version; CHANGELOG.rst is generated
#   docs-lint       antsibull-docs lint-collection-docs --plugin-docs; the guides match the messages, auth choices and options
#   docs            the docs site: antsibull-docs reference + docs/docsite guides, Sphinx, offline, warnings fail
#   galaxy-check    ansible-galaxy collection build; the tarball's files; galaxy-importer (what Galaxy runs on upload);
#                   install into an empty path; demo on it
#   ee-check        ansible-builder create with the tarball; its introspection finds requirements.txt (and bindep.txt)
#   ansible-lint    ansible-lint --profile production with the root .ansible-lint
#   matrix-pythons  compile and import sanity on every target Python of ansible-test
#   matrix-oldest   sanity, units, integration on the oldest ansible-core requires_ansible admits
#   matrix-newest   sanity, units, integration on the newest ansible-core, on Python 3.13
# Also: `make ecosystem` (all but the matrix), `make matrix` (the matrix), and, once per release,
# `make changelog-release` (not part of `make test`).
#
# The tools run from a venv of their own (requirements-ecosystem.txt). Everything written goes under
# ECO_ROOT (.build, ignored by git and left out of the collection copy and the tarball).

ECO_ROOT ?= $(CURDIR)/.build
ECO_VENV ?= $(ECO_ROOT)/venv-eco
ECO_BIN := $(ECO_VENV)/bin
ECO_WORK ?= $(ECO_ROOT)/eco
# The ecosystem tools first, and mim.cm from this build's copy only: never a stale one under ~/.ansible.
ECO_ENV = env PATH="$(ECO_BIN):$$PATH" ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)"

# The matrix. Each leg re-runs the Makefile's own targets with its own PYTHON, ANSIBLE_CORE, VENV and copy.
# A venv's name holds its ansible-core, so changing the version makes a new venv instead of reusing a stale one.
OLDEST_ANSIBLE_CORE ?= ansible-core==2.19.0
OLDEST_VENV ?= $(ECO_ROOT)/venv-$(subst ==,-,$(OLDEST_ANSIBLE_CORE))
OLDEST_COLLECTIONS ?= $(ECO_ROOT)/matrix-oldest
NEWEST_ANSIBLE_CORE ?= ansible-core==2.21.5
NEWEST_PYTHON_VERSION ?= 3.13
NEWEST_PYTHON ?= $(shell tools/find-python.sh $(NEWEST_PYTHON_VERSION))
NEWEST_VENV ?= $(ECO_ROOT)/venv-$(subst ==,-,$(NEWEST_ANSIBLE_CORE))-py$(NEWEST_PYTHON_VERSION)
NEWEST_COLLECTIONS ?= $(ECO_ROOT)/matrix-newest
# Empty: every Python the test venv's ansible-test supports that tests/config.yml admits (3.8 to 3.13 for 2.19).
MATRIX_PYTHONS ?=

ECO_TESTS := eco-metadata changelog-lint docs-lint docs galaxy-check ee-check ansible-lint
MATRIX_TESTS := matrix-pythons matrix-oldest matrix-newest
MORE_TESTS += $(ECO_TESTS) $(MATRIX_TESTS)
.PHONY: eco-venv ecosystem matrix changelog-release $(ECO_TESTS) $(MATRIX_TESTS)

ecosystem: $(ECO_TESTS) ## every ecosystem check below, not the matrix
matrix: $(MATRIX_TESTS) ## the support matrix: Pythons, oldest and newest ansible-core

eco-venv: $(ECO_BIN)/.installed ## the ecosystem tools' venv (requirements-ecosystem.txt)

$(ECO_BIN)/.installed: requirements-ecosystem.txt
	$(PYTHON) -m venv $(ECO_VENV)
	$(ECO_BIN)/python -m pip install --quiet --upgrade -r requirements-ecosystem.txt "$(ANSIBLE_CORE)"
	touch $@

eco-metadata: venv ## every module in the action group; requires_ansible admits what the matrix tests
	$(BIN)/python tools/check_metadata.py $(CURDIR) --oldest "$(OLDEST_ANSIBLE_CORE)" \
	    --tested "$(ANSIBLE_CORE)" --tested "$(NEWEST_ANSIBLE_CORE)"

changelog-lint: collection eco-venv ## antsibull-changelog lint; changelog.yaml and CHANGELOG.rst up to date
	cd $(COLLECTION) && $(ECO_ENV) $(ECO_BIN)/python $(CURDIR)/tools/check_changelog.py . $(ECO_WORK)/changelog

docs-lint: collection eco-venv ## antsibull-docs lint; the guides match the code's messages, auth choices and options
	cd $(COLLECTION) && $(ECO_ENV) antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs \
	    --validate-collection-refs all --disallow-unknown-collection-refs .
	$(BIN)/python tools/check_guide_messages.py $(COLLECTION)
	$(BIN)/python tools/check_guide_options.py $(COLLECTION)

docs: collection eco-venv ## build the docs site offline into .build/eco/docs/build/html
	$(ECO_ENV) tools/build-docs.sh $(ECO_WORK)/docs $(COLLECTION)

# From the checkout, as a user builds it; the demo runs from the checkout against the installed tarball.
galaxy-check: venv eco-venv ## build the Galaxy tarball, check its files, galaxy-importer, install it, run the demo on it
	$(BIN)/python tools/check_galaxy_build.py $(CURDIR) $(ECO_WORK)/galaxy --demo
	cd $(ECO_WORK)/galaxy && GALAXY_IMPORTER_CONFIG=$(CURDIR)/tools/galaxy-importer.cfg $(ECO_ENV) \
	    $(ECO_BIN)/python -m galaxy_importer.main dist/mim-cm-*.tar.gz

ee-check: galaxy-check eco-venv ## ansible-builder create with the tarball: the EE finds the requirements
	$(ECO_ENV) $(ECO_BIN)/python tools/check_ee.py $(ECO_WORK)/galaxy/dist/mim-cm-*.tar.gz $(ECO_WORK)/ee \
	    --ansible-core "$(ANSIBLE_CORE)" --requirements requirements.txt $(if $(wildcard bindep.txt),--bindep bindep.txt)

# ansible-lint from the test venv (requirements-dev.txt pins it), on the build copy, offline.
ansible-lint: collection ## ansible-lint --profile production, offline, on the build copy
	cd $(COLLECTION) && ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(BIN)/ansible-lint --profile production

matrix-pythons: collection get-pip ## compile and import sanity on every target Python
	tools/sanity-pythons.sh $(BIN) $(COLLECTION) $(MATRIX_PYTHONS)

matrix-oldest: ## sanity, units, integration on the oldest ansible-core admitted
	$(MAKE) --no-print-directory sanity units integration \
	    ANSIBLE_CORE="$(OLDEST_ANSIBLE_CORE)" VENV=$(OLDEST_VENV) COLLECTIONS=$(OLDEST_COLLECTIONS)

matrix-newest: ## sanity, units, integration on the newest ansible-core (Python 3.13)
	@test -n "$(NEWEST_PYTHON)" || { echo "matrix-newest: $(NEWEST_ANSIBLE_CORE) needs Python $(NEWEST_PYTHON_VERSION)" >&2; exit 1; }
	$(MAKE) --no-print-directory sanity units integration \
	    PYTHON=$(NEWEST_PYTHON) ANSIBLE_CORE="$(NEWEST_ANSIBLE_CORE)" VENV=$(NEWEST_VENV) COLLECTIONS=$(NEWEST_COLLECTIONS)

# Once per release, by whoever cuts it: fragments -> changelogs/changelog.yaml and CHANGELOG.rst. Then commit.
changelog-release: eco-venv ## once per release: fragments into changelog.yaml and CHANGELOG.rst
	$(ECO_ENV) tools/release-changelog.sh $(CURDIR)

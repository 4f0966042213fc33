# The fast checks, first in `make test` and alone as `make lint` (seconds):
#   ruff   pyflakes, bugbear and complexity <= 10 on the whole tree (ruff.toml); it never reformats
#   mypy   the types of plugins/ (mypy.ini), checked in the collection copy, where ansible_collections.mim.cm resolves
# `make coverage` (not part of `make test`) measures what the unit tests alone cover, per file.
# ruff, mypy and pytest-cov are pinned in requirements-dev.txt. `make help` lists every target of the Makefile and mk/*.mk.
.PHONY: lint help coverage

# The issue 13 bar: every module_utils file at least 85% covered by the unit tests alone.
COVERAGE_BAR ?= 85

lint: collection ## ruff (pyflakes, bugbear, complexity) on the tree and mypy on plugins/: seconds
	$(BIN)/ruff check --no-cache --quiet .
	cd $(COLLECTIONS) && $(BIN)/mypy --config-file $(CURDIR)/mypy.ini ansible_collections/mim/cm/plugins

coverage: collection ## unit-test coverage of plugins/, per file; names the module_utils files under COVERAGE_BAR (85%)
	cd $(COLLECTION) && $(BIN)/python -m pytest tests/unit -q -p no:cacheprovider --cov=plugins --cov-report=term \
	    --cov-report=json:$(COLLECTIONS)/coverage.json
	$(BIN)/python -c 'import json, sys; files = json.load(open(sys.argv[1]))["files"]; \
	    low = ["%s %.1f%%" % (name, data["summary"]["percent_covered"]) for name, data in sorted(files.items()) \
	           if "module_utils" in name and data["summary"]["percent_covered"] < $(COVERAGE_BAR)]; \
	    print("module_utils files under $(COVERAGE_BAR)%: " + (", ".join(low) or "none"))' $(COLLECTIONS)/coverage.json

help: ## this list: every target, one line each
	@grep -hE '^[a-z][a-z0-9_-]*:.*## ' $(MAKEFILE_LIST) | sort \
	    | sed -E 's/^([a-z0-9_-]+):.*## (.*)$$/  \1|\2/' | awk -F'|' '{ printf "%-19s %s\n", $$1, $$2 }'

# The fast checks, first in `make test` and alone as `make lint` (seconds):
#   ruff   pyflakes, bugbear and complexity <= 10 on the whole tree (ruff.toml); it never reformats
#   mypy   the types of plugins/ (mypy.ini), checked in the collection copy, where ansible_collections.mim.cm resolves
# Both are pinned in requirements-dev.txt. `make help` lists every target of the Makefile and mk/*.mk.
.PHONY: lint help

lint: collection ## ruff (pyflakes, bugbear, complexity) on the tree and mypy on plugins/: seconds
	$(BIN)/ruff check --no-cache --quiet .
	cd $(COLLECTIONS) && $(BIN)/mypy --config-file $(CURDIR)/mypy.ini ansible_collections/mim/cm/plugins

help: ## this list: every target, one line each
	@grep -hE '^[a-z][a-z0-9_-]*:.*## ' $(MAKEFILE_LIST) | sort \
	    | sed -E 's/^([a-z0-9_-]+):.*## (.*)$$/  \1|\2/' | awk -F'|' '{ printf "%-19s %s\n", $$1, $$2 }'

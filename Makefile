# Haven: every command a person or CI runs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= .demo-site
DEMO_USER := demo
DEMO_PASSWORD := haven-demo-2026

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets with what they do
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

.PHONY: venv
venv: $(STAMP) ## Create .venv and install Haven with its development tools

.PHONY: catalogs
catalogs: $(STAMP) ## Compile the translation catalogues (.po -> .mo)
	$(BIN)/python -m desktop.i18n compile

.PHONY: run
run: $(STAMP) catalogs ## Open Haven on a demo site (creates it on first run)
	@test -f $(DEMO_DIR)/keyslots.json || { \
		printf '%s\n' '$(DEMO_PASSWORD)' > $(DEMO_DIR).pw; \
		$(BIN)/haven-admin --data $(DEMO_DIR) init --site-name "Demo site" --admin $(DEMO_USER) \
			--new-password-file $(DEMO_DIR).pw > /dev/null && \
		$(BIN)/haven-admin --data $(DEMO_DIR) --user $(DEMO_USER) --password-file $(DEMO_DIR).pw \
			demo --cases 500 --seed 1 > /dev/null; rm -f $(DEMO_DIR).pw; }
	@echo "Demo login: user '$(DEMO_USER)', password '$(DEMO_PASSWORD)'"
	HAVEN_DEMO_LOGIN='$(DEMO_USER):$(DEMO_PASSWORD)' $(BIN)/haven --data $(DEMO_DIR)

.PHONY: lint
lint: $(STAMP) ## ruff, mypy (strict on db/ and desktop/) and the import-linter layer contracts
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

.PHONY: test
test: $(STAMP) catalogs lint ## Run every check and test (offscreen Qt; real windows under Xvfb when present)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

.PHONY: bench
bench: $(STAMP) ## Measure the performance targets against baselines from the same run
	$(BIN)/python -m bench

.PHONY: screenshots
screenshots: $(STAMP) catalogs ## Save PNGs of the main screens in both languages (needs xvfb-run)
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python -m bench.screenshots

.PHONY: clean
clean: ## Remove the virtualenv, caches and the demo site
	rm -rf $(VENV) $(DEMO_DIR) .mypy_cache .ruff_cache build dist

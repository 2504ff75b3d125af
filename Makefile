# The README's two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
PORT   ?= 4000

.PHONY: run test lint typecheck pytest install web webtest schema client bench clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when the dependency list changed (a full install takes minutes here).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The dashboard: npm ci only when node_modules is missing or package-lock.json changed.
WEB_STAMP := web/node_modules/.installed
$(WEB_STAMP): web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

web: $(WEB_STAMP)
	cd web && npm run build

webtest: $(WEB_STAMP)
	cd web && npm test

run: install web
	DTS_PORT=$(PORT) $(BIN)/dts up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install web
	$(BIN)/pytest

test: lint typecheck webtest pytest

schema: install
	$(BIN)/dts export-schema

# Typed Python client from schema.graphql + clients/operations.graphql ([tool.ariadne-codegen]).
CODEGEN := .venv-codegen/bin/ariadne-codegen
$(CODEGEN):
	$(PYTHON) -m venv .venv-codegen
	.venv-codegen/bin/pip install -q 'ariadne-codegen>=0.19,<0.20'

client: $(CODEGEN)
	mkdir -p clients/generated
	$(CODEGEN) client

# docs/screenshots/: every dashboard page at 1280 and 390 px, light and dark, from a seeded
# throwaway `dts up` on loopback, in Debian's Chromium (apt-get install chromium).
screenshots: install web
	$(BIN)/python scripts/screenshots.py

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .dts .pytest_cache .mypy_cache .ruff_cache

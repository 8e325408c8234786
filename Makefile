# casewatch — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Two stamps: casewatch and what it needs to run (`make run`), then the dev tools on top
# (`make test`, lint, typecheck, bench). Both are redone when pyproject.toml changes, and the
# dev tools are added to a venv that `make run` made.
STAMP  := $(VENV)/.installed
DEV    := $(VENV)/.installed-dev

.PHONY: all check run test lint typecheck bench clean dovecot

all: check

# The virtual environment with casewatch (editable) and its runtime dependencies only.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# The dev dependency group (tests, lint, types); pip 25.1 is the first to know --group.
$(DEV): $(STAMP)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --group dev
	touch $(DEV)

## run: set everything up and run casewatch on its embedded default (the demo)
run: $(STAMP)
	$(BIN)/casewatch demo

## test: set everything up (Dovecot included, where possible) and run the tests, one worker
## process per core (pytest-xdist; each worker starts its own Dovecot); PYTEST_WORKERS=0 runs
## them in this process, one after the other
PYTEST_WORKERS ?= auto
test: $(DEV) dovecot
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

## dovecot: install Debian's dovecot-imapd when missing and we are root with apt
dovecot:
	@sh scripts/ensure-dovecot

lint: $(DEV)
	$(BIN)/ruff check daemon tests scripts
	$(BIN)/ruff format --check daemon tests scripts

typecheck: $(DEV)
	$(BIN)/mypy

## check (default): lint, types and tests
check: lint typecheck test

## bench: figures, not asserts (backfill from a Dovecot it starts, polls, decide, digest);
## prints a table and writes bench/results.md. BENCH_MESSAGES=100000 by default.
BENCH_MESSAGES ?= 100000
bench: $(DEV) dovecot
	$(BIN)/python scripts/bench.py --messages $(BENCH_MESSAGES)

clean:
	rm -rf $(VENV) state/casewatch.db* state/outbox state/demo

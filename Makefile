# casewatch — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: all check run test lint typecheck bench clean dovecot

all: check

# The virtual environment, rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

## run: set everything up and run casewatch on its embedded default (the demo)
run: $(STAMP)
	$(BIN)/casewatch demo

## test: set everything up (Dovecot included, where possible) and run the tests
test: $(STAMP) dovecot
	$(BIN)/python -m pytest

## dovecot: install Debian's dovecot-imapd when missing and we are root with apt
dovecot:
	@sh scripts/ensure-dovecot

lint: $(STAMP)
	$(BIN)/ruff check daemon tests scripts
	$(BIN)/ruff format --check daemon tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy

## check (default): lint, types and tests
check: lint typecheck test

## bench: figures, not asserts (backfill from a Dovecot it starts, polls, decide, digest);
## prints a table and writes bench/results.md. BENCH_MESSAGES=100000 by default.
BENCH_MESSAGES ?= 100000
bench: $(STAMP) dovecot
	$(BIN)/python scripts/bench.py --messages $(BENCH_MESSAGES)

clean:
	rm -rf $(VENV) state/casewatch.db* state/outbox state/demo

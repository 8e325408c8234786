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

## bench: issue 17's targets measured in one run (generated stores and mail, a Dovecot it starts):
## idle and one-message ticks, commands at 1k/10k/50k cases, daemon RSS over 1,000 ticks, the
## backfill against a bare parse on all cores; writes bench/results.md, each target met or missed.
## BENCH_MESSAGES=100000 by default. `make bench BENCH_QUICK=1` is a check of a few minutes
## (2k messages, 1k/5k cases, 200 ticks) that writes $(BENCH_QUICK_OUT), never bench/results.md.
BENCH_MESSAGES ?= 100000
BENCH_QUICK ?=
BENCH_QUICK_OUT ?= /tmp/casewatch-bench-quick.md
BENCH_ARGS = $(if $(filter 1,$(BENCH_QUICK)),--quick --out $(BENCH_QUICK_OUT),--messages $(BENCH_MESSAGES))
bench: $(DEV) dovecot
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) state/casewatch.db* state/outbox state/demo

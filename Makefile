# OTC desk server. `make` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help install run serve sim test test-fast lint fmt trades clean-var bench bench-quick

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools
	@echo ">>> installing; the first time, pip compiles quickfix from source (~6 minutes on 2 cores; the wheel is cached afterwards)"
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the desk with its dev tools

run: install ## fresh-machine demo: migrate var/desk.db, run simulator + desk (JSON logs; Ctrl-C stops)
	$(BIN)/otc-desk db upgrade
	$(BIN)/otc-desk serve --with-sim

serve: install ## run the desk alone (venues must be up; DESK_DATABASE_URL for PostgreSQL)
	DESK_SIM_API_KEY=$${DESK_SIM_API_KEY:-sim-api-key} DESK_SIM_API_SECRET=$${DESK_SIM_API_SECRET:-sim-api-secret} $(BIN)/otc-desk serve

sim: install ## run only the exchange simulator from config/desk.toml
	$(BIN)/otc-desk sim

test: install ## run the whole suite (needs PostgreSQL at 127.0.0.1:5432, see README)
	$(BIN)/pytest

bench: install ## benchmark: desk vs bare QuickFIX baseline, SQLite and PostgreSQL (~18 min)
	$(BIN)/python -m bench.runner

bench-quick: install ## benchmark smoke run (under a minute; fails on any unanswered request)
	$(BIN)/python -m bench.runner --quick --pg-url ''

lint: install ## ruff and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/mypy

fmt: install ## ruff format + autofix
	$(BIN)/ruff check --fix .

trades: install ## print the trade log of the default ledger
	$(BIN)/otc-desk trades

clean-var: ## delete var/ (ledger, FIX store, logs) — loses every booked trade
	rm -rf var

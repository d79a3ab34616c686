# Baoke: the two commands a newcomer needs are `make demo` and `make test`.
# Everything runs from a project-local virtualenv (.venv) and a project-local state
# folder (.baoke/: embedded warehouse, Airflow home, inboxes, outbound files).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The platform handles personal data: nothing phones home.
export DO_NOT_TRACK := 1
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export SCARF_ANALYTICS := false
export DBT_SEND_ANONYMOUS_USAGE_STATS := False

.PHONY: help install demo lint test test-fast ui warehouse-up warehouse-down bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install Baoke with its pinned dependencies

demo: $(STAMP)  ## start the embedded warehouse and run the platform's daily job for a recent date
	$(BIN)/baoke demo

# Each tool fails on any finding; the pre-commit hooks (.pre-commit-config.yaml) run the same.
lint: $(STAMP)  ## ruff (lint, format), sqlfluff on the dbt models, mypy, the layering contract
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/sqlfluff lint dbt_project
	$(BIN)/mypy
	$(BIN)/lint-imports

# The suite runs on two workers (CI has two cores); tests/conftest.py says how it is shared.
XDIST := -n 2 --dist loadfile --no-loadscope-reorder

test: lint  ## the linters, then the whole test suite (what CI runs)
	$(BIN)/pytest $(XDIST)

test-fast: $(STAMP)  ## the tests that run neither Airflow nor dbt (the `slow` marker), on two workers: about 80 s
	$(BIN)/pytest $(XDIST) -m "not slow"

ui: $(STAMP)  ## open the Airflow UI locally with the project's DAGs (http://localhost:8080)
	$(BIN)/baoke ui

warehouse-up: $(STAMP)  ## start the embedded warehouse and print its URL
	$(BIN)/baoke warehouse up

warehouse-down: $(STAMP)  ## stop the embedded warehouse
	$(BIN)/baoke warehouse down

bench: $(STAMP)  ## benchmarks (SCALE=small|medium|large, default medium); results go in BENCHMARKS.md
	$(BIN)/python benchmarks/bench_generate.py --scale $(or $(SCALE),medium)

clean:  ## stop the embedded warehouse and remove .venv and .baoke
	-$(BIN)/baoke warehouse down
	rm -rf $(VENV) .baoke dbt_project/target dbt_project/logs

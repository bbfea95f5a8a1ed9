# Two commands matter: `make demo` and `make test`. Both set themselves up from a bare Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Two cores on CI: one pytest worker per core.
PYTEST_WORKERS ?= auto

.PHONY: help install demo test lint typecheck unit bench soak clean postgres

help:
	@echo "make demo   - set up, start the embedded sandbox and run a real promotion"
	@echo "make test   - set up, then ruff, mypy and the test suite"
	@echo "make bench  - benchmarks, printing JSON"
	@echo "make soak   - long reliability variants"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# First-party plugins (plugins/*) are products: installed (editable) into .venv, where `make demo`
# runs. The tiny distributions the tests install (tests/distributions/*) are not: they go into
# .venv/test-distributions, which tests/conftest.py puts on sys.path and PYTHONPATH, so entry-point
# discovery is tested for real but `promoter` outside the tests never sees them.
DISTRIBUTIONS := $(wildcard plugins/*/pyproject.toml)
TEST_DISTRIBUTIONS := $(wildcard tests/distributions/*/pyproject.toml)
TEST_DISTRIBUTION_FILES := $(shell find tests/distributions -type f -not -path '*/__pycache__/*' 2>/dev/null)
TEST_DISTRIBUTION_DIR := $(VENV)/test-distributions

$(STAMP): $(BIN)/python pyproject.toml $(DISTRIBUTIONS) $(TEST_DISTRIBUTION_FILES)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@for p in $(dir $(DISTRIBUTIONS)); do \
	  if [ -f "$$p/pyproject.toml" ]; then $(BIN)/python -m pip install --quiet -e "$$p" || exit 1; fi; \
	done
	@rm -rf $(TEST_DISTRIBUTION_DIR)
	@# (an environment made before they moved out of .venv has them there: uninstalled first)
	@for p in $(dir $(TEST_DISTRIBUTIONS)); do \
	  $(BIN)/python -m pip uninstall --quiet --yes "$$(basename $$p)" >/dev/null 2>&1; \
	  $(BIN)/python -m pip install --quiet --no-deps --target $(TEST_DISTRIBUTION_DIR) "$$p" || exit 1; \
	done
	@touch $(STAMP)

install: $(STAMP)

# ruff, and the architecture: import-linter holds the layers declared in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check $(wildcard promoter tests benchmarks plugins)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy promoter $(wildcard plugins/*/promoter_*)

# The PostgreSQL ledger's tests need a real server: .ci/postgres.sh installs (Debian) and starts one
# on 127.0.0.1 as an unprivileged user unless it already runs, and prints its URL.
PG_URL_FILE := $(VENV)/postgres-url

postgres:
	@mkdir -p $(VENV)
	bash .ci/postgres.sh > $(PG_URL_FILE)

unit: $(STAMP) postgres
	PROMOTER_TEST_POSTGRES_URL="$$(cat $(PG_URL_FILE))" $(BIN)/pytest -n $(PYTEST_WORKERS) -m "not soak"

test: lint typecheck unit

demo: $(STAMP)
	$(BIN)/python -m promoter.demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks

soak: $(STAMP) postgres
	PROMOTER_TEST_POSTGRES_URL="$$(cat $(PG_URL_FILE))" $(BIN)/pytest -n $(PYTEST_WORKERS) -m soak

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .promoter

# Every target creates and uses the local virtualenv in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check bench lint typecheck contracts format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP) ## Start filegate with embedded defaults (SQLite, ./filegate-data, table queue).
	$(BIN)/filegate serve --dev

test: $(STAMP) ## The whole suite (PostgreSQL tests skip locally when it is absent; fail under CI).
	$(BIN)/pytest

check: lint typecheck contracts ## ruff, mypy strict, import-linter.

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

bench: $(STAMP) ## Benchmarks: ratios against a baseline measured in the same run.
	$(BIN)/python -m bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# make demo / make test work on a fresh machine: the virtual environment is created when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck bench docs clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m compileall -q src/nof1  # bytecode up front: `nof1 log` starts faster
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/migraine_magnesium/run_demo.py

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q --cov=nof1 --cov-report=term

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/python docs/gen_cli_reference.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache

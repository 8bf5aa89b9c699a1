# make demo / make test work on a fresh machine: the virtual environment is created when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The installed version comes from git (hatch-vcs): re-register the package (no dependencies,
# a few seconds) whenever HEAD moves, so reports and `nof1 --version` name the exact build.
GIT_HEAD := $(shell git rev-parse --short HEAD 2>/dev/null || echo no-git)
BUILD := $(VENV)/.build-$(GIT_HEAD)

.PHONY: install demo test test-fast lint typecheck check bench docs clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m compileall -q src/nof1  # bytecode up front: `nof1 log` starts faster
	touch $(STAMP)

$(BUILD): $(STAMP)
	rm -f $(VENV)/.build-*
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(BUILD)

install: $(BUILD)

demo: $(BUILD)
	$(BIN)/python examples/migraine_magnesium/run_demo.py

# The README's full command: every test, real MCMC sampling included, with coverage.
test: $(BUILD)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q --cov=nof1 --cov-report=term

# While working: no sampling tests, no coverage (under 2 minutes on a 2-core machine).
test-fast: $(BUILD)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -m "not sampling"

# What CI enforces (.ci/run).
check: lint typecheck test

lint: $(BUILD)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests

typecheck: $(BUILD)
	$(BIN)/mypy

docs: $(BUILD)
	$(BIN)/python docs/gen_cli_reference.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache

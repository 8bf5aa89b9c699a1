# make demo / make test work on a fresh machine: the virtual environment is created when missing.
#
# nof1 needs Python >= 3.12 (PyMC 6). The interpreter is found in this order: PY=... when given,
# `python3` on PATH, the newest pyenv-installed 3.12+ ($(pyenv root)/versions, or ~/.pyenv when
# pyenv is not on PATH; free-threaded "t" builds skipped), a uv-installed one
# (`uv python find '>=3.12'`); otherwise make stops and says how to get one. A .venv built by an
# older Python is removed and rebuilt.
PY ?=
VENV := .venv
BIN := $(VENV)/bin
PY_MIN := 3.12
PY_OK := import sys; sys.exit(sys.version_info < (3, 12))

# Only evaluated when the virtual environment has to be (re)built.
FIND_PY = $(shell \
  ok() { [ -n "$$1" ] && "$$1" -c '$(PY_OK)' >/dev/null 2>&1; }; \
  if [ -n "$(PY)" ]; then ok "$(PY)" && echo "$(PY)"; exit 0; fi; \
  if ok "$$(command -v python3)"; then command -v python3; exit 0; fi; \
  root="$$(pyenv root 2>/dev/null || echo "$$HOME/.pyenv")"; \
  for c in $$(ls -d "$$root"/versions/3.1[2-9]*/bin/python 2>/dev/null | grep -v 't/bin/python$$' \
      | sort -rV); do \
    if ok "$$c"; then echo "$$c"; exit 0; fi; \
  done; \
  c="$$(uv python find '>=$(PY_MIN)' 2>/dev/null)"; if ok "$$c"; then echo "$$c"; fi)

# An existing .venv made by an older Python (3.11 before PyMC 6) is rebuilt, not reused.
VENV_STALE := $(shell [ -x $(BIN)/python ] && ! $(BIN)/python -c '$(PY_OK)' >/dev/null 2>&1 \
  && echo yes)
STAMP := $(VENV)/.installed
# The installed version comes from git (hatch-vcs): re-register the package (no dependencies,
# a few seconds) whenever HEAD moves, so reports and `nof1 --version` name the exact build.
GIT_HEAD := $(shell git rev-parse --short HEAD 2>/dev/null || echo no-git)
BUILD := $(VENV)/.build-$(GIT_HEAD)

.PHONY: install demo test test-fast lint typecheck check bench docs clean

ifeq ($(VENV_STALE),yes)
$(BIN)/python: venv-stale
endif

.PHONY: venv-stale
venv-stale:
	@echo "$(VENV) was built with Python $$($(BIN)/python -c 'import platform; print(platform.python_version())'); nof1 needs >= $(PY_MIN): rebuilding it."
	rm -rf $(VENV)

$(BIN)/python:
	@py="$(FIND_PY)"; \
	if [ -z "$$py" ]; then \
	  echo "Error: nof1 needs Python >= $(PY_MIN), and none was found (python3 on PATH is" \
	    "$$(python3 -c 'import platform; print(platform.python_version())' 2>/dev/null || echo missing);" \
	    "looked in pyenv's and uv's installed versions). Install one, e.g. \`pyenv install 3.12\`" \
	    "or \`uv python install 3.12\`, or point make at it: make PY=/path/to/python3.12 install" >&2; \
	  exit 1; \
	fi; \
	echo "Creating $(VENV) with $$py ($$("$$py" -c 'import platform; print(platform.python_version())'))"; \
	"$$py" -m venv $(VENV)
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

# While working: no sampling tests, no coverage, two worker processes (pytest-xdist): ~95 s
# against ~135 s in one process on this 2-core machine.
test-fast: $(BUILD)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -m "not sampling" -n 2

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

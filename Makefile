# The two commands of the README's Quick start, `make test-fast` (the inner loop) and `make lint`.
# PYTHON picks the interpreter that creates .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast install lint

$(BIN)/multiemo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/multiemo

test: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

# Every package area, without the tests marked slow (end-to-end runs, real training); under 2 minutes.
test-fast: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow"

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/snakemake --cores 2 --profile workflow/profiles/local

lint: install
	$(BIN)/ruff check .

# The two commands of the README's Quick start, and `make lint`. PYTHON picks the interpreter that creates .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install lint

$(BIN)/multiemo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/multiemo

test: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/snakemake --cores 2 --profile workflow/profiles/local

lint: install
	$(BIN)/ruff check .

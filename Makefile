# The two commands of the README's Quick start, `make test-fast` (the inner loop) and `make lint`.
# PYTHON picks the interpreter that creates .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast test-deploy install lint

$(BIN)/multiemo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/multiemo

test: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

# The deployment tests (tests/deploy, about 11 minutes, see README "Deployment tests"): the reduced demo with
# --use-conda through a stand-in conda, and through the SLURM profile on a one-node cluster (.ci/slurm-cluster; as
# root it installs and starts one, otherwise they skip), and every command of the README on the demo.
test-deploy: install
	MULTIEMO_TEST_DEPLOY=1 HF_HUB_OFFLINE=1 $(BIN)/python -m pytest tests/deploy -m deploy

# Every package area, without the tests marked slow (end-to-end runs, real training); under 2 minutes.
test-fast: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow"

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/snakemake --cores 2 --profile workflow/profiles/local

lint: install
	$(BIN)/ruff check .

# The two commands of the README's Quick start, `make test-fast` (the inner loop), `make lint` and `make lock`.
# The venv holds exactly envs/lock/linux-x86_64-py311.txt (README "Dependencies"): it is rebuilt whenever the
# lock changes, and pip installs it hash-checked, wheels only, without resolving. PYTHON picks the interpreter.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LOCK ?= envs/lock/linux-x86_64-py311.txt
BUILD_LOCK ?= envs/lock/build.txt
SUPPORTED := 3.11
SOURCE_ONLY := $(shell grep -v '^\#' envs/lock/source-only.txt)
PIP_LOCKED := -m pip install --quiet --require-hashes --no-deps --only-binary=:all: \
	$(addprefix --no-binary=,$(SOURCE_ONLY))

.PHONY: demo test test-fast test-deploy install lint lock python-version

python-version:
	@$(PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(0 if v == "$(SUPPORTED)" else \
		f"multiemo supports Python $(SUPPORTED) only (the version envs/lock is resolved and tested for), " \
		f"but $(PYTHON) is Python {v}: run make PYTHON=python$(SUPPORTED) ...")'

# The locked libraries: pip, setuptools and wheel first (the source-only packages build with them, without
# build isolation), then the whole lock; pip's report of what it installed is kept for tests/deploy/test_lock.py.
$(VENV)/lock.txt: $(LOCK) $(BUILD_LOCK) | python-version
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP_LOCKED) --report $(VENV)/install-report-build.json -r $(BUILD_LOCK)
	$(BIN)/python $(PIP_LOCKED) --no-build-isolation --report $(VENV)/install-report.json -r $(LOCK)
	cp $(LOCK) $@

$(BIN)/multiemo: $(VENV)/lock.txt pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(BIN)/multiemo

# Every test but those marked deploy: 6.9 to 8.0 minutes at load 1.2 to 3 on a 2-core machine (README "Deployment tests").
test: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

# The deployment tests (tests/deploy; README "Deployment tests" has the measured times): the reduced demo with
# --use-conda through a stand-in conda, and through the SLURM profile on a one-node cluster (.ci/slurm-cluster; as
# root it installs and starts one, otherwise they skip), every command of the README on the demo, a fresh
# venv from the lock, and the longest end-to-end tests marked deploy elsewhere (data edits rerunning the
# finished workflow, a fine-tuned model exported and predicted from a copy, the 8-minute streaming-memory test,
# the workflow's predict target on a video).
test-deploy: install
	MULTIEMO_TEST_DEPLOY=1 HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m deploy

# Every package area, without the tests marked slow (end-to-end runs, real training); 2.4 minutes at load about 1.5.
test-fast: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow"

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/snakemake --cores 2 --profile workflow/profiles/local

lint: install
	$(BIN)/ruff check .

# The one moment versions move: resolve everything again (the newest releases; KEEP=1 keeps every pin that
# still fits), rewrite envs/*.yaml from the new lock and print what changed. Then `make test`.
lock: install
	$(BIN)/python envs/relock.py --uv $(BIN)/uv $(if $(KEEP),--keep)

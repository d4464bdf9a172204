"""Shared fixtures: small feature stores made in code, and the location of ../shared/data."""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
# ../shared/data beside the clone (as in CI); MULTIEMO_SHARED_DATA points elsewhere (a worktree in another
# folder).
SHARED_DATA = Path(os.environ.get("MULTIEMO_SHARED_DATA", REPO.parent / "shared" / "data"))


# Fixtures that build something end to end (a real Snakemake run, a feature store from real extractors, a
# trained run): every test that asks for one is slow, wherever it lives. Tests slow for their own work carry
# @pytest.mark.slow. `make test-fast` (pytest -m "not slow") leaves all of them out; `make test` runs them.
END_TO_END_FIXTURES = frozenset({"mini_run", "mini_store", "trained_run", "toy_workflow"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests marked deploy (the deployment tests and the longest end-to-end runs, wherever they live) run only
    # under `make test-deploy`, which sets MULTIEMO_TEST_DEPLOY=1.
    deploy = os.environ.get("MULTIEMO_TEST_DEPLOY") == "1"
    skip = pytest.mark.skip(reason="a deployment test (minutes): `make test-deploy` runs it")
    for item in items:
        if END_TO_END_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("deploy") and not deploy:
            item.add_marker(skip)


@cache
def _no_controller_bin() -> str:
    folder = Path(tempfile.mkdtemp(prefix="multiemo-tests-"))
    (folder / "scontrol").write_text(
        "#!/bin/sh\n# a SLURM client without a controller, answering at once\nexit 1\n"
    )
    (folder / "scontrol").chmod(0o755)
    return str(folder)


def local_snakemake_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a Snakemake process of a local test, where SLURM's client may be installed but no
    controller runs (as here once `make test-deploy` has installed its one-node cluster, then stopped).

    Snakemake imports its SLURM executor plugin at every start, and the plugin asks `scontrol show config`
    for MinJobAge; without a reachable controller that call waits out its 10 s timeout and the plugin goes on
    without the value. Local runs never use SLURM: their `scontrol` fails at once, with the same outcome and
    without the wait (9 s of about 13 per dry run here). The SLURM deployment test keeps the real one."""
    if shutil.which("scontrol", path=env.get("PATH")) is None:
        return env
    return {**env, "PATH": os.pathsep.join([_no_controller_bin(), env.get("PATH", os.defpath)])}


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the repository; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it sits beside the repo in CI)")
    return SHARED_DATA


def make_table(lengths_by_split: dict[str, list[int]], labels: list[str], *, seed: int = 0,
               parties: int = 2) -> pd.DataFrame:
    """An utterance table with the given dialogue lengths per split and random labels/speakers."""
    rng = np.random.default_rng(seed)
    rows = []
    for split, lengths in lengths_by_split.items():
        for d, length in enumerate(lengths):
            speakers = rng.integers(0, parties, size=length)
            first: dict[int, int] = {}
            for position, s in enumerate(speakers):
                rows.append({
                    "dialogue_id": f"{split}_{d}",
                    "utterance_id": str(position),
                    "position": position,
                    "speaker": f"spk{s}",
                    "party": first.setdefault(int(s), len(first)),
                    "label": labels[int(rng.integers(len(labels)))],
                    "split": split,
                    "text": f"utterance {position}",
                })
    return pd.DataFrame(rows)


def make_learnable_store(path: Path, *, seed: int = 0, dims=None, lengths=None):
    """A store whose features carry the label (plus noise), so a model can learn it quickly."""
    from multiemo.data.store import write_store

    labels = ["neutral", "joy", "anger"]
    dims = dims or {"text": 12, "audio": 8, "visual": 6}
    lengths = lengths or {"train": [6, 4, 7, 5, 3, 6, 5, 4], "validation": [5, 3, 4], "test": [4, 6, 5]}
    table = make_table(lengths, labels, seed=seed)
    rng = np.random.default_rng(seed + 1)
    y = table["label"].map({l: i for i, l in enumerate(labels)}).to_numpy()
    features = {}
    for m, d in dims.items():
        centres = rng.normal(size=(len(labels), d)) * 2.0
        features[m] = (centres[y] + rng.normal(size=(len(y), d))).astype(np.float32)
    return write_store(path, name="toy", table=table, labels=labels, features=features,
                       provenance={m: {"extractor": "synthetic"} for m in dims})

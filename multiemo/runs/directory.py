"""A run directory's names: its files, what a folder of runs may hold, and reading one of its JSON files."""

from __future__ import annotations

from pathlib import Path

from multiemo.errors import InputError
from multiemo.io import LOCK_NAME, OutputKind, read_json

SETTINGS = "settings.json"
PROVENANCE = "provenance.json"
HISTORY = "history.jsonl"
LAST = "last.pt"
BEST = "best.pt"
METRICS = "metrics.json"
CALIBRATION = "calibration.json"

#: What a run directory holds besides its predictions; a run restarted afresh deletes these.
RUN_FILES = (LAST, BEST, HISTORY, METRICS, SETTINGS, PROVENANCE, CALIBRATION)
#: Everything training, evaluation and the trackers write into a run directory (the trackers' tensorboard/,
#: mlflow.db, tracking.json; a write's temporary file): training resumes or restarts only such a folder.
RUN_FOLDER = OutputKind("run directory", None, (*RUN_FILES, "predictions_*.csv", "tensorboard", "mlflow.db",
                                                "tracking.json", LOCK_NAME, ".*.tmp"))
#: ``multiemo train --seeds``: one run directory per seed and their summary.
SEEDS_FOLDER = OutputKind("folder of seed runs", None, ("seed_*", "summary.json", ".*.tmp"))


class CheckpointError(InputError):
    """A file of a run directory cannot (or must not) be loaded."""


def predictions_file(split: str) -> str:
    """The name of a split's predictions in a run directory."""
    return f"predictions_{split}.csv"


def seed_run(out: Path, seed: int) -> Path:
    """The run directory of one seed in a folder of seed runs (:data:`SEEDS_FOLDER`)."""
    return out / f"seed_{seed}"


def read_run_json(path: Path) -> dict | None:
    """One JSON file of a run directory, or None when the run has none; malformed is a CheckpointError."""
    if not path.is_file():
        return None
    return read_json(path, error=CheckpointError, hint="restore it from the run's origin")

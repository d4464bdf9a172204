"""What a run is: its ``settings.json``, written when it starts and compared when it resumes.

The record holds the store (path and fingerprint), the labels and the model and train settings that change
what the run computes; a directory that holds a run of other settings is refused (or, for the workflow,
cleared) rather than resumed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from multiemo.data.store import FeatureStore
from multiemo.io import write_json
from multiemo.models.config import ModelConfig
from multiemo.runs.directory import BEST, LAST, RUN_FILES, SETTINGS, CheckpointError, read_run_json
from multiemo.settings import ConfigError

log = logging.getLogger(__name__)

# Train settings that change where and how fast a run computes, not what it computes (or, for calibration,
# only a step after training on the selected checkpoint): a run resumes across changes of these, and they are
# not part of its identity.
RUNTIME_ONLY = ("device", "num_threads", "checkpoint_fusion", "tracking", "calibration", "lock")
# Train settings added after runs were recorded, with the value those runs trained with: such a run resumes.
ADDED_SETTINGS = {"precision": "fp32", "selection": "weighted_f1", "patience": None}


def run_identity(store_path: str | os.PathLike, store: FeatureStore, model: ModelConfig,
                 train: Mapping) -> dict:
    """The content of ``settings.json``: ``train`` is every train setting (resolved, precision included);
    the runtime-only ones (:data:`RUNTIME_ONLY`) are left out."""
    return {
        "store": str(Path(store_path).resolve()),
        "store_fingerprint": store.fingerprint,
        "model": jsonable(asdict(model)),
        "train": jsonable({k: v for k, v in train.items() if k not in RUNTIME_ONLY}),
        "labels": store.labels,
    }


def read_settings(run_dir: Path) -> dict | None:
    """A run's ``settings.json``, or None when it has none (a malformed one is a CheckpointError)."""
    return read_run_json(Path(run_dir) / SETTINGS)


def claim_run_dir(out: Path, identity: dict, restart_if_changed: bool) -> None:
    """Record what this run is; refuse to resume (or clear) a directory that holds a different run."""
    path = out / SETTINGS
    previous = read_run_json(path)
    if previous is not None:
        if not isinstance(previous, dict):
            raise CheckpointError(f"{path} does not hold a run's settings; choose another --out or delete it")
        for key, value in ADDED_SETTINGS.items():  # runs from before the setting trained with this value
            previous.get("train", {}).setdefault(key, value)
        if previous == identity:
            return
        # settings of a run that never finished an epoch (e.g. refused as it started) guard nothing
        finished = any((out / name).exists() for name in (LAST, BEST))
        if finished and not restart_if_changed:
            changed = sorted(
                f"{section}.{key}"
                for section in ("model", "train")
                for key in set(previous.get(section, {})) | set(identity[section])
                if previous.get(section, {}).get(key) != identity[section].get(key)
            ) or ["the feature store's content or labels"]
            raise ConfigError(
                f"{out} holds a run with different settings ({', '.join(changed)}); "
                "choose another --out or delete that directory"
            )
        log.info("%s holds %s: starting afresh", out,
                 "a run with other settings" if finished
                 else "the settings of a run without a finished epoch")
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
    write_json(path, identity)


def jsonable(obj):
    """``obj`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(obj))

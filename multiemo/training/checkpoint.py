"""A run directory's files and identity: checkpoints, history, settings; loading the best model.

A run directory holds::

    settings.json      resolved model/train settings, store path, modalities (what the run is)
    history.jsonl      one line per finished epoch (losses, validation and test scores, learning rate)
    last.pt            everything needed to resume after an interruption
    best.pt            weights of the epoch with the best validation weighted-F1 (+ settings, epoch)
    metrics.json       final validation and test scores of best.pt (written by multiemo.evaluation)
    calibration.json   the temperature fitted on best.pt's validation logits (multiemo.training.calibration)
    predictions_test.csv, predictions_validation.csv

Loading a run's model needs only this module, not the training loop.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
from pathlib import Path

import torch

from multiemo.io import atomic_path, write_json
from multiemo.models import ModelConfig, MultiEMO
from multiemo.training.config import ConfigError, from_mapping

log = logging.getLogger(__name__)

# Train settings that change where and how fast a run computes, not what it computes (or, for calibration,
# only a step after training on the selected checkpoint): a run resumes across changes of these, and they are
# not part of its identity.
RUNTIME_ONLY = ("device", "num_threads", "checkpoint_fusion", "calibration")

RUN_FILES = ("last.pt", "best.pt", "history.jsonl", "metrics.json", "settings.json", "calibration.json")


def resolve_device(name: str) -> torch.device:
    """The torch device for a ``train.device`` value; "auto" is CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name!r} but CUDA is not available here; use device=auto or cpu")
    return device


def save_checkpoint(path: Path, obj: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path: Path, device: torch.device) -> dict:
    return torch.load(path, map_location=device, weights_only=False)


def load_run_model(run_dir: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[MultiEMO, dict]:
    """The best checkpoint's model (eval mode) and the run's settings, with the checkpoint's ``best_epoch``
    and ``num_parties``; run the model under ``autocast(settings["train"]["precision"], device)``."""
    path = Path(run_dir) / "best.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: {run_dir} holds no finished epoch; train it first")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=False)
        identity = ckpt["settings"]
        model = MultiEMO(
            config=from_mapping(ModelConfig, identity["model"], section="model"),
            input_dims=ckpt["input_dims"],
            num_classes=len(identity["labels"]),
            num_parties=ckpt["num_parties"],
        )
        model.load_state_dict(ckpt["model"])
        identity["train"].setdefault("precision", "fp32")  # runs older than the setting: fp32
    except (KeyError, TypeError, RuntimeError, ValueError, pickle.UnpicklingError) as err:
        # e.g. a checkpoint of an older model version (renamed or missing weights, unknown settings)
        detail = " ".join(str(err).split())  # load_state_dict lists the keys over several lines
        detail = detail if len(detail) <= 300 else detail[:297] + "..."
        raise ValueError(
            f"{path} cannot be loaded by this version of multiemo ({type(err).__name__}: {detail}); "
            "retrain the run, or use the multiemo version that wrote it"
        ) from None
    model.to(device).eval()
    return model, {**identity, "best_epoch": ckpt["epoch"], "num_parties": int(ckpt["num_parties"])}


def read_history(path: Path) -> list[dict]:
    """The records of ``history.jsonl``, one per finished epoch ([] if there is none)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def truncate_history(path: Path, epoch: int) -> None:
    """Drop history lines past the checkpointed epoch (written before an interruption)."""
    kept = [r for r in read_history(path) if r["epoch"] <= epoch]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")


def append_history(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def claim_run_dir(out: Path, identity: dict, restart_if_changed: bool) -> None:
    """Record what this run is; refuse to resume (or clear) a directory that holds a different run."""
    path = out / "settings.json"
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        previous.get("train", {}).setdefault("precision", "fp32")  # runs from before the setting: fp32
        if previous == identity:
            return
        if not restart_if_changed:
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
        log.info("%s holds a run with other settings: starting afresh", out)
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
    write_json(path, identity)


def jsonable(obj):
    """``obj`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(obj))

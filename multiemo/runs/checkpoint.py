"""Checkpoint I/O of a run directory: writing and reading ``.pt`` files safely, and the selected model.

Loading a run's model (:func:`load_run_model`) needs only the runs floor, not the training loop.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from multiemo.data.store import FeatureStore, StoreError
from multiemo.io import write_stream
from multiemo.models import ModelConfig, MultiEMO
from multiemo.runs.directory import BEST, CheckpointError
from multiemo.runs.provenance import written_by
from multiemo.settings import ConfigError, from_mapping

__all__ = ["CheckpointError", "build_model", "incompatible", "load_checkpoint", "load_run_model", "one_line",
           "open_run", "resolve_device", "save_checkpoint"]


def resolve_device(name: str) -> torch.device:
    """The torch device for a ``train.device`` value; "auto" is CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name!r} but CUDA is not available here; use device=auto or cpu")
    return device


def save_checkpoint(path: Path, obj: dict) -> None:
    """Write a checkpoint atomically; a failed write (a full disk) is an OSError naming ``path``."""
    write_stream(path, lambda handle: torch.save(obj, handle))


def load_checkpoint(path: Path, device: torch.device | str) -> dict:
    """A checkpoint's content, unpickled with ``weights_only=True``: tensors, numbers, strings and
    containers only, so a crafted file cannot run code when it is opened.

    Raises:
        CheckpointError: the file holds anything else, or is not a checkpoint at all (one line, naming it).
    """
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as err:
        reason = " ".join(str(err).split("\n")[0].split())[:200]
        raise CheckpointError(
            f"{path} was refused: it holds objects other than tensors, numbers, strings and containers "
            f"({reason}); multiemo checkpoints never do, so it was not written by multiemo or was altered. "
            "Opening it could run code: do not use it unless you trust its source"
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        detail = " ".join(str(err).split())[:200]
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(err).__name__}: {detail}); "
                              "it may be truncated or corrupt: retrain the run") from None


def load_run_model(run_dir: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[MultiEMO, dict]:
    """The best checkpoint's model (eval mode) and the run's settings, with the checkpoint's ``best_epoch``
    and ``num_parties``; run the model under ``autocast(settings["train"]["precision"], device)``."""
    path = Path(run_dir) / BEST
    if not Path(run_dir).is_dir():
        raise FileNotFoundError(f"{run_dir} does not exist (or is not a folder): give a run directory that "
                                "multiemo train wrote")
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: {run_dir} holds no finished epoch; train it first")
    ckpt = load_checkpoint(path, device)  # CheckpointError for anything but plain data
    try:
        identity = ckpt["settings"]
        model = build_model(identity["model"], ckpt["input_dims"], len(identity["labels"]),
                            ckpt["num_parties"], ckpt["model"])
        identity["train"].setdefault("precision", "fp32")  # runs older than the setting: fp32
    except (KeyError, TypeError, RuntimeError, ValueError) as err:
        # e.g. a checkpoint of an older model version (renamed or missing weights, unknown settings)
        raise CheckpointError(incompatible(path, err, written_by(Path(run_dir)))) from None
    model.to(device).eval()
    return model, {**identity, "best_epoch": ckpt["epoch"], "num_parties": int(ckpt["num_parties"])}


def build_model(architecture: dict, input_dims: dict, num_classes: int, num_parties: int,
                state: dict) -> MultiEMO:
    """A MultiEMO with ``architecture`` (ModelConfig fields) and the weights and input statistics
    ``state``."""
    model = MultiEMO(
        config=from_mapping(ModelConfig, architecture, section="model"),
        input_dims=input_dims,
        num_classes=num_classes,
        num_parties=num_parties,
    )
    model.load_state_dict(state)
    return model


def incompatible(path: Path, err: Exception, writer: str) -> str:
    """The one-line message for a model file this version of multiemo cannot load."""
    return (f"{path} cannot be loaded by this version of multiemo ({type(err).__name__}: {one_line(err)}); "
            f"retrain the run, or use {writer}")


def one_line(err: Exception, limit: int = 300) -> str:
    """An error's text on one line (load_state_dict lists the keys over several), cut at ``limit``."""
    detail = " ".join(str(err).split())
    return detail if len(detail) <= limit else detail[: limit - 3] + "..."


def open_run(run_dir: str | os.PathLike, store: FeatureStore | None = None,
             device: torch.device | str | None = None) -> tuple[MultiEMO, dict, FeatureStore, torch.device]:
    """A run's best checkpoint on ``device`` (default: CUDA when available), its settings, and the store to
    score it on (default: the one its settings name), whose labels must be the run's.

    Raises:
        StoreError: the store's labels are not those the run was trained on.
    """
    device = torch.device(device) if device is not None else resolve_device("auto")
    model, identity = load_run_model(run_dir, device)
    store = store or FeatureStore(identity["store"])
    if store.labels != identity["labels"]:
        raise StoreError(f"{store.root} has labels {store.labels}, "
                         f"the run was trained on {identity['labels']}")
    return model, identity, store, device

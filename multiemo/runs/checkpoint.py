"""A run directory's files and identity: checkpoints, history, settings; loading the best model.

A run directory holds::

    settings.json      resolved model/train settings, store path, modalities (what the run is)
    provenance.json    software that trained it (multiemo, git commit, libraries, text model revisions) and
                       what prediction needs from the store (each modality's dim and extractor provenance),
                       so a copied run predicts without its store
    history.jsonl      one line per finished epoch (losses, validation and test scores, learning rate)
    last.pt            everything needed to resume after an interruption
    best.pt            weights of the epoch selected on validation (train.selection) (+ settings, epoch;
                       no optimiser state)
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

from multiemo.data.store import FeatureStore
from multiemo.errors import InputError
from multiemo.features.text_models import resolve_model_path
from multiemo.io import LOCK_NAME, OutputKind, atomic_path, read_json, write_json, write_stream
from multiemo.models import ModelConfig, MultiEMO
from multiemo.provenance import environment, hub_revision, with_extractor_libraries
from multiemo.training.config import ConfigError, from_mapping

log = logging.getLogger(__name__)

# Train settings that change where and how fast a run computes, not what it computes (or, for calibration,
# only a step after training on the selected checkpoint): a run resumes across changes of these, and they are
# not part of its identity.
RUNTIME_ONLY = ("device", "num_threads", "checkpoint_fusion", "tracking", "calibration", "lock")
# Train settings added after runs were recorded, with the value those runs trained with: such a run resumes.
ADDED_SETTINGS = {"precision": "fp32", "selection": "weighted_f1", "patience": None}

RUN_FILES = ("last.pt", "best.pt", "history.jsonl", "metrics.json", "settings.json", "provenance.json",
             "calibration.json")
PROVENANCE = "provenance.json"
#: Everything training, evaluation and the trackers write into a run directory (the trackers' tensorboard/,
#: mlflow.db, tracking.json; a write's temporary file): training resumes or restarts only such a folder.
RUN_FOLDER = OutputKind("run directory", None, (*RUN_FILES, "predictions_*.csv", "tensorboard", "mlflow.db",
                                                "tracking.json", LOCK_NAME, ".*.tmp"))
#: ``multiemo train --seeds``: one run directory per seed and their summary.
SEEDS_FOLDER = OutputKind("folder of seed runs", None, ("seed_*", "summary.json", ".*.tmp"))


class CheckpointError(InputError):
    """A checkpoint file cannot (or must not) be loaded."""


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


def written_by(run_dir: Path) -> str:
    """Which multiemo wrote a run, as recorded in its provenance.json (for error messages)."""
    try:
        recorded = json.loads((run_dir / PROVENANCE).read_text(encoding="utf-8"))["software"]
    except (OSError, ValueError, KeyError, TypeError):
        return "the multiemo version that wrote it (not recorded: the run predates provenance.json)"
    commit = recorded.get("git_commit")
    return f"multiemo {recorded.get('multiemo')}" + (f" (git commit {commit})" if commit else "")


def run_provenance(store: FeatureStore, modalities: tuple[str, ...]) -> dict:
    """What :data:`PROVENANCE` records: the software at training time, the revision of each text model the
    features were made with (:func:`~multiemo.provenance.hub_revision`), and the store's name, fingerprint
    and per-modality dim and extractor provenance (what prediction needs to make features the same way)."""
    recorded = {m: store.modalities[m] for m in modalities}
    text_models = {}
    for info in recorded.values():
        name = info.provenance.get("model")
        if isinstance(name, str) and info.provenance.get("extractor") == "text":
            try:
                text_models[name] = hub_revision(resolve_model_path(name))
            except ValueError:  # a packaged model whose package is not installed here
                text_models[name] = None
    return {
        "software": with_extractor_libraries(environment(), [info.provenance for info in recorded.values()]),
        "text_models": text_models,
        "store": {
            "path": str(store.root.resolve()),
            "name": store.name,
            "fingerprint": store.fingerprint,
            "splits": {split: {"dialogues": int(rows["dialogue_id"].nunique()), "utterances": len(rows)}
                       for split, rows in store.table.groupby("split", sort=False)},
            "modalities": {m: {"dim": info.dim, "provenance": info.provenance} for m, info in recorded.items()},
        },
    }


def record_provenance(out: Path, store: FeatureStore, modalities: tuple[str, ...]) -> None:
    """Write ``out/provenance.json`` when a run starts (a resumed run keeps the one it started with)."""
    if not (out / PROVENANCE).exists():
        write_json(out / PROVENANCE, run_provenance(store, modalities))


def read_provenance(run_dir: Path) -> dict | None:
    """A run's provenance.json, or None for runs older than it."""
    return read_run_json(run_dir / PROVENANCE)


def read_run_json(path: Path) -> dict | None:
    """One JSON file of a run directory, or None when the run has none; malformed is a CheckpointError."""
    if not path.is_file():
        return None
    return read_json(path, error=CheckpointError, hint="restore it from the run's origin")


def load_run_model(run_dir: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[MultiEMO, dict]:
    """The best checkpoint's model (eval mode) and the run's settings, with the checkpoint's ``best_epoch``
    and ``num_parties``; run the model under ``autocast(settings["train"]["precision"], device)``."""
    path = Path(run_dir) / "best.pt"
    if not Path(run_dir).is_dir():
        raise FileNotFoundError(f"{run_dir} does not exist (or is not a folder): give a run directory that "
                                "multiemo train wrote")
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: {run_dir} holds no finished epoch; train it first")
    ckpt = load_checkpoint(path, device)  # CheckpointError for anything but plain data
    try:
        identity = ckpt["settings"]
        model = build_model(identity["model"], ckpt["input_dims"], len(identity["labels"]), ckpt["num_parties"],
                            ckpt["model"])
        identity["train"].setdefault("precision", "fp32")  # runs older than the setting: fp32
    except (KeyError, TypeError, RuntimeError, ValueError) as err:
        # e.g. a checkpoint of an older model version (renamed or missing weights, unknown settings)
        raise CheckpointError(incompatible(path, err, written_by(Path(run_dir)))) from None
    model.to(device).eval()
    return model, {**identity, "best_epoch": ckpt["epoch"], "num_parties": int(ckpt["num_parties"])}


def build_model(architecture: dict, input_dims: dict, num_classes: int, num_parties: int,
                state: dict) -> MultiEMO:
    """A MultiEMO with ``architecture`` (ModelConfig fields) and the weights and input statistics ``state``."""
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
    """Add one epoch's line; the file is rewritten atomically, so a failed write leaves no half line."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    with atomic_path(path) as tmp:
        tmp.write_text(text + json.dumps(record) + "\n", encoding="utf-8")


def claim_run_dir(out: Path, identity: dict, restart_if_changed: bool) -> None:
    """Record what this run is; refuse to resume (or clear) a directory that holds a different run."""
    path = out / "settings.json"
    previous = read_run_json(path)
    if previous is not None:
        if not isinstance(previous, dict):
            raise CheckpointError(f"{path} does not hold a run's settings; choose another --out or delete it")
        for key, value in ADDED_SETTINGS.items():  # runs from before the setting trained with this value
            previous.get("train", {}).setdefault(key, value)
        if previous == identity:
            return
        # settings of a run that never finished an epoch (e.g. refused as it started) guard nothing
        finished = any((out / name).exists() for name in ("last.pt", "best.pt"))
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
                 "a run with other settings" if finished else "the settings of a run without a finished epoch")
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
    write_json(path, identity)


def jsonable(obj):
    """``obj`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(obj))

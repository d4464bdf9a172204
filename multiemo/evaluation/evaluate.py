"""A run's best checkpoint scored on splits of its store, with its predictions written beside it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from multiemo.data.dialogues import DialogueSet
from multiemo.data.store import FeatureStore, StoreError
from multiemo.io import atomic_path
from multiemo.metrics import calibration_scores
from multiemo.runs.calibration import calibration_record, load_calibration, softmax, write_calibration
from multiemo.runs.checkpoint import open_run
from multiemo.runs.directory import predictions_file
from multiemo.runs.forward import PassResult, forward_pass


def evaluate_run(
    run_dir: str | os.PathLike,
    *,
    splits: Sequence[str] = ("test",),
    store: FeatureStore | None = None,
    device: torch.device | str | None = None,
    calibrate: bool = False,
) -> dict:
    """Scores of the run's best checkpoint on ``splits``; writes ``predictions_{split}.csv`` beside it.

    Each split also gets ``"calibration"``: ECE, Brier score and NLL
    (:func:`~multiemo.metrics.calibration_scores`) of the model's probabilities (``"before"``) and, when
    the run holds ``calibration.json``, of the temperature-scaled ones (``"after"``); the run's calibration
    itself is under ``results["calibration"]``.

    Args:
        calibrate: first fit the temperature on this pass's validation logits and write ``calibration.json``
            (``splits`` must include ``"validation"``): the end of training scores and calibrates in one pass.

    Raises:
        StoreError: ``calibrate`` and the validation split has no labelled utterance.
    """
    run_dir = Path(run_dir)
    store, passes = _passes(run_dir, splits, store, device)
    calibration = _fit_calibration(run_dir, passes["validation"]) if calibrate else load_calibration(run_dir)
    results: dict = {"labels": store.labels, "store": str(store.root)}
    for split, res in passes.items():
        results[split] = res.scores(store.labels)
        keep = res.y_true >= 0
        before = calibration_scores(res.probs[keep], res.y_true[keep])
        results[split]["calibration"] = {"before": before}
        if calibration is not None:
            after = calibration_scores(softmax(res.logits[keep], calibration["temperature"]),
                                       res.y_true[keep])
            results[split]["calibration"]["after"] = after
        write_predictions(run_dir / predictions_file(split), store, res)
    results["calibration"] = calibration or {"method": "none"}
    return results


def _fit_calibration(run_dir: Path, validation: PassResult) -> dict:
    """Fit the temperature on the best checkpoint's validation logits; write and return
    ``calibration.json``."""
    keep = validation.y_true >= 0
    if not keep.any():
        raise StoreError(f"{run_dir}: the validation split has no labelled utterance to fit the temperature "
                         "on; set train.calibration=none")
    record = calibration_record(validation.logits[keep], validation.y_true[keep])
    write_calibration(run_dir, record)
    return record


def _passes(run_dir: Path, splits: Sequence[str], store: FeatureStore | None,
            device: torch.device | str | None) -> tuple[FeatureStore, dict[str, PassResult]]:
    """The run's store and one evaluation pass of its best checkpoint over each split."""
    model, identity, store, device = open_run(run_dir, store, device)
    batch_size = identity["train"]["batch_size"]
    passes = {}
    for split in splits:
        data = DialogueSet(store, split, identity["model"]["modalities"])
        passes[split] = forward_pass(model, data, batch_size, device,
                                     precision=identity["train"]["precision"])
    return store, passes


def write_predictions(path: Path, store: FeatureStore, res: PassResult) -> None:
    """One row per real utterance: its keys, true label, predicted label and each class's probability."""
    table = store.table.iloc[res.rows]
    frame = pd.DataFrame({
        "dialogue_id": table["dialogue_id"].to_numpy(),
        "utterance_id": table["utterance_id"].to_numpy(),
        "label": table["label"].to_numpy(),
        "prediction": [store.labels[i] for i in res.probs.argmax(1)],
    })
    for i, label in enumerate(store.labels):
        frame[f"p_{label}"] = res.probs[:, i].round(6)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)

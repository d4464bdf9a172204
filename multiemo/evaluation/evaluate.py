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
from multiemo.training.checkpoint import load_run_model, resolve_device
from multiemo.training.passes import PassResult, run_pass


def evaluate_run(
    run_dir: str | os.PathLike,
    *,
    splits: Sequence[str] = ("test",),
    store: FeatureStore | None = None,
    device: torch.device | str | None = None,
) -> dict:
    """Scores of the run's best checkpoint on ``splits``; writes ``predictions_{split}.csv`` beside it."""
    run_dir = Path(run_dir)
    device = torch.device(device) if device is not None else resolve_device("auto")
    model, identity = load_run_model(run_dir, device)
    store = store or FeatureStore(identity["store"])
    if store.labels != identity["labels"]:
        raise StoreError(f"{store.root} has labels {store.labels}, the run was trained on {identity['labels']}")
    batch_size = identity["train"]["batch_size"]
    results: dict = {"labels": store.labels, "store": str(store.root)}
    for split in splits:
        data = DialogueSet(store, split, identity["model"]["modalities"])
        res = run_pass(model, data, batch_size, None, device, precision=identity["train"]["precision"])
        results[split] = res.scores(store.labels)
        write_predictions(run_dir / f"predictions_{split}.csv", store, res)
    return results


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

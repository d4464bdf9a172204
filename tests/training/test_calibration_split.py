"""The temperature is fitted on the validation logits, never the test ones: a run whose validation and test
splits call for very different temperatures records the validation one.

The store is crafted so the two disagree: features carry the label in every split, but the test split's
labels are rotated (each utterance labelled as the next class), so the trained model is confidently right
on validation (the best temperature is below 1) and confidently wrong on test (the best one is large)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from multiemo.data.dialogues import DialogueSet
from multiemo.data.store import FeatureStore, write_store
from multiemo.runs.calibration import fit_temperature
from multiemo.runs.checkpoint import load_run_model
from multiemo.runs.forward import forward_pass
from multiemo.training import train_run
from tests.conftest import make_table

LABELS = ["neutral", "joy", "anger"]
pytestmark = pytest.mark.slow  # real training


def disagreeing_store(path):
    lengths = {"train": [6, 5, 7, 6, 5, 6, 7, 5, 6, 6], "validation": [6, 5, 6, 7], "test": [6, 5, 6, 7]}
    table = make_table(lengths, LABELS, seed=4)
    y = table["label"].map(LABELS.index).to_numpy()
    rng = np.random.default_rng(5)
    features = {}
    for modality, dim in {"text": 10, "audio": 6}.items():
        centres = rng.normal(size=(len(LABELS), dim)) * 3.0
        features[modality] = (centres[y] + rng.normal(size=(len(y), dim)) * 0.5).astype(np.float32)
    test = (table["split"] == "test").to_numpy()
    table.loc[test, "label"] = [LABELS[(i + 1) % len(LABELS)] for i in y[test]]
    return write_store(path, name="disagree", table=table, labels=LABELS, features=features,
                       provenance={m: {"extractor": "synthetic"} for m in features})


def test_the_temperature_is_fitted_on_validation_logits_not_test_logits(tmp_path):
    store = disagreeing_store(tmp_path / "store")
    run = tmp_path / "run"
    settings = {"model": {"model_dim": 16, "num_heads": 2, "hidden_dim": 32, "classifier_hidden": 16,
                          "num_layers": 1, "modalities": ["text", "audio"]},
                "train": {"epochs": 3, "batch_size": 4, "lr": 3e-3, "device": "cpu",
                          "calibration": "temperature"}}
    train_run(store.root, settings, run, progress=False)
    recorded = json.loads((run / "calibration.json").read_text())

    model, identity = load_run_model(run, "cpu")
    fitted = {}
    for split in ("validation", "test"):
        data = DialogueSet(FeatureStore(store.root), split, identity["model"]["modalities"])
        res = forward_pass(model, data, 4, torch.device("cpu"))
        keep = res.y_true >= 0
        fitted[split] = fit_temperature(res.logits[keep], res.y_true[keep])
    assert fitted["test"] > 4 * fitted["validation"], fitted  # the splits call for different temperatures
    assert recorded["temperature"] == pytest.approx(fitted["validation"], rel=1e-6)
    assert recorded["n"] == int((store.table["split"] == "validation").sum())

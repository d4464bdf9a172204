"""Model selection as a setting: validation weighted-F1 or validation loss, early stopping with patience,
and the oracle figures (weighted-F1 and accuracy) beside the selected epoch."""

import json

import pytest
import torch

from multiemo.runs.history import read_history
from multiemo.training import train_run
from multiemo.training.config import ConfigError, TrainConfig
from tests.conftest import make_learnable_store
from tests.training.test_trainer import SMALL


def _settings(**train):
    return {"model": SMALL["model"], "train": {**SMALL["train"], **train}}


def _best_pt_epoch(run):
    return torch.load(run / "best.pt", map_location="cpu", weights_only=False)["epoch"]


def test_loss_selection_keeps_the_first_lowest_validation_loss(tmp_path):
    store = make_learnable_store(tmp_path / "store")
    # a high learning rate makes validation loss go down and up again over the epochs
    metrics = train_run(store.root, _settings(epochs=5, lr=0.05, selection="loss"), tmp_path / "run",
                        progress=False)
    history = read_history(tmp_path / "run" / "history.jsonl")
    lowest = min(history, key=lambda r: r["validation_loss"])  # min() returns the first of equals
    assert metrics["best_epoch"] == lowest["epoch"] == _best_pt_epoch(tmp_path / "run")
    assert metrics["selection"] == "loss" and metrics["patience"] is None and not metrics["stopped_early"]
    assert json.loads((tmp_path / "run" / "settings.json").read_text())["train"]["selection"] == "loss"
    # the selected checkpoint is the one evaluated: its validation score is that epoch's
    assert metrics["validation"]["weighted_f1"] == pytest.approx(lowest["validation_weighted_f1"])
    assert [r["best_epoch"] for r in history][-1] == lowest["epoch"]
    # the oracle figures: best test scores over all epochs, each on its own epoch
    oracle = max(history, key=lambda r: r["test_accuracy"])
    assert metrics["oracle_test_accuracy"] == oracle["test_accuracy"]
    assert metrics["oracle_accuracy_epoch"] == oracle["epoch"]
    assert metrics["oracle_test_weighted_f1"] == max(r["test_weighted_f1"] for r in history)


def test_patience_stops_early_and_the_history_shows_it(tmp_path):
    store = make_learnable_store(tmp_path / "store")
    # a negligible learning rate: nothing improves after epoch 1 (weighted-F1 ties do not count as better)
    settings = _settings(epochs=8, lr=1e-12, patience=2)
    metrics = train_run(store.root, settings, tmp_path / "run", progress=False)
    history = read_history(tmp_path / "run" / "history.jsonl")
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert [r["stopped_early"] for r in history] == [False, False, True]
    assert metrics["stopped_early"] and metrics["epochs_run"] == 3 and metrics["epochs"] == 8
    assert metrics["best_epoch"] == 1 == _best_pt_epoch(tmp_path / "run")
    # starting the same command again does not train on past the stop
    again = train_run(store.root, settings, tmp_path / "run", progress=False)
    assert len(read_history(tmp_path / "run" / "history.jsonl")) == 3 and again["best_epoch"] == 1


@pytest.mark.slow
def test_weighted_f1_selection_with_patience_keeps_training_while_it_improves(tmp_path):
    store = make_learnable_store(tmp_path / "store")
    metrics = train_run(store.root, _settings(epochs=4, patience=3), tmp_path / "run", progress=False)
    history = read_history(tmp_path / "run" / "history.jsonl")
    best = max(history, key=lambda r: r["validation_weighted_f1"])
    assert metrics["best_epoch"] == best["epoch"] == _best_pt_epoch(tmp_path / "run")
    stale = [r["epoch"] - r["best_epoch"] for r in history]
    assert all(s < 3 for s in stale[:-1]) and metrics["stopped_early"] == (stale[-1] >= 3)


@pytest.mark.parametrize(("values", "message"), [
    ({"selection": "accuracy"}, r"train.selection must be one of \['weighted_f1', 'loss'\]"),
    ({"patience": 0}, "train.patience must be at least 1"),
])
def test_bad_selection_settings_name_the_key(values, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**values)

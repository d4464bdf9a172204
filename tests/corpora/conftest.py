"""Fixtures for the corpus readers: the real MELD annotations beside the repository, tiny media files."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
MELD_DIR = REPO.parent / "shared" / "data" / "meld"
MELD_CSVS = ("train_sent_emo.csv", "dev_sent_emo.csv", "test_sent_emo.csv")


@pytest.fixture
def meld_dir() -> Path:
    """``../shared/data/meld`` (the real MELD annotation CSVs); tests skip when it is absent."""
    if not all((MELD_DIR / name).is_file() for name in MELD_CSVS):
        pytest.skip(
            f"real MELD annotations not found in {MELD_DIR} (the shared/ folder sits beside the repo in CI)"
        )
    return MELD_DIR


def write_mp4(path: Path, *, frames: int = 3, size: int = 32) -> Path:
    """A tiny real H.264 mp4 (a few grey frames), enough for an existence and decode check."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
        for i in range(frames):
            image = np.full((size, size, 3), 40 * i, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path

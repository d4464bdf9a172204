"""Real media for extractor tests, made in code with PyAV: real speech from the telephone call, the
astronaut's face.

Clips are written once per session into a temporary folder. Speech is 3 s of one speaker of the real call in
``../shared/data/conversation`` (``sample.wav``, 11.1-14.1 s: speaker90 alone); where that folder is absent,
tests that need real speech skip and the others fall back to a synthetic voiced tone. (The clips once
read from ``../shared/data/ravdess`` are synthetic tones, not speech: see that folder's README.)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from skimage import data as skdata

from multiemo.features.media import decode_audio
from tests.clips import write_clip
from tests.conftest import SHARED_DATA

CALL = SHARED_DATA / "conversation" / "sample.wav"
SPEECH_SPAN = (11.1, 14.1)  # seconds of the call where one speaker talks alone
SR = 16000
FPS = 24
SIZE = (240, 320)  # H, W


def real_speech() -> np.ndarray | None:
    """(3 s * SR,) float32: one speaker of the real call, or None where the call is absent."""
    if not CALL.is_file():
        return None
    audio = decode_audio(CALL, sample_rate=SR)
    return audio[round(SPEECH_SPAN[0] * SR) : round(SPEECH_SPAN[1] * SR)].astype(np.float32)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path:
    """A 3 s wav of real speech (one speaker of the real call); skips when ../shared/data is absent."""
    speech = real_speech()
    if speech is None:
        pytest.skip(f"real speech not found at {CALL} (shared/data sits beside the repo)")
    return write_clip(tmp_path_factory.mktemp("speech") / "speech.wav", audio=speech, sample_rate=SR)


def _speech() -> np.ndarray:
    """(3 s * SR,) float32: real speech, or a voiced synthetic tone where it is absent."""
    speech = real_speech()
    if speech is None:
        t = np.arange(3 * SR) / SR
        pitch = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
        phase = 2 * np.pi * np.cumsum(pitch) / SR
        speech = sum(0.2 / k * np.sin(k * phase) for k in range(1, 6)) * (
            0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)
        )
    return np.resize(speech.astype(np.float32), 3 * SR)


def astronaut_frame(side: str = "") -> np.ndarray:
    """(240, 320, 3) uint8: the astronaut's (real) face filling the frame, or only its right/left half."""
    frame = np.full((*SIZE, 3), 235, dtype=np.uint8)
    face = skdata.astronaut()[:300, 60:360]  # head and shoulders
    if side:
        small = cv2.resize(face, (150, 150), interpolation=cv2.INTER_AREA)
        x = 165 if side == "right" else 5
        frame[45:195, x : x + 150] = small
    else:
        frame[:, 40:280] = cv2.resize(face, (240, 240), interpolation=cv2.INTER_AREA)
    return frame


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Named media files: real speech/face mp4s, stream-less, empty, damaged and missing files."""
    root = tmp_path_factory.mktemp("clips")
    speech = _speech()
    n = 3 * FPS
    # Whole-frame grey level encodes the frame index, so tests can tell which frames were sampled.
    ramp = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None, None] * 3, 3, axis=3)
    ramp = np.broadcast_to(ramp, (n, *SIZE, 3))
    paths = {
        "face": write_clip(root / "face.mp4", frames=[astronaut_frame()] * n, fps=FPS, audio=speech),
        "blank": write_clip(
            root / "blank.mp4", frames=np.full((n, *SIZE, 3), 90, np.uint8), fps=FPS, audio=speech
        ),
        "right_face": write_clip(root / "right_face.mp4", frames=[astronaut_frame("right")] * n, fps=FPS),
        "ramp": write_clip(root / "ramp.mp4", frames=ramp, fps=FPS),
        "audio_only": write_clip(root / "audio_only.mp4", audio=speech),
        "speech_wav": write_clip(root / "speech.wav", audio=speech),
        "silent": write_clip(
            root / "silent.mp4", frames=[astronaut_frame()] * FPS, fps=FPS, audio=np.zeros(SR)
        ),
        "empty": root / "empty.mp4",
        "corrupt": root / "corrupt.mp4",
        "truncated": root / "truncated.mp4",
        "missing": root / "does_not_exist.mp4",
    }
    paths["empty"].write_bytes(b"")
    paths["corrupt"].write_bytes(np.random.default_rng(0).bytes(4096))
    face_bytes = paths["face"].read_bytes()
    paths["truncated"].write_bytes(face_bytes[: len(face_bytes) // 2])
    return paths


def utterance_table(media: dict[str, Path | str], **columns: list) -> pd.DataFrame:
    """An utterance table with one row per ``media`` entry (utterance_id = its name), whole files."""
    n = len(media)
    table = pd.DataFrame(
        {
            "dialogue_id": ["dia0"] * n,
            "utterance_id": list(media),
            "media": [str(p) for p in media.values()],
            "start": [np.nan] * n,
            "end": [np.nan] * n,
            "face_side": [""] * n,
        }
    )
    for name, values in columns.items():
        table[name] = values
    return table


@pytest.fixture(scope="session")
def media_table():
    return utterance_table

"""A generated conversation to cut, transcribe and predict: talk.mp4 (real speech, a real face) and
talk.srt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.clips import write_clip
from tests.features.conftest import _speech, astronaut_frame

SR = 16000
FPS = 12
#: (start, end, speaker, text) of the generated conversation; speech fills each span, silence between.
TALK = [(0.5, 2.0, "Ross", "I feel joy about this, really."),
        (2.6, 4.1, "Rachel", "I feel anger about this."),
        (4.7, 6.2, "Ross", "I feel neutral about this.")]
TALK_SECONDS = 7.0


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

"""Resemblyzer's speaker encoder, loaded from the weights inside its wheel without importing its package.

``import resemblyzer`` imports ``webrtcvad``, whose 2.0.10 release needs ``pkg_resources`` (gone from
setuptools >= 81): the package cannot be imported in a current environment. Its network is small and
documented (3-layer LSTM over 40-channel mel frames, linear + ReLU to 256-d, L2-normalised; partials of
160 frames of 10 ms at 16 kHz), so it is built here and its released state dict
(``resemblyzer/pretrained.pt``) is loaded with ``weights_only=True``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import librosa
import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 16000
MEL_CHANNELS = 40
PARTIAL_FRAMES = 160  # 1.6 s of 10 ms frames
EMBEDDING_DIM = 256
TARGET_DBFS = -30.0  # the level Resemblyzer normalises speech to before its mel spectrogram


def weights_path() -> Path:
    """Path of ``pretrained.pt`` inside the installed Resemblyzer wheel (found without importing it).

    Raises:
        ImportError: Resemblyzer is not installed, or its wheel lacks the weights.
    """
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("No module named 'resemblyzer'")
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.is_file():
        raise ImportError(f"the Resemblyzer package has no {path.name} at {path}")
    return path


class VoiceEncoder(nn.Module):
    """(B, 160, 40) mel frames -> (B, 256) unit-norm speaker embeddings."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(MEL_CHANNELS, EMBEDDING_DIM, 3, batch_first=True)
        self.linear = nn.Linear(EMBEDDING_DIM, EMBEDDING_DIM)

    @classmethod
    def pretrained(cls, path: str | Path | None = None) -> VoiceEncoder:
        """The encoder with Resemblyzer's released weights (``path`` None: from its wheel)."""
        encoder = cls()
        state = torch.load(path or weights_path(), map_location="cpu", weights_only=True)["model_state"]
        encoder.load_state_dict({k: v for k, v in state.items() if k.split(".")[0] in ("lstm", "linear")})
        return encoder.eval()

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)  # hidden: (layers, B, 256)
        embedded = torch.relu(self.linear(hidden[-1]))  # (B, 256)
        return embedded / embedded.norm(dim=1, keepdim=True).clamp_min(1e-12)


def mel_frames(samples: np.ndarray) -> np.ndarray:
    """(S,) 16 kHz samples -> (T, 40) float32 mel power frames (25 ms window, 10 ms step), after the
    samples are brought to -30 dBFS as Resemblyzer's preprocessing does."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms > 0:
        samples = samples * (10 ** (TARGET_DBFS / 20) / rms)
    mel = librosa.feature.melspectrogram(y=samples.astype(np.float32), sr=SAMPLE_RATE,
                                         n_fft=SAMPLE_RATE * 25 // 1000, hop_length=SAMPLE_RATE * 10 // 1000,
                                         n_mels=MEL_CHANNELS)
    return mel.astype(np.float32).T

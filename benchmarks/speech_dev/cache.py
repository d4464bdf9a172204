"""The development recordings and what is expensive to compute on them, computed once and kept on disk.

A development recording is a (wav, rttm) pair: the AMI excerpts of ``meetings/`` (``ami_dev_trn02`` left out:
0.7 s of speech, nothing to diarize) and the telephone call of ``conversation/``. Per recording the cache
holds silero-vad's speech probability of every frame and the speaker embedding of every window on the
recording's grid (:func:`multiemo.conversations.diarization.grid_windows`): every voice-activity and
clustering setting then reuses them, so a grid of settings costs clustering only. The cache is keyed by the
audio's size and time, the grid step and the code's version of both steps.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.speech_metrics import read_rttm
from multiemo.conversations.diarization import embed_windows, grid_windows, load_resemblyzer
from multiemo.conversations.segmentation import probe_media
from multiemo.conversations.vad import silero_probabilities

LEFT_OUT = ("ami_dev_trn02",)  # 0.7 s of speech
VERSION = 1  # bump when the probabilities or the embeddings are computed differently


@dataclass
class Cached:
    """One development recording: reference turns, silero probabilities and grid embeddings."""

    name: str
    wav: Path
    duration: float
    reference: tuple[np.ndarray, list[str]]
    probs: np.ndarray  # (F,) speech probability per silero frame
    frame: float  # seconds per silero frame
    step: float  # seconds between grid windows
    embeddings: np.ndarray  # (G, 256) unit-norm embedding of each grid window


def development_set(data: Path) -> list[tuple[str, Path, Path]]:
    """(name, wav, rttm) of every development recording under ``data`` (``meetings/`` and
    ``conversation/``)."""
    pairs = []
    for folder in ("meetings", "conversation"):
        for wav in sorted((data / folder).glob("*.wav")):
            rttm = wav.with_suffix(".rttm")
            if rttm.is_file() and wav.stem not in LEFT_OUT:
                pairs.append((f"{folder}/{wav.stem}", wav, rttm))
    if not pairs:
        raise FileNotFoundError(f"no (wav, rttm) pairs under {data}/meetings or {data}/conversation")
    return pairs


#: A real one-speaker recording cut from the development set: trn03 after its first speaker's last word.
ONE_SPEAKER_SOURCE, ONE_SPEAKER_FROM = "ami_dev_trn03", 1.3


def one_speaker_cut(data: Path, cache: Path) -> tuple[str, Path, Path]:
    """(name, wav, rttm) of ``ami_dev_trn03`` from 1.3 s on (MÉO069 alone, 28.7 s), written into ``cache``."""
    import soundfile

    source = data / "meetings" / f"{ONE_SPEAKER_SOURCE}.wav"
    audio, rate = soundfile.read(source, dtype="int16")
    turns, speakers = read_rttm(source.with_suffix(".rttm"))
    cut = audio[round(ONE_SPEAKER_FROM * rate):]
    keep = turns[:, 1] > ONE_SPEAKER_FROM
    if len(set(np.asarray(speakers)[keep])) != 1:
        raise ValueError(f"{source}: more than one speaker after {ONE_SPEAKER_FROM} s")
    cache.mkdir(parents=True, exist_ok=True)
    wav, rttm = cache / "one_speaker.wav", cache / "one_speaker.rttm"
    if not wav.is_file():  # written once: the cache of its probabilities is keyed by the file's time
        soundfile.write(wav, cut, rate, subtype="PCM_16")
    rttm.write_text("".join(f"SPEAKER one_speaker 1 {max(a - ONE_SPEAKER_FROM, 0):.3f} "
                            f"{b - max(a, ONE_SPEAKER_FROM):.3f} <NA> <NA> {who} <NA> <NA>\n"
                            for (a, b), who, k in zip(turns, speakers, keep) if k), encoding="utf-8")
    return "one_speaker", wav, rttm


def load(name: str, wav: Path, rttm: Path, cache: Path, step: float) -> Cached:
    """The recording's cached probabilities and embeddings, computed (and stored) when missing."""
    stat = wav.stat()
    key = hashlib.sha1(json.dumps([str(wav.resolve()), stat.st_size, stat.st_mtime_ns, step, VERSION])
                       .encode()).hexdigest()[:16]
    path = cache / f"{wav.stem}.{key}.npz"
    duration = probe_media(wav).duration
    if path.is_file():
        held = np.load(path)
        probs, frame, embeddings = held["probs"], float(held["frame"]), held["embeddings"]
    else:
        probs, frame = silero_probabilities(wav)
        embeddings = embed_windows(wav, grid_windows(step, duration), load_resemblyzer())
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, probs=probs, frame=frame, embeddings=embeddings)
        partial.replace(path)
    return Cached(name, wav, duration, read_rttm(rttm), probs, frame, step, embeddings)

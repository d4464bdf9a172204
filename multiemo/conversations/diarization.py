"""Who speaks when: speaker turns of a recording's speech, from speaker embeddings or pyannote.audio.

Backend ``resemblyzer`` (offline; its encoder's weights ship inside the ``Resemblyzer`` wheel, loaded by
:mod:`multiemo.conversations.voice_encoder`):

1. Windows of 1.6 s (the encoder's partial length) start every ``step`` s from the recording's start (one
   grid for the whole recording); a speech region is embedded by the windows centred inside it, or, when
   none is, by the one centred nearest to it.
2. Each window's audio is cut from the streamed track (never the whole recording in memory) and embedded
   (256-d, unit norm), in batches.
3. When the number of speakers is not given and the two halves of the best 2-way split of the windows
   sound alike (:func:`~multiemo.conversations.speaker_clusters.split_similarity` at least
   ``one_speaker_similarity``), there is one speaker. Otherwise the embeddings, less their mean over the
   recording (what every window shares: the line, the room), are clustered by average-linkage
   agglomeration on cosine distance: into ``num_speakers`` clusters when given, else merging while the
   distance is below ``threshold`` (at most ``max_speakers``).
   Beyond ``max_windows`` windows, an even sample is clustered and every window joins its nearest centroid,
   so memory stays bounded on long recordings.
4. Each window speaks for the time around its centre; within a region, turns shorter than ``min_turn`` s
   take the label of a neighbour. Speakers are named ``SPEAKER_1``, ``SPEAKER_2``, ... by first turn.

Backend ``pyannote``: a pyannote.audio pipeline (``pyannote_pipeline``, a hub name or local folder; a
token from ``HF_TOKEN`` for gated ones) diarizes the file itself.

Either backend raises :class:`DiarizationUnavailable` when its package or weights cannot be loaded; the
caller counts that as a fallback.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass

import numpy as np
import torch

from multiemo.conversations.speaker_clusters import agglomerative_labels, centred, split_similarity
from multiemo.conversations.vad import stream_audio
from multiemo.conversations.voice_encoder import EMBEDDING_DIM, PARTIAL_FRAMES, VoiceEncoder, mel_frames
from multiemo.settings import ConfigError

log = logging.getLogger(__name__)

BACKENDS = ("resemblyzer", "pyannote")
SAMPLE_RATE = 16000  # the rate Resemblyzer's encoder was trained at
PARTIAL_SECONDS = 1.6  # Resemblyzer's partial utterance: 160 mel frames of 10 ms


class DiarizationUnavailable(RuntimeError):
    """The diarization backend's package or model cannot be loaded here."""


@dataclass(frozen=True)
class DiarizationConfig:
    """Speaker diarization of recordings whose utterances name no speaker (see the module docstring).

    Attributes:
        enabled: diarize utterances that have no speaker name.
        backend: ``resemblyzer`` (offline) or ``pyannote``.
        num_speakers: the number of speakers when known; None = estimated.
        max_speakers: most speakers an estimate may give.
        threshold: cosine distance (of mean-removed embeddings) below which clusters merge when the number
            is estimated.
        one_speaker_similarity: one speaker when the two halves of the best 2-way split of the windows are
            this similar (cosine of their mean embeddings).
        step: seconds between embedding windows.
        min_turn: shorter turns within a speech region take a neighbour's speaker, in seconds.
        max_windows: windows clustered directly; beyond, a sample is clustered and the rest assigned.
        batch_size: windows embedded at once.
        pyannote_pipeline: hub name or local folder of the pyannote.audio pipeline.
    """

    enabled: bool = True
    backend: str = "resemblyzer"
    num_speakers: int | None = None
    max_speakers: int = 8
    threshold: float = 1.0
    one_speaker_similarity: float = 0.84
    step: float = 0.4
    min_turn: float = 0.5
    max_windows: int = 500
    batch_size: int = 16
    pyannote_pipeline: str = "pyannote/speaker-diarization-community-1"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"diarization backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.num_speakers is not None and self.num_speakers < 1:
            raise ValueError(f"diarization num_speakers must be >= 1 or null, got {self.num_speakers}")
        if self.max_speakers < 1:
            raise ValueError(f"diarization max_speakers must be >= 1, got {self.max_speakers}")
        if not 0 < self.threshold < 2:
            raise ValueError("diarization threshold (cosine distance) must be in (0, 2), got "
                             f"{self.threshold}")
        if not 0 < self.one_speaker_similarity <= 1:
            raise ValueError("diarization one_speaker_similarity must be in (0, 1], got "
                             f"{self.one_speaker_similarity}")
        if self.step <= 0 or self.min_turn < 0:
            raise ValueError("diarization step must be > 0 s and min_turn >= 0 s")
        if self.max_windows < 2 or self.batch_size < 1:
            raise ValueError("diarization max_windows must be >= 2 and batch_size >= 1")


@dataclass
class Diarization:
    """Speaker turns: (T, 2) start/end seconds, one speaker name per turn, and the backend used."""

    turns: np.ndarray
    speakers: list[str]
    backend: str

    @property
    def num_speakers(self) -> int:
        return len(set(self.speakers))

    def speaker_of(self, start: float, end: float) -> str | None:
        """The speaker with the most time in [start, end]; None when no turn overlaps it."""
        if not len(self.turns):
            return None
        overlap = np.clip(np.minimum(self.turns[:, 1], end) - np.maximum(self.turns[:, 0], start), 0, None)
        time: dict[str, float] = {}
        for speaker, seconds in zip(self.speakers, overlap):
            time[speaker] = time.get(speaker, 0.0) + float(seconds)
        best = max(time, key=time.get)
        return best if time[best] > 0 else None


def diarize(path: str | os.PathLike, regions: np.ndarray, duration: float | None, config: DiarizationConfig,
            *, progress: bool = False) -> Diarization:
    """Speaker turns of ``path`` within the speech ``regions`` ((K, 2) seconds; ignored by pyannote).

    Raises:
        DiarizationUnavailable: the backend cannot be loaded.
        ValueError: unreadable audio.
    """
    if config.backend == "pyannote":
        return _pyannote(path, config)
    encoder = load_resemblyzer()
    windows, _ = embedding_windows(regions, config.step, duration)
    embeddings = embed_windows(path, windows, encoder, batch_size=config.batch_size, progress=progress)
    return diarize_embeddings(regions, windows, embeddings, config)


def diarize_embeddings(regions: np.ndarray, windows: np.ndarray, embeddings: np.ndarray,
                       config: DiarizationConfig) -> Diarization:
    """Speaker turns within ``regions`` from the (W, D) embeddings of their (W, 2) windows (rules 3-4)."""
    if len(windows) == 0:
        return Diarization(np.zeros((0, 2)), [], "resemblyzer")
    labels = cluster(embeddings, config)
    turns, speakers = turns_from_windows(regions, windows, labels, config.min_turn)
    return Diarization(turns, speakers, "resemblyzer")


@functools.lru_cache(maxsize=1)
def load_resemblyzer() -> VoiceEncoder:
    """Resemblyzer's pretrained speaker encoder (weights from its wheel), loaded once per process: a new
    copy per conversation would also grow the CPU kernels' caches, which are keyed by weights.

    Raises:
        DiarizationUnavailable: Resemblyzer is not installed.
    """
    try:
        return VoiceEncoder.pretrained()
    except ImportError as error:
        raise DiarizationUnavailable(
            f"Resemblyzer is not installed ({error}); pip install 'multiemo[speech]'") from None


def grid_windows(step: float, duration: float) -> np.ndarray:
    """(G, 2) start/end of every 1.6 s window on the recording's grid: starts 0, ``step``, 2 ``step``, ...
    (at least one window, even in a recording shorter than a window)."""
    count = max(1, int(np.floor((duration - PARTIAL_SECONDS) / step + 1e-9)) + 1)
    starts = np.arange(count) * step
    return np.stack([starts, starts + PARTIAL_SECONDS], axis=1)


def embedding_windows(regions: np.ndarray, step: float,
                      duration: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The grid windows (:func:`grid_windows`) that embed each speech region (module rule 1).

    Returns:
        ((W, 2) start/end seconds, (W,) their index on the grid), in time order.
    """
    regions = np.asarray(regions, dtype=float).reshape(-1, 2)
    if not len(regions):
        return np.zeros((0, 2)), np.zeros(0, np.int64)
    grid = grid_windows(step, duration if duration is not None else float(regions[:, 1].max()))
    centres = grid.mean(1)  # (G,)
    keep = np.zeros(len(grid), bool)
    for start, end in regions:
        inside = (centres >= start) & (centres < end)
        if inside.any():
            keep |= inside
        else:  # a region shorter than the step: the window centred nearest to it
            keep[int(np.argmin(np.abs(centres - (start + end) / 2)))] = True
    index = np.flatnonzero(keep)
    return grid[index], index


def embed_windows(path: str | os.PathLike, windows: np.ndarray, encoder, *, batch_size: int = 16,
                  progress: bool = False) -> np.ndarray:
    """(W, 256) unit-norm embeddings of each window's audio, read from the streamed track in time order."""
    size = round(PARTIAL_SECONDS * SAMPLE_RATE)
    out = np.zeros((len(windows), EMBEDDING_DIM), np.float32)
    batch: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        mels = np.stack([mel_frames(w)[:PARTIAL_FRAMES] for _, w in batch])  # (B, 160, 40)
        # Always a full batch: one input shape, so CPU kernel caches do not grow with new shapes.
        mels = np.pad(mels, ((0, batch_size - len(batch)), (0, 0), (0, 0)))  # (batch_size, 160, 40)
        with torch.inference_mode():
            embedded = encoder(torch.from_numpy(mels)).numpy()[: len(batch)]  # (B, 256)
        out[[i for i, _ in batch]] = embedded
        batch.clear()

    for index, samples in cut_windows(path, windows, SAMPLE_RATE, progress=progress):
        batch.append((index, np.pad(samples, (0, max(0, size - len(samples))))[:size]))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return out


def cut_windows(path: str | os.PathLike, windows: np.ndarray, sample_rate: int, *, progress: bool = False):
    """Yield (index, samples) of each (start, end) window, in start order, from one pass over the stream.

    The buffer holds the audio from the earliest window not yet complete, so memory stays at a few windows.
    A window running past the end of the audio is given what there is.
    """
    order = np.argsort(windows[:, 0], kind="stable")
    bounds = np.round(windows * sample_rate).astype(np.int64)  # (W, 2) samples
    buffer = np.zeros(0, np.float32)
    offset = 0  # sample index of buffer[0]
    next_up = 0
    for chunk in stream_audio(path, sample_rate, progress=progress, desc="speaker embeddings"):
        buffer = np.concatenate([buffer, chunk])
        while next_up < len(order) and bounds[order[next_up], 1] <= offset + len(buffer):
            i = order[next_up]
            yield int(i), buffer[max(0, bounds[i, 0] - offset) : bounds[i, 1] - offset]
            next_up += 1
        keep_from = (min(bounds[order[next_up], 0] - offset, len(buffer)) if next_up < len(order)
                     else len(buffer))
        if keep_from > 0:
            buffer, offset = buffer[keep_from:], offset + int(keep_from)
    for i in order[next_up:]:  # past the end of the audio
        yield int(i), buffer[max(0, bounds[i, 0] - offset) :]


def check_speaker_counts(config: DiarizationConfig) -> None:
    """Refuse a given ``num_speakers`` above ``max_speakers`` (a rule across two settings, which the schema
    cannot state): it would find more speakers than the limit allows."""
    if config.num_speakers is not None and config.num_speakers > config.max_speakers:
        raise ConfigError(f"diarization num_speakers={config.num_speakers} is above max_speakers="
                          f"{config.max_speakers}, the most speakers it may find: lower num_speakers or "
                          "raise max_speakers with it")


def cluster(embeddings: np.ndarray, config: DiarizationConfig) -> np.ndarray:
    """(W,) speaker index of each (W, D) unit-norm embedding, in time order (module rule 3)."""
    count = len(embeddings)
    wanted = config.num_speakers
    if count < 2 or wanted == 1:
        return np.zeros(count, np.int64)
    stride = max(1, -(-count // config.max_windows))
    sample = embeddings[::stride].astype(np.float64)  # (S, D), S <= max_windows
    if wanted is None and split_similarity(sample) >= config.one_speaker_similarity:
        return np.zeros(count, np.int64)
    vectors = centred(sample)  # (S, D)
    labels = agglomerative_labels(vectors, config.threshold, config.max_speakers, wanted)
    if stride == 1:
        return labels
    centroids = np.stack([vectors[labels == k].mean(0) for k in range(labels.max() + 1)])  # (C, D)
    every = embeddings - sample.mean(0)  # (W, D), centred like the sample
    return (every @ centroids.T).argmax(1).astype(np.int64)


def turns_from_windows(regions: np.ndarray, windows: np.ndarray, labels: np.ndarray, min_turn: float
                       ) -> tuple[np.ndarray, list[str]]:
    """Speaker turns inside each region from window labels (module rule 4); speakers named by first turn."""
    centres = windows.mean(1)
    turns: list[tuple[float, float, int]] = []
    for start, end in np.asarray(regions, dtype=float).reshape(-1, 2):
        inside = np.flatnonzero((centres >= start - PARTIAL_SECONDS / 2)
                                & (centres <= end + PARTIAL_SECONDS / 2))
        if len(inside) == 0:
            continue
        inside = inside[np.argsort(centres[inside], kind="stable")]
        cuts = [start, *((centres[inside[:-1]] + centres[inside[1:]]) / 2), end]
        pieces = [[max(start, cuts[j]), min(end, cuts[j + 1]), int(labels[i])] for j, i in enumerate(inside)]
        pieces = [p for p in pieces if p[1] > p[0]]
        runs = _merge_runs(pieces)
        while len(runs) > 1:
            lengths = [r[1] - r[0] for r in runs]
            short = int(np.argmin(lengths))
            if lengths[short] >= min_turn:
                break
            neighbours = [j for j in (short - 1, short + 1) if 0 <= j < len(runs)]
            runs[short][2] = runs[max(neighbours, key=lambda j: lengths[j])][2]
            runs = _merge_runs(runs)
        turns.extend((a, b, k) for a, b, k in runs)
    names: dict[int, str] = {}
    for _, _, k in turns:
        names.setdefault(k, f"SPEAKER_{len(names) + 1}")
    return (np.asarray([(a, b) for a, b, _ in turns], dtype=float).reshape(-1, 2),
            [names[k] for _, _, k in turns])


def _merge_runs(pieces: list[list]) -> list[list]:
    runs: list[list] = []
    for a, b, k in pieces:
        if runs and runs[-1][2] == k:
            runs[-1][1] = b
        else:
            runs.append([a, b, k])
    return runs


def _pyannote(path: str | os.PathLike, config: DiarizationConfig) -> Diarization:
    """Diarize with a pyannote.audio pipeline (needs pyannote.audio and the pipeline's weights)."""
    try:
        from pyannote.audio import Pipeline
    except ImportError as error:
        raise DiarizationUnavailable(
            f"diarization backend pyannote needs pyannote.audio ({error}); pip install pyannote.audio and "
            "accept the pipeline's terms on the hub, or use backend resemblyzer") from None
    try:
        pipeline = Pipeline.from_pretrained(config.pyannote_pipeline, token=os.environ.get("HF_TOKEN"))
    except Exception as error:  # noqa: BLE001 - hub, network and file errors all mean "not available"
        raise DiarizationUnavailable(
            f"pyannote pipeline {config.pyannote_pipeline!r} cannot be loaded ({error}); give a local folder "
            "or set HF_TOKEN with access to it") from None
    if pipeline is None:
        raise DiarizationUnavailable(f"pyannote pipeline {config.pyannote_pipeline!r} is gated: set HF_TOKEN")
    if config.num_speakers is not None:
        output = pipeline(str(path), num_speakers=config.num_speakers)
    else:
        output = pipeline(str(path), max_speakers=config.max_speakers)
    annotation = getattr(output, "speaker_diarization", output)  # pyannote.audio 4 wraps the annotation
    tracks = [(seg.start, seg.end, label) for seg, _, label in annotation.itertracks(yield_label=True)]
    names: dict[str, str] = {}
    for _, _, label in tracks:
        names.setdefault(label, f"SPEAKER_{len(names) + 1}")
    return Diarization(np.asarray([(a, b) for a, b, _ in tracks], dtype=float).reshape(-1, 2),
                       [names[label] for _, _, label in tracks], "pyannote")

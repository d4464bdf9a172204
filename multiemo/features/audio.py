"""Utterance-level acoustic features with openSMILE (ComParE_2016 functionals by default, as in MultiEMO).

Missing audio is explicit, never a fake measurement: an utterance whose media is absent, damaged,
stream-less, too short for the feature set, or silent gets a zero row with ``present`` False, and its
status (``no_media``, ``missing_file``, ``corrupt``, ``no_audio``, ``empty``, ``too_short``, ``silent``)
is counted in the stage outcomes.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from dataclasses import dataclass

import numpy as np
import opensmile
import pandas as pd

from multiemo.features.base import ModalityFeatures
from multiemo.features.media import decode_audio
from multiemo.features.utterances import Utterance, load_each
from multiemo.keys import table_keys
from multiemo.outcomes import OK, StageOutcomes

log = logging.getLogger(__name__)

SILENT = "silent"
TOO_SHORT = "too_short"


@dataclass(frozen=True)
class AudioConfig:
    """How acoustic features are made.

    Attributes:
        feature_set: openSMILE set: ``ComParE_2016`` (6,373 functionals), ``eGeMAPSv02`` (88), ``emobase``
            (988), or any other name of ``opensmile.FeatureSet``.
        feature_level: ``Functionals`` (one vector per utterance) or a frame level (``LowLevelDescriptors``,
            ``LowLevelDescriptors_Deltas``), whose frames are averaged into one vector per utterance.
        sample_rate: rate (Hz) the audio is resampled to before openSMILE.
        min_duration: utterances shorter than this (seconds) are ``too_short``; openSMILE's functionals
            are undefined (NaN) below about 0.1 s.
        silence_dbfs: utterances whose RMS level (dB relative to full scale) is below this are ``silent``.
    """

    feature_set: str = "ComParE_2016"
    feature_level: str = "Functionals"
    sample_rate: int = 16000
    min_duration: float = 0.1
    silence_dbfs: float = -60.0

    def __post_init__(self) -> None:
        if self.feature_set not in opensmile.FeatureSet.__members__:
            raise ValueError(
                f"unknown openSMILE feature_set {self.feature_set!r}; "
                f"choose one of {sorted(opensmile.FeatureSet.__members__)}"
            )
        if self.feature_level not in opensmile.FeatureLevel.__members__:
            raise ValueError(
                f"unknown openSMILE feature_level {self.feature_level!r}; "
                f"choose one of {sorted(opensmile.FeatureLevel.__members__)}"
            )
        if self.sample_rate < 8000:
            raise ValueError(f"sample_rate must be >= 8000 Hz, got {self.sample_rate}")
        if self.min_duration < 0:
            raise ValueError(f"min_duration must be >= 0 s, got {self.min_duration}")


def rms_dbfs(signal: np.ndarray) -> float:
    """RMS level of (S,) samples in dB relative to a full-scale (amplitude 1) signal; -inf for all zeros."""
    rms = float(np.sqrt(np.mean(np.square(signal, dtype=np.float64))))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


class AudioExtractor:
    """An openSMILE extractor built once and applied to many signals."""

    def __init__(self, config: AudioConfig) -> None:
        self.config = config
        self._smile = opensmile.Smile(
            feature_set=opensmile.FeatureSet[config.feature_set],
            feature_level=opensmile.FeatureLevel[config.feature_level],
        )
        self.dim = len(self._smile.feature_names)

    @property
    def provenance(self) -> dict:
        return {
            "extractor": "opensmile",
            "opensmile_version": opensmile.__version__,
            "feature_set": self.config.feature_set,
            "feature_level": self.config.feature_level,
            "sample_rate": self.config.sample_rate,
            "min_duration": self.config.min_duration,
            "silence_dbfs": self.config.silence_dbfs,
            "frame_pooling": None if self.config.feature_level == "Functionals" else "mean",
            "dim": self.dim,
        }

    def check(self, signal: np.ndarray) -> tuple[str, str]:
        """Status and message for a decoded (S,) signal: ``ok``, ``too_short`` or ``silent``."""
        duration = len(signal) / self.config.sample_rate
        if duration < self.config.min_duration:
            return (
                TOO_SHORT,
                f"{duration:.3f} s of audio, fewer than min_duration {self.config.min_duration} s",
            )
        level = rms_dbfs(signal)
        if level < self.config.silence_dbfs:
            return SILENT, f"RMS level {level:.1f} dBFS below silence_dbfs {self.config.silence_dbfs}"
        return OK, ""

    def features(self, signal: np.ndarray) -> np.ndarray | None:
        """(D,) float32 features of an (S,) signal, or None where openSMILE gives non-finite values."""
        with warnings.catch_warnings():
            # openSMILE warns and fills NaN for segments too short for a set; reported as too_short instead.
            warnings.filterwarnings("ignore", message="Segment too short", category=UserWarning)
            frame = self._smile.process_signal(signal, self.config.sample_rate)
        values = frame.to_numpy(dtype=np.float32).mean(axis=0)  # (D,): frames averaged for LLD levels
        return values if np.isfinite(values).all() else None


def extract_audio(
    table: pd.DataFrame,
    config: AudioConfig | None = None,
    /,
    *,
    progress: bool = True,
    **settings: object,
) -> ModalityFeatures:
    """openSMILE features for every utterance of ``table``, in table order.

    Args:
        table: utterance table (``dialogue_id``, ``utterance_id``, ``media``, ``start``, ``end``).
        config: settings; fields of :class:`AudioConfig` given as keywords (``feature_set="eGeMAPSv02"``)
            override it.
        progress: show a tqdm progress bar.

    Returns:
        ModalityFeatures with values (N, D) (D from the feature set, e.g. 6,373 for ComParE_2016),
        present (N,), provenance and stage outcomes whose statuses are ``ok`` or the problems listed in the
        module docstring; rows that are not ``ok`` are zeros with present False.
    """
    config = dataclasses.replace(config or AudioConfig(), **settings)
    extractor = AudioExtractor(config)
    outcomes = StageOutcomes(stage="audio")
    values = np.zeros((len(table), extractor.dim), dtype=np.float32)  # (N, D)
    present = np.zeros(len(table), dtype=bool)  # (N,)

    def decode(utt: Utterance) -> np.ndarray:
        return decode_audio(utt.media, start=utt.start, end=utt.end, sample_rate=config.sample_rate)

    for row, utt, signal in load_each(table, decode, outcomes, progress=progress):
        status, message = extractor.check(signal)
        vector = extractor.features(signal) if status == OK else None
        if status == OK and vector is None:
            status, message = TOO_SHORT, f"openSMILE gave non-finite {config.feature_set} values"
        outcomes.add(utt.key, status, message)
        if vector is not None:
            values[row] = vector
            present[row] = True
    log.info("%s", outcomes.summary())
    return ModalityFeatures(
        keys=table_keys(table), values=values, present=present, provenance=extractor.provenance,
        outcomes=outcomes
    )

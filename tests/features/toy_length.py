"""A toy plugin extractor, ``length``: how long each utterance is, from the utterance table alone.

It shows what a new extractor is: a settings dataclass, a ``build`` function, one registry entry. The
workflow imports it when config.yaml lists ``plugins: [tests.features.toy_length]`` (with the repository
on PYTHONPATH); a test process imports it directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from multiemo.features.base import ModalityFeatures
from multiemo.features.registry import Extract, ExtractionContext, Extractor, register_extractor
from multiemo.keys import table_keys
from multiemo.outcomes import OK, StageOutcomes


@dataclass(frozen=True)
class LengthConfig:
    """Attributes: scale: divides the word count; batch_size: rows per step (speed only, as a runtime key)."""

    scale: float = 10.0
    batch_size: int = 4

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")


def build(settings: LengthConfig, context: ExtractionContext) -> Extract:
    def extract(table: pd.DataFrame, *, progress: bool) -> ModalityFeatures:
        del progress
        text = table["text"].astype(str)
        words = text.str.split().str.len().to_numpy(dtype=np.float32) / settings.scale  # (N,)
        chars = np.log1p(text.str.len().to_numpy(dtype=np.float32))  # (N,)
        span = (table["end"] - table["start"]).to_numpy(dtype=np.float32)  # (N,), NaN without times
        values = np.stack([words, chars, np.nan_to_num(span)], axis=1)  # (N, 3)
        keys = table_keys(table)
        outcomes = StageOutcomes(stage="length")
        for key in keys:
            outcomes.add(key, OK)
        provenance = {"extractor": "length", "scale": settings.scale, "dim": 3}
        return ModalityFeatures(keys=keys, values=values, present=np.ones(len(keys), bool),
                                provenance=provenance, outcomes=outcomes)

    return extract


ENTRY = Extractor("length", LengthConfig, build, runtime_keys=frozenset({"batch_size"}), reads="table")
register_extractor(ENTRY, replace=True)

"""The common result of every per-modality extractor, and its on-disk shard form."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from multiemo.errors import InputError
from multiemo.io import atomic_path
from multiemo.outcomes import StageOutcomes


@dataclass
class ModalityFeatures:
    """Features of one modality for a list of utterances (rows of an utterance table, same order).

    Attributes:
        keys: utterance keys ``"{dialogue_id}/{utterance_id}"``, length N.
        values: (N, D) float32 features; rows of missing utterances are zeros.
        present: (N,) bool, False where the modality is missing for that utterance (no face, no audio, ...).
        provenance: how the features were made (extractor, settings, versions); recorded in the store.
        outcomes: per-utterance outcome counts of the stage.
    """

    keys: list[str]
    values: np.ndarray
    present: np.ndarray
    provenance: dict = field(default_factory=dict)
    outcomes: StageOutcomes | None = None

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float32)
        self.present = np.asarray(self.present, dtype=bool)
        n = len(self.keys)
        if self.values.ndim != 2 or self.values.shape[0] != n or self.present.shape != (n,):
            raise ValueError(
                f"features for {n} utterances need values (N, D) and present (N,), "
                f"got {self.values.shape} and {self.present.shape}"
            )

    @property
    def dim(self) -> int:
        return int(self.values.shape[1])

    def save(self, path: str | os.PathLike) -> None:
        """Write one shard as a single ``.npz`` (atomically, so a half-written shard never looks finished)."""
        meta = {
            "provenance": self.provenance,
            "report": self.outcomes.to_dict() if self.outcomes is not None else None,
        }
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(
                handle,
                keys=np.asarray(self.keys, dtype=str),
                values=self.values,
                present=self.present,
                meta=np.asarray(json.dumps(meta, ensure_ascii=False)),
            )

    @classmethod
    def load(cls, path: str | os.PathLike) -> ModalityFeatures:
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            outcomes = StageOutcomes.from_dict(meta["report"]) if meta.get("report") else None
            return cls(
                keys=[str(k) for k in data["keys"]],
                values=data["values"],
                present=data["present"],
                provenance=meta["provenance"],
                outcomes=outcomes,
            )

    @classmethod
    def concatenate(cls, parts: list[ModalityFeatures]) -> ModalityFeatures:
        """Join shards of the same modality; their provenance must agree."""
        if not parts:
            raise ValueError("no feature shards to concatenate")
        first = parts[0]
        for part in parts[1:]:
            if part.provenance != first.provenance:
                raise InputError(
                    "feature shards were made with different settings: "
                    f"{first.provenance} vs {part.provenance}; delete the stale shards and rerun"
                )
        outcomes = None
        if any(p.outcomes is not None for p in parts):
            outcomes = StageOutcomes(stage=next(p.outcomes.stage for p in parts if p.outcomes is not None))
            for part in parts:
                if part.outcomes is not None:
                    outcomes.merge(part.outcomes)
        return cls(
            keys=[k for p in parts for k in p.keys],
            values=np.concatenate([p.values for p in parts]),
            present=np.concatenate([p.present for p in parts]),
            provenance=first.provenance,
            outcomes=outcomes,
        )


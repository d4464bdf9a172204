"""Dialogues of one split as padded, batch-first tensors.

All features of a split are loaded once into contiguous tensors; a batch is a gather through a
(dialogues, max_len) row-index matrix, so building batches costs one indexing call per modality and no
per-utterance Python work.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import torch

from multiemo.data.store import FeatureStore, StoreError

PAD = -1


@dataclass
class DialogueBatch:
    """A batch of B dialogues padded to the longest one (T utterances).

    Attributes:
        features: modality → (B, T, D_m) float32; zeros at padded positions.
        present: modality → (B, T) bool, False where the modality is missing or padded.
        party: (B, T) int64 speaker's party index inside the dialogue; 0 at padded positions.
        mask: (B, T) bool, True = real utterance. Padding sits at the end of each row.
        labels: (B, T) int64 label index, -1 for padded or unlabelled utterances.
        rows: (B, T) int64 row of the utterance in the store's table, -1 at padded positions.
    """

    features: dict[str, torch.Tensor]
    present: dict[str, torch.Tensor]
    party: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor
    rows: torch.Tensor

    def to(self, device: torch.device | str) -> DialogueBatch:
        moved = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dict):
                moved[f.name] = {k: v.to(device, non_blocking=True) for k, v in value.items()}
            else:
                moved[f.name] = value.to(device, non_blocking=True)
        return DialogueBatch(**moved)


class DialogueSet:
    """All dialogues of one split of a feature store, ready to be cut into padded batches.

    Args:
        store: the feature store.
        split: "train", "validation" or "test".
        modalities: which modalities to load; each must be in the store.
    """

    def __init__(self, store: FeatureStore, split: str, modalities: Sequence[str]) -> None:
        table = store.table
        split_rows = np.flatnonzero(table["split"].to_numpy() == split)
        if split_rows.size == 0:
            raise StoreError(f"{store.root} has no utterances in split {split!r}")
        self.split = split
        self.modalities = tuple(modalities)
        sub = table.iloc[split_rows]
        # Dialogues keep their order of first appearance; utterances their position.
        dialogue_codes, dialogue_ids = pd.factorize(sub["dialogue_id"].to_numpy(), sort=False)
        order = np.lexsort((sub["position"].to_numpy(), dialogue_codes))
        split_rows, dialogue_codes = split_rows[order], dialogue_codes[order]
        self.dialogue_ids = list(dialogue_ids)
        self.lengths = np.bincount(dialogue_codes, minlength=len(dialogue_ids))
        starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        positions = np.arange(split_rows.size) - starts[dialogue_codes]
        # local[d, t] indexes the split's own tensors; the extra last row is the all-zero padding row.
        n = split_rows.size
        local = np.full((len(dialogue_ids), int(self.lengths.max())), n, dtype=np.int64)
        local[dialogue_codes, positions] = np.arange(n)
        self._local = torch.from_numpy(local)
        self._rows = torch.from_numpy(np.append(split_rows, PAD))

        def padded(values: np.ndarray, fill) -> torch.Tensor:
            return torch.from_numpy(np.concatenate([values,
                                                    np.full((1,) + values.shape[1:], fill, values.dtype)]))

        self._features = {}
        self._present = {}
        for modality in self.modalities:
            values = np.asarray(store.features(modality)[split_rows], dtype=np.float32)
            self._features[modality] = padded(values, 0.0)
            self._present[modality] = padded(store.present(modality)[split_rows], False)
        self._party = padded(table["party"].to_numpy(dtype=np.int64)[split_rows], 0)
        self._labels = padded(store.label_ids()[split_rows], PAD)
        self._real = padded(np.ones(n, dtype=bool), False)

    def __len__(self) -> int:
        return len(self.dialogue_ids)

    @property
    def num_utterances(self) -> int:
        return int(self.lengths.sum())

    def feature_statistics(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Per-feature mean and standard deviation of each modality over its present utterances.

        Returns:
            (mean, std): modality -> (D_m,) float32 each; zeros and ones where nothing is present.
        """
        mean, std = {}, {}
        for m, values in self._features.items():
            rows = values[:-1][self._present[m][:-1]].double()  # (N_present, D_m); last row is padding
            if rows.shape[0] == 0:
                mean[m], std[m] = torch.zeros(values.shape[1]), torch.ones(values.shape[1])
                continue
            mean[m] = rows.mean(0).float()
            std[m] = rows.std(0, correction=0).float()
        return mean, std

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[DialogueBatch]:
        """Yield batches of ``batch_size`` dialogues (the last may be smaller)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        lengths = torch.from_numpy(self.lengths)
        for begin in range(0, len(self), batch_size):
            chosen = order[begin : begin + batch_size]
            local = self._local[chosen, : int(lengths[chosen].max())]  # (B, T)
            yield DialogueBatch(
                features={m: v[local] for m, v in self._features.items()},
                present={m: v[local] for m, v in self._present.items()},
                party=self._party[local],
                mask=self._real[local],
                labels=self._labels[local],
                rows=self._rows[local],
            )


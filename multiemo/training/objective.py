"""The training objective: the weighted sum of the configured losses."""

from __future__ import annotations

import numpy as np
import torch

from multiemo.data.dialogues import DialogueBatch
from multiemo.losses import LOSSES
from multiemo.training.config import TrainConfig


class Objective:
    """``sum(weight * loss)`` over ``train.losses`` (:data:`~multiemo.losses.LOSSES` by name), on the real,
    labelled utterances of a batch; a loss of weight 0 is skipped unless its entry says ``always``."""

    def __init__(self, train: TrainConfig, class_counts: np.ndarray) -> None:
        counts = torch.as_tensor(class_counts, dtype=torch.float32)  # (C,)
        self.weights = {name: float(weight) for name, weight in train.losses.items()}
        entries = {name: LOSSES[name] for name in self.weights}
        self.losses = {name: entry.make(train, counts) for name, entry in entries.items()
                       if entry.always or self.weights[name] > 0}
        self.apply = {name: entries[name].applier() for name in self.losses}

    def to(self, device: torch.device) -> Objective:
        for loss in self.losses.values():
            loss.to(device)
        return self

    def __call__(self, out, batch: DialogueBatch) -> tuple[torch.Tensor, dict[str, float]]:
        """The total loss (scalar) and each computed loss's value by name."""
        keep = batch.mask & (batch.labels >= 0)  # (B, T)
        labels = batch.labels[keep]  # (N,)
        parts = {name: self.apply[name](loss, out, keep, labels) for name, loss in self.losses.items()}
        total = None
        for name, value in parts.items():
            term = self.weights[name] * value
            total = term if total is None else total + term
        return total, {k: float(v.detach()) for k, v in parts.items()}

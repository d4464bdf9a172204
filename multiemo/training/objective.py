"""The training objective: the weighted sum of the registered losses."""

from __future__ import annotations

import numpy as np
import torch

from multiemo.data.dialogues import DialogueBatch
from multiemo.losses import LOSSES
from multiemo.training.config import TrainConfig


class Objective:
    """``sum(train.<name>_weight * loss)`` over :data:`~multiemo.losses.LOSSES`, on the real, labelled
    utterances of a batch; a loss of weight 0 is skipped unless its entry says ``always``."""

    def __init__(self, train: TrainConfig, class_counts: np.ndarray) -> None:
        counts = torch.as_tensor(class_counts, dtype=torch.float32)  # (C,)
        self.weights = {name: float(getattr(train, f"{name}_weight")) for name in LOSSES}
        self.losses = {
            name: entry.build(train, counts)
            for name, entry in LOSSES.items()
            if entry.always or self.weights[name] > 0
        }

    def to(self, device: torch.device) -> Objective:
        for loss in self.losses.values():
            loss.to(device)
        return self

    def __call__(self, out, batch: DialogueBatch) -> tuple[torch.Tensor, dict[str, float]]:
        """The total loss (scalar) and each computed loss's value by name."""
        keep = batch.mask & (batch.labels >= 0)  # (B, T)
        labels = batch.labels[keep]  # (N,)
        parts = {name: LOSSES[name].apply(loss, out, keep, labels) for name, loss in self.losses.items()}
        total = None
        for name, value in parts.items():
            term = self.weights[name] * value
            total = term if total is None else total + term
        return total, {k: float(v.detach()) for k, v in parts.items()}

"""Cross-entropy over utterances, optionally weighted by inverse class frequency."""

from __future__ import annotations

import torch


def cross_entropy(class_counts: torch.Tensor, *, class_weighted: bool) -> torch.nn.CrossEntropyLoss:
    """Cross-entropy; with ``class_weighted``, class ``c`` weighs ``total / count_c`` (mean 1 over seen
    classes).

    Args:
        class_counts: (C,) float per-class counts in the training split; a class with count 0 weighs 0.
        class_weighted: weigh classes by inverse frequency instead of equally.
    """
    if not class_weighted:
        return torch.nn.CrossEntropyLoss()
    counts = class_counts
    weights = torch.where(counts > 0, counts.sum() / counts.clamp(min=1), torch.zeros_like(counts))
    return torch.nn.CrossEntropyLoss(weight=weights / weights[counts > 0].mean())


def build(train, class_counts: torch.Tensor) -> torch.nn.CrossEntropyLoss:
    """The objective's cross-entropy from the train settings (``class_weighted_ce``)."""
    return cross_entropy(class_counts, class_weighted=train.class_weighted_ce)


def apply(loss: torch.nn.Module, out, keep: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the logits of the kept utterances; keep (B, T) bool, labels (N,)."""
    return loss(out.logits[keep], labels)  # (N, C) against (N,)

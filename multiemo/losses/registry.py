"""The training losses by name: how each is built from the train settings and what it reads from the model.

The objective is ``sum(train.<name>_weight * loss)`` over this table, in its order. Adding a loss is one
file holding its ``nn.Module`` and one entry here (plus its ``<name>_weight`` train setting).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from multiemo.losses.cross_entropy import cross_entropy
from multiemo.losses.softhgr import SoftHGRLoss
from multiemo.losses.swfc import SWFCLoss


@dataclass(frozen=True)
class LossEntry:
    """One loss of the objective.

    Attributes:
        build: ``(train settings, class_counts (C,) float) -> loss module``.
        apply: ``(loss module, model output, keep (B, T) bool, labels (N,)) -> scalar loss`` over the
            N kept utterances (real and labelled).
        always: computed and logged even when its weight is 0.
    """

    build: Callable[[Any, torch.Tensor], nn.Module]
    apply: Callable[[nn.Module, Any, torch.Tensor, torch.Tensor], torch.Tensor]
    always: bool = False


LOSSES: dict[str, LossEntry] = {
    "ce": LossEntry(
        build=lambda train, counts: cross_entropy(counts, class_weighted=train.class_weighted_ce),
        apply=lambda loss, out, keep, labels: loss(out.logits[keep], labels),
        always=True,
    ),
    "swfc": LossEntry(
        build=lambda train, counts: SWFCLoss(
            class_counts=counts,
            temperature=train.swfc_temperature,
            focus=train.swfc_focus,
            sample_weight_power=train.swfc_sample_weight_power,
        ),
        apply=lambda loss, out, keep, labels: loss(out.fused[keep], labels),
    ),
    "hgr": LossEntry(
        build=lambda train, counts: SoftHGRLoss(covariance=train.hgr_covariance),
        apply=lambda loss, out, keep, labels: loss(*(v[keep] for v in out.modality.values())),
    ),
}

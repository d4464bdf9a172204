"""A model's forward pass over a split, and what a pass over a split collects.

:func:`forward_pass` runs without gradients, in eval mode: evaluation, the training loop's validation and
test passes and the robustness benchmarks score with it. The training step
(:func:`multiemo.training.passes.train_pass`) shares :func:`forward` and :class:`PassTally`, so both
passes compute the model's outputs, the loss and the collected predictions in the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from multiemo.data.dialogues import DialogueBatch, DialogueSet
from multiemo.metrics import classification_scores
from multiemo.models import MultiEMO, MultiEMOOutput
from multiemo.runs.precision import autocast

#: A loss over a batch's outputs (the training objective): the total (a scalar) and each part's value by name.
LossFn = Callable[[MultiEMOOutput, DialogueBatch], tuple[torch.Tensor, dict[str, float]]]


class PassResult:
    """Mean loss and the predictions of one pass over a split: (N,) labels, (N, C) logits and probabilities,
    (N,) store rows of its real utterances."""

    def __init__(self, loss: float, parts: dict, y_true: np.ndarray, logits: np.ndarray, rows: np.ndarray):
        self.loss, self.parts, self.y_true, self.logits, self.rows = loss, parts, y_true, logits, rows
        self.probs = torch.from_numpy(logits).softmax(-1).numpy()

    def scores(self, labels: Sequence[str]) -> dict:
        """:func:`~multiemo.metrics.classification_scores` of the labelled utterances."""
        keep = self.y_true >= 0
        return classification_scores(self.y_true[keep], self.probs[keep].argmax(1), labels)


class PassTally:
    """What a pass collects batch by batch: the loss weighted by each batch's labelled utterances, and the
    labels, logits and store rows of the real ones."""

    def __init__(self) -> None:
        self.total, self.count, self.parts_sum = 0.0, 0, {}
        self.y_true, self.logits, self.rows = [], [], []

    def add_loss(self, loss: torch.Tensor, parts: dict[str, float], n: int) -> None:
        """One batch's loss and its parts, over ``n`` labelled utterances."""
        self.total += float(loss.detach()) * n
        self.count += n
        for k, v in parts.items():
            self.parts_sum[k] = self.parts_sum.get(k, 0.0) + v * n

    def add_outputs(self, out: MultiEMOOutput, batch: DialogueBatch) -> None:
        """One batch's real utterances: labels, float32 logits and store rows, on the CPU."""
        real = batch.mask
        self.y_true.append(batch.labels[real].cpu())
        self.logits.append(out.logits[real].detach().float().cpu())
        self.rows.append(batch.rows[real].cpu())

    def result(self) -> PassResult:
        count = max(self.count, 1)
        return PassResult(
            loss=self.total / count,
            parts={k: v / count for k, v in self.parts_sum.items()},
            y_true=torch.cat(self.y_true).numpy(),
            logits=torch.cat(self.logits).numpy(),
            rows=torch.cat(self.rows).numpy(),
        )


def labelled(batch: DialogueBatch) -> int:
    """How many real, labelled utterances a batch holds (what its loss is averaged over)."""
    return int((batch.mask & (batch.labels >= 0)).sum())


def forward(model: MultiEMO, batch: DialogueBatch, precision: str, device: torch.device) -> MultiEMOOutput:
    """The model's outputs on a batch already on ``device``, under the autocast of ``precision`` (resolved),
    returned in float32 for the losses (SWFC's own backward, Soft-HGR's covariances)."""
    with autocast(precision, device):
        out = model(batch.features, batch.party, batch.mask, batch.present)
    return out.float()


def forward_pass(
    model: MultiEMO,
    data: DialogueSet,
    batch_size: int,
    device: torch.device,
    *,
    precision: str = "fp32",
    objective: LossFn | None = None,
) -> PassResult:
    """One pass over ``data`` in eval mode without gradients, dialogues in store order.

    Args:
        precision: ``"fp32"`` or ``"bf16"`` (resolved), the autocast of the forward pass.
        objective: the loss to average over the labelled utterances (the training loop's validation loss);
            None scores only (the result's loss is 0).
    """
    model.eval()
    tally = PassTally()
    with torch.no_grad():
        for batch in data.batches(batch_size):
            batch = batch.to(device)
            out = forward(model, batch, precision, device)
            n = labelled(batch)
            if objective is not None and n > 0:
                tally.add_loss(*objective(out, batch), n)
            tally.add_outputs(out, batch)
    return tally.result()

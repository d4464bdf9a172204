"""One pass of a model over a split: the training step when given an optimizer, else evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from multiemo.data.dialogues import DialogueSet
from multiemo.metrics import classification_scores
from multiemo.models import MultiEMO
from multiemo.training.objective import Objective
from multiemo.training.precision import autocast


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


def run_pass(
    model: MultiEMO,
    data: DialogueSet,
    batch_size: int,
    objective: Objective | None,
    device: torch.device,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    generator: torch.Generator | None = None,
    grad_clip: float = 0.0,
    precision: str = "fp32",
) -> PassResult:
    """One pass over ``data``; trains when ``optimizer`` is given, else evaluates without gradients.

    ``precision`` (``"fp32"`` or ``"bf16"``, resolved) is the autocast of the forward pass; the losses
    always run in float32.
    """
    training = optimizer is not None
    model.train(training)
    total, count, parts_sum = 0.0, 0, {}
    y_true, logits, rows = [], [], []
    with torch.set_grad_enabled(training):
        for batch in data.batches(batch_size, shuffle=training, generator=generator):
            batch = batch.to(device)
            if training:  # free the last step's gradients before this forward pass's activations arrive
                optimizer.zero_grad(set_to_none=True)
            with autocast(precision, device):
                out = model(batch.features, batch.party, batch.mask, batch.present)
            out = out.float()  # the losses (SWFC's own backward, Soft-HGR's covariances) in float32
            n = int((batch.mask & (batch.labels >= 0)).sum())
            if objective is not None and n > 0:
                loss, parts = objective(out, batch)
                if training:
                    loss.backward()
                    if grad_clip > 0:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                    optimizer.step()
                total += float(loss.detach()) * n
                count += n
                for k, v in parts.items():
                    parts_sum[k] = parts_sum.get(k, 0.0) + v * n
            real = batch.mask
            y_true.append(batch.labels[real].cpu())
            logits.append(out.logits[real].detach().float().cpu())
            rows.append(batch.rows[real].cpu())
    count = max(count, 1)
    return PassResult(
        loss=total / count,
        parts={k: v / count for k, v in parts_sum.items()},
        y_true=torch.cat(y_true).numpy(),
        logits=torch.cat(logits).numpy(),
        rows=torch.cat(rows).numpy(),
    )

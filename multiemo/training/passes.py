"""The training step: one pass over the training split that updates the model.

Scoring passes (validation, test) have no optimiser and no gradients: they are
:func:`multiemo.runs.forward.forward_pass`, which evaluation and prediction share.
"""

from __future__ import annotations

import torch

from multiemo.data.dialogues import DialogueSet
from multiemo.models import MultiEMO
from multiemo.runs.forward import PassResult, PassTally, forward, labelled
from multiemo.training.objective import Objective


def train_pass(
    model: MultiEMO,
    data: DialogueSet,
    batch_size: int,
    objective: Objective,
    device: torch.device,
    optimizer: torch.optim.Optimizer,
    *,
    generator: torch.Generator | None = None,
    grad_clip: float = 0.0,
    precision: str = "fp32",
) -> PassResult:
    """One epoch of optimiser steps over ``data``, its dialogues shuffled by ``generator``.

    ``precision`` (``"fp32"`` or ``"bf16"``, resolved) is the autocast of the forward pass; the losses
    always run in float32. A batch without a labelled utterance takes no step.
    """
    model.train()
    tally = PassTally()
    with torch.enable_grad():
        for batch in data.batches(batch_size, shuffle=True, generator=generator):
            batch = batch.to(device)
            optimizer.zero_grad(set_to_none=True)  # free old gradients before new activations arrive
            out = forward(model, batch, precision, device)
            n = labelled(batch)
            if n > 0:
                loss, parts = objective(out, batch)
                loss.backward()
                if grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                optimizer.step()
                tally.add_loss(loss, parts, n)
            tally.add_outputs(out, batch)
    return tally.result()

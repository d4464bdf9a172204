"""Running a model in the precision its run recorded (``train.precision``, resolved to fp32 or bf16).

The model does not know about precision: training, evaluation and prediction run its forward pass
under :func:`autocast`, which for ``"bf16"`` is :func:`torch.autocast` with bfloat16 (matrix products
take bfloat16 inputs; the DialogueRNN's states stay float32 because its float32 biases are added to
each product). The losses then run on float32 outputs. The trainer chooses the precision
(:func:`multiemo.training.precision.resolve_precision`) and records it in ``settings.json``; every
reader of the run applies the recorded one with this function.
"""

from __future__ import annotations

import torch


def autocast(precision: str, device: torch.device) -> torch.autocast:
    """The autocast context of a resolved precision: bfloat16 products for ``"bf16"``, none for ``"fp32"``."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

"""Dropout whose mask is drawn with ``torch.rand``: the same distribution, cheaper on a CPU.

On a CPU, :func:`torch.nn.functional.dropout` draws its mask with ``bernoulli_``, which runs on one
thread at about 7 ns per element; ``torch.rand`` runs on every core at about 3 ns. MultiEMO drops out
~10^8 activations per IEMOCAP training batch, so this is a tenth of a training step on 2 cores
(BENCHMARKS.md). Each element is kept with probability ``1 - p`` exactly as before (``u >= p`` for
``u ~ U[0, 1)``) and scaled by ``1 / (1 - p)``; the saved mask is boolean (1 byte per element), like
the native one. On CUDA the native kernel is already fast and is used.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Zero each element of ``x`` with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Args:
        x: any float tensor.
        p: drop probability in [0, 1).
        training: identity when False.

    Returns:
        Tensor like ``x``.
    """
    if not training or p == 0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, training=True)
    keep = torch.rand(x.shape, dtype=x.dtype, device=x.device) >= p  # bool, saved for backward by where()
    return torch.where(keep, x * (1.0 / (1.0 - p)), 0.0)


class Dropout(nn.Module):
    """Drop-in replacement for :class:`torch.nn.Dropout` using :func:`dropout`.

    Args:
        p: drop probability in [0, 1).
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p!r}")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"

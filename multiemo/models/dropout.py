"""Dropout whose mask comes from 16-bit slices of 64-bit random integers: cheaper on a CPU.

On a CPU, :func:`torch.nn.functional.dropout` draws its mask with ``bernoulli_``, which runs on one
thread at about 7 ns per element; ``torch.rand`` runs on every core at about 3.4 ns, and 64-bit random
integers cut into four 16-bit draws cost about 1.3 ns per element (2 cores, BENCHMARKS.md). MultiEMO drops
out ~10^8 activations per IEMOCAP training batch, so this is a noticeable share of a training step.

Each 16-bit draw is uniform on [0, 2^16), so an element is dropped with probability
``q = round(p * 2^16) / 2^16`` (0.1 becomes 0.100006) and kept ones are scaled by ``1 / (1 - q)``: the
output's expectation is exactly the input, as with ``nn.Dropout``. The saved mask is boolean (1 byte per
element), like the native one. On CUDA the native kernel is already fast and is used.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_LEVELS = 1 << 16  # values of one 16-bit draw


def keep_mask(
    shape: torch.Size | tuple[int, ...], p: float, device: torch.device | str = "cpu"
) -> tuple[Tensor, float]:
    """Draw a dropout keep-mask.

    Args:
        shape: shape of the mask.
        p: drop probability in [0, 1).
        device: where the mask lives.

    Returns:
        ``(keep, q)``: a bool tensor of ``shape``, True with probability ``1 - q``, and ``q``, the drop
        probability ``p`` rounded to a multiple of 2^-16 (kept below 1).
    """
    threshold = min(round(p * _LEVELS), _LEVELS - 1)
    count = math.prod(shape)
    # randint's upper bound is exclusive: the single value 2^63 - 1 is never drawn (a 2^-64 bias)
    words = torch.randint(-(2**63), 2**63 - 1, ((count + 3) // 4,), dtype=torch.int64, device=device)
    draws = words.view(torch.int16)[:count]  # signed view of uniform 16-bit values: [-2^15, 2^15)
    keep = draws >= threshold - _LEVELS // 2
    return keep.view(shape), threshold / _LEVELS


def dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Zero each element of ``x`` with probability ``p`` (to 2^-16) and scale the rest to keep the mean.

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
    keep, q = keep_mask(x.shape, p, x.device)  # bool, saved for backward by where()
    return torch.where(keep, x * (1.0 / (1.0 - q)), 0.0)


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

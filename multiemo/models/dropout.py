"""Dropout with a fast path: the mask is cut from random 64-bit integers instead of drawn by ``bernoulli_``.

On a CPU, :func:`torch.nn.functional.dropout` draws its mask with ``bernoulli_``, about 15% of an
IEMOCAP bf16 training step on one thread; one random int64 gives four uniform 16-bit draws, several
times cheaper. An element is dropped when its draw falls below ``round(p * 2^16)``, that is with
probability ``q = round(p * 2^16) / 2^16`` (0.1 becomes 0.100006), and kept ones are scaled by
``1 / (1 - q)``, so the expectation is exactly the input, as with :class:`torch.nn.Dropout`.
The draws come from torch's default generator, so :func:`torch.utils.checkpoint.checkpoint`, which
restores that generator's state, replays the same mask when it recomputes a forward pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_LEVELS = 1 << 16  # values of one 16-bit draw


class Dropout(nn.Module):
    """:class:`torch.nn.Dropout` with a cheaper mask: identity in eval mode or when ``p == 0``.

    Args:
        p: drop probability in [0, 1).
        fast: the mask from 16-bit slices of random int64s (see the module docstring); False uses
            :func:`torch.nn.functional.dropout`. Both drop independently with probability ~p.
    """

    def __init__(self, p: float = 0.5, *, fast: bool = True) -> None:
        super().__init__()
        self.p, self.fast = float(p), fast  # p is checked once, in ModelConfig

    def forward(self, x: Tensor) -> Tensor:
        """Args: x: any float tensor. Returns: a tensor like ``x`` (same shape, dtype and device)."""
        if not self.training or self.p == 0:
            return x
        if not self.fast:
            return F.dropout(x, self.p, training=True)
        threshold = min(round(self.p * _LEVELS), _LEVELS - 1)
        # randint's upper bound is exclusive: the value 2^63 - 1 is never drawn (a 2^-64 bias)
        words = torch.randint(-(2**63), 2**63 - 1, ((x.numel() + 3) // 4,), device=x.device)
        draws = words.view(torch.int16)[: x.numel()].view(x.shape)  # uniform on [-2^15, 2^15)
        keep = draws >= threshold - _LEVELS // 2  # bool, saved by the product for backward
        return x * keep * (_LEVELS / (_LEVELS - threshold))

    def extra_repr(self) -> str:
        return f"p={self.p}, fast={self.fast}"

"""Gather the real utterances of a padded batch into a flat token list, and scatter them back.

Position-wise layers (linear maps, feed-forward blocks, LayerNorm) cost the same for a padded
utterance as for a real one; running them on real utterances only skips that waste, which is large
when dialogue lengths vary (IEMOCAP: 8 to 110 utterances).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class TokenLayout:
    """Positions of the real utterances of a (B, T) batch.

    Attributes:
        index: (N,) long, flat positions b * T + t of the real utterances, in row-major order.
        batch: B.
        steps: T.
    """

    index: Tensor
    batch: int
    steps: int

    @classmethod
    def from_mask(cls, mask: Tensor) -> TokenLayout:
        """Args: mask: (B, T) bool, True = real utterance."""
        batch, steps = mask.shape
        return cls(mask.reshape(-1).nonzero().squeeze(1), batch, steps)

    def pack(self, x: Tensor) -> Tensor:
        """(B, T, C) -> (N, C), real utterances only."""
        return x.reshape(self.batch * self.steps, -1).index_select(0, self.index)

    def unpack(self, tokens: Tensor) -> Tensor:
        """(N, C) -> (B, T, C), zeros at padded positions."""
        flat = tokens.new_zeros(self.batch * self.steps, tokens.shape[-1])  # (B*T, C)
        return flat.index_copy(0, self.index, tokens).view(self.batch, self.steps, -1)

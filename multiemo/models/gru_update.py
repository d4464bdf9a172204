"""The GRU update as one autograd node: the fast path of :func:`multiemo.models.dialogue_rnn.gru`.

The DialogueRNN applies the GRU update three to four times per step to every running dialogue. Recorded
op by op, autograd keeps, per update, r, z, n, the difference h - n and the whole (..., 3H) hidden-to-hidden
pre-activation (``h_n`` is a view of it): 7H values. :class:`GRUUpdate` computes the forward pass with the
very same operations, in the same order, and keeps r, z, n and a copy of h_n (4H; h is the caller's state,
kept anyway). Its backward pass is autograd's chain of the same operations, written out, so outputs and
gradients are those of the plain path (tests/models/test_gru_update.py holds them equal); only the memory
kept for backward, and the number of autograd nodes, are smaller.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd import Function


class GRUUpdate(Function):
    """``GRUUpdate.apply(gi, gh, h)``: the arguments and result of
    :func:`~multiemo.models.dialogue_rnn.gru`."""

    @staticmethod
    def forward(ctx, gi: Tensor, gh: Tensor, h: Tensor) -> Tensor:
        i_r, i_z, i_n = gi.chunk(3, dim=-1)
        h_r, h_z, h_n = gh.chunk(3, dim=-1)
        r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
        n = (i_n + r * h_n).tanh()
        ctx.save_for_backward(r, z, n, h_n.clone(), h)  # the clone lets gh's (..., 3H) buffer go
        ctx.shapes = gi.shape, gh.shape
        return n + z * (h - n)  # (1 - z) * n + z * h

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        r, z, n, h_n, h = ctx.saved_tensors
        gi_shape, gh_shape = ctx.shapes
        grad_diff = grad * z  # through z * (h - n): to h, and negated to n
        grad_n = grad - grad_diff
        # ATen's own backward kernels of tanh and sigmoid, which autograd calls for the plain path
        grad_pre_n = torch.ops.aten.tanh_backward(grad_n, n)
        grad_pre_r = torch.ops.aten.sigmoid_backward(grad_pre_n * h_n, r)
        grad_pre_z = torch.ops.aten.sigmoid_backward(grad * (h - n), z)
        grad_gi = _sum_to(torch.cat([grad_pre_r, grad_pre_z, grad_pre_n], dim=-1), gi_shape)
        grad_gh = _sum_to(torch.cat([grad_pre_r, grad_pre_z, grad_pre_n * r], dim=-1), gh_shape)
        return grad_gi, grad_gh, _sum_to(grad_diff, h.shape)


def _sum_to(grad: Tensor, shape) -> Tensor:
    """Undo broadcasting, as autograd does for the plain operations."""
    return grad if grad.shape == shape else grad.sum_to_size(shape)

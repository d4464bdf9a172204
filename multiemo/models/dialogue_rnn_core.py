"""The DialogueRNN recurrence on packed dialogues, for several independent streams at once.

A "stream" is one DialogueRNN with its own weights (one modality's forward or backward direction).
Streams share the dialogue lengths (each has its own speaker sequence), so their weights are stacked
on a leading axis of size K and every matrix product is one batched ``bmm`` for all streams: per step
the op count is that of a single DialogueRNN.

Dialogues arrive packed (see :class:`~multiemo.models.dialogue_packing.DialoguePacking`): time-major,
sorted by length, so the dialogues still running at step t are the first ``batch_sizes[t]`` rows. Finished
dialogues simply drop out of the state tensors; padded steps are never computed, so they cannot change
any state. There is no Python loop over the batch, only over time.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.autograd import Function

from multiemo.models.online_softmax import pool_add, pool_narrow, pool_read, pool_start
from multiemo.models.step_product import StepProduct


def _gru(gi: Tensor, gh: Tensor, h: Tensor, save_dtype: torch.dtype | None = None) -> Tensor:
    """GRU update (same equations as :class:`torch.nn.GRUCell`) from precomputed gate pre-activations.

    Args:
        gi: (..., 3H) input-to-hidden part, biases included, gate order (r, z, n).
        gh: (..., 3H) hidden-to-hidden part, biases included; may broadcast against ``gi``.
        h: (..., H) previous hidden state.
        save_dtype: dtype in which the gate values are kept for the backward pass (bfloat16 under mixed
            precision: the backward pass then reads 3-digit gates, as autocast's own kernels would);
            None: that of ``h``.

    Returns:
        (..., H) new hidden state.
    """
    return _GRUUpdate.apply(gi, gh, h, save_dtype)


class _GRUUpdate(Function):
    """The gate arithmetic of a GRU as one autograd node: the recurrence runs it 3-4 times per step,
    and a single node with a hand-written backward replaces about ten small ones."""

    @staticmethod
    def forward(ctx, gi, gh, h, save_dtype):
        size = h.shape[-1]
        gi_rz, gi_n = gi.split([2 * size, size], dim=-1)
        gh_rz, gh_n = gh.split([2 * size, size], dim=-1)
        rz = torch.sigmoid(gi_rz + gh_rz)  # (..., 2H)
        r, z = rz.chunk(2, dim=-1)
        n = torch.tanh(torch.addcmul(gi_n, r, gh_n))  # (..., H)
        out = torch.lerp(n, h, z)  # (1 - z) * n + z * h
        if save_dtype is not None and save_dtype != h.dtype:
            rz, n, gh_n = rz.to(save_dtype), n.to(save_dtype), gh_n.to(save_dtype)
        ctx.save_for_backward(rz, n, gh_n, h)
        ctx.gi_shape, ctx.gh_shape = gi.shape, gh.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        rz, n, gh_n, h = ctx.saved_tensors
        rz, n, gh_n = rz.to(h.dtype), n.to(h.dtype), gh_n.to(h.dtype)
        size = h.shape[-1]
        r, z = rz.chunk(2, dim=-1)
        grad_n = grad * (1 - z) * (1 - n * n)  # through tanh
        grad_rz = torch.empty_like(rz)
        grad_rz[..., :size] = grad_n * gh_n * r * (1 - r)
        grad_rz[..., size:] = grad * (h - n) * z * (1 - z)
        grad_gi = torch.cat([grad_rz, grad_n], dim=-1)
        grad_gh = torch.cat([grad_rz, grad_n * r], dim=-1)
        grad_h = grad * z
        return _sum_to(grad_gi, ctx.gi_shape), _sum_to(grad_gh, ctx.gh_shape), _sum_to(grad_h, h.shape), None


def _sum_to(grad: Tensor, shape: torch.Size) -> Tensor:
    """Undo broadcasting: sum ``grad`` down to ``shape``."""
    return grad if grad.shape == shape else grad.sum_to_size(shape)


class DialogueRNNCore(nn.Module):
    """K independent DialogueRNNs (Majumder et al., AAAI 2019) with all state sizes equal to ``dim``.

    Per step t, for speaker s = party[t]:
        g_t = GRU_g([u_t; q_s], g_{t-1})
        c_t = sum_i softmax_i(w . g_i) g_i over i < t (zero at t = 1), kept as an online softmax pool
        q_s <- GRU_p([u_t; c_t], q_s); listeners keep q_l, or with ``listener_state``
               q_l <- GRU_l([u_t; c_t], q_l)
        e_t = GRU_e(q_s, e_{t-1})
    The input-to-hidden products of u_t are computed for all steps in one product before the loop.

    Args:
        num_streams: K, number of independent weight sets.
        dim: size of the input u_t and of the global, party and emotion states.
        num_parties: P, number of party states per dialogue.
        listener_state: also update the listeners' party states.
    """

    def __init__(self, *, num_streams: int, dim: int, num_parties: int, listener_state: bool) -> None:
        super().__init__()
        for name, value in (("num_streams", num_streams), ("dim", dim), ("num_parties", num_parties)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.dim = dim
        self.num_parties = num_parties
        self.listener_state = listener_state
        gates = 3 * dim
        party_cells = 2 if listener_state else 1  # GRU_p, and GRU_l when listeners are updated
        # Products with u_t (all steps at once): GRU_g input part, then GRU_p (and GRU_l) input parts.
        self.u_weight = self._stack(num_streams, dim, gates * (1 + party_cells))
        self.u_bias = self._stack(num_streams, 1, gates * (1 + party_cells))
        # Products with the speaker's party state q_s: GRU_g input part, GRU_p hidden part.
        self.gq_weight = self._stack(num_streams, dim, gates)
        self.p_weight = self._stack(num_streams, dim, gates)
        self.p_bias = self._stack(num_streams, 1, gates)  # (GRU_g's input bias is part of u_bias)
        self.g_weight = self._stack(num_streams, dim, gates)  # GRU_g hidden part
        self.g_bias = self._stack(num_streams, 1, gates)
        self.c_weight = self._stack(num_streams, dim, gates * party_cells)  # GRU_p (/GRU_l) input part
        self.e_in_weight = self._stack(num_streams, dim, gates)  # GRU_e input part, from new q_s
        self.e_in_bias = self._stack(num_streams, 1, gates)
        self.e_weight = self._stack(num_streams, dim, gates)  # GRU_e hidden part
        self.e_bias = self._stack(num_streams, 1, gates)
        if listener_state:
            self.l_weight = self._stack(num_streams, dim, gates)  # GRU_l hidden part
            self.l_bias = self._stack(num_streams, 1, gates)
        self.score = self._stack(num_streams, dim, 1)  # w in w . g_i; a bias would cancel in the softmax
        self.reset_parameters()

    @staticmethod
    def _stack(streams: int, rows: int, cols: int) -> nn.Parameter:
        return nn.Parameter(torch.empty(streams, rows, cols))

    def reset_parameters(self) -> None:
        """Uniform(-1/sqrt(dim), 1/sqrt(dim)), the :class:`torch.nn.GRUCell` default."""
        bound = 1.0 / math.sqrt(self.dim)
        for param in self.parameters():
            nn.init.uniform_(param, -bound, bound)

    def forward(
        self, u: Tensor, party: Tensor, batch_sizes: list[int], compute_dtype: torch.dtype | None = None
    ) -> Tensor:
        """Run all streams over packed dialogues.

        Args:
            u: (K, N, dim) packed inputs, N = total number of real utterances, time-major.
            party: (K, N) long, speaker party index of each packed row per stream, in [0, num_parties).
            batch_sizes: non-increasing list of length T_max; batch_sizes[t] rows belong to step t.
            compute_dtype: dtype of the matrix products' inputs and of the gate values kept for the
                backward pass (torch.bfloat16 for mixed precision); None: that of the weights. States
                and gate arithmetic keep the weights' dtype.

        Returns:
            (K, N, dim) emotion states e_t, packed like ``u``.
        """
        k, _, dim = u.shape
        gates = 3 * dim
        if compute_dtype is None or compute_dtype == u.dtype:
            pre = torch.baddbmm(self.u_bias, u, self.u_weight)  # (K, N, gates * (1 + party_cells))
        else:
            pre = torch.bmm(u.to(compute_dtype), self.u_weight.to(compute_dtype)).to(u.dtype) + self.u_bias
        pre_g, pre_party = pre.split([gates, pre.shape[-1] - gates], dim=-1)
        # One split per tensor (not a slice per step), so backward is a single concatenation.
        pre_g_steps = pre_g.split(batch_sizes, dim=1)  # T x (K, n_t, gates)
        pre_party_steps = pre_party.split(batch_sizes, dim=1)  # T x (K, n_t, gates * party_cells)
        index_steps = party.split(batch_sizes, dim=1)  # T x (K, n_t)
        is_speaker_steps = nn.functional.one_hot(party, self.num_parties).bool().split(batch_sizes, dim=1)

        # Every per-step product computes its weight gradient once, after the whole backward pass.
        cd = compute_dtype
        gq_product = StepProduct(self.gq_weight, compute_dtype=cd)
        g_product = StepProduct(self.g_weight, self.g_bias, cd)
        c_product = StepProduct(self.c_weight, compute_dtype=cd)
        score_product = StepProduct(self.score)  # one output column: too small to gain from cd
        p_product = StepProduct(self.p_weight, self.p_bias, cd)
        l_product = StepProduct(self.l_weight, self.l_bias, cd) if self.listener_state else None
        e_in_product = StepProduct(self.e_in_weight, self.e_in_bias, cd)
        e_product = StepProduct(self.e_weight, self.e_bias, cd)

        n = batch_sizes[0]
        g = e = u.new_zeros(k, n, dim)
        q = u.new_zeros(k, n, self.num_parties, dim)  # party states
        pool = None
        outputs = []
        for t, rows in enumerate(batch_sizes):
            if rows < n:  # dialogues that ended leave the (length-sorted) batch
                g, e, q = g[:, :rows], e[:, :rows], q[:, :rows]
                pool = pool_narrow(pool, 1, rows)
                n = rows
            index = index_steps[t].view(k, n, 1, 1).expand(k, n, 1, dim)
            q_s = q.gather(2, index).squeeze(2)  # (K, n, dim) speaker's party state

            gi_g = gq_product(t, q_s, add=pre_g_steps[t])  # (K, n, gates)
            g = _gru(gi_g, g_product(t, g), g, cd)  # (K, n, dim)

            gi_party = pre_party_steps[t]  # (K, n, gates * party_cells)
            if pool is not None:  # c_t pools g_1..g_{t-1}; c_1 = 0 adds nothing
                gi_party = c_product(t, pool_read(pool), add=gi_party)
            score = score_product(t, g)  # (K, n, 1)
            pool = pool_start(score, g) if pool is None else pool_add(pool, score, g)

            gh_p = p_product(t, q_s)  # (K, n, gates)
            if l_product is not None:
                gi_p, gi_l = gi_party.split(gates, dim=-1)
                gh_l = l_product(t, q.view(k, n * self.num_parties, dim)).view(k, n, self.num_parties, gates)
                q = _gru(gi_l[:, :, None], gh_l, q, cd)  # (K, n, P, dim)
            else:
                gi_p = gi_party
            new_q_s = _gru(gi_p, gh_p, q_s, cd)  # (K, n, dim)
            q = torch.where(is_speaker_steps[t][..., None], new_q_s[:, :, None], q)  # (K, n, P, dim)

            e = _gru(e_in_product(t, new_q_s), e_product(t, e), e, cd)  # (K, n, dim)
            outputs.append(e)
        return torch.cat(outputs, dim=1)  # (K, N, dim)

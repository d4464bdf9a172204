"""MultiAttn: multimodal fusion by stacked multi-head cross-attention between modalities."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from multiemo.models.dropout import Dropout


def scatter_tokens(tokens: Tensor, mask: Tensor) -> Tensor:
    """(N, C) real-utterance tokens -> (B, T, C), zeros at padded positions: undoes ``x[mask]``."""
    index = mask.flatten().nonzero().squeeze(1)  # (N,) flat position of each real utterance
    # index_copy, not masked_scatter: the same result, several times faster on a CPU
    flat = tokens.new_zeros(mask.numel(), tokens.shape[-1]).index_copy(0, index, tokens)
    return flat.view(*mask.shape, tokens.shape[-1])


def attend(q: Tensor, kv: Tensor, mask: Tensor, heads: int) -> Tensor:
    """Masked multi-head attention within each dialogue, on the real-utterance tokens of a batch.

    Args:
        q: (N, D) queries; kv: (N, 2D) keys then values; both ``x[mask]`` of a (B, T, .) batch.
        mask: (B, T) bool, True = real utterance: padded keys are never attended to (and every
            dialogue has a real one, so no row of the attention is all-masked).
        heads: H.

    Returns:
        (N, D).
    """
    b, t = mask.shape
    q = scatter_tokens(q, mask).view(b, t, heads, -1).transpose(1, 2)  # (B, H, T, D/H)
    k, v = scatter_tokens(kv, mask).view(b, t, 2 * heads, -1).transpose(1, 2).chunk(2, dim=1)
    cpu = q.device.type == "cpu"
    # On a CPU the bfloat16 flash-attention backward is more than twice as slow as the float32 one
    # (measured on IEMOCAP-sized batches), so under autocast the attention itself runs in float32 there.
    with torch.autocast("cpu", enabled=False) if cpu else contextlib.nullcontext():
        q, k, v = (x.float() if cpu else x for x in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])  # (B, H, T, D/H)
    return y.transpose(1, 2).reshape(b, t, -1)[mask]  # (N, D)


def attend_by_length(q: Tensor, kv: Tensor, mask: Tensor, heads: int) -> Tensor:
    """The fast path of :func:`attend`, same arguments and result: dialogues of similar length (at most
    1.5x shorter than the block's longest) are attended together, each block padded to its own longest
    dialogue, instead of padding every dialogue to the batch's longest (attention costs T^2 per dialogue)."""
    lengths = mask.sum(dim=1)  # (B,)
    starts = lengths.cumsum(0) - lengths  # (B,) first token of each dialogue
    sorted_lengths, order = torch.sort(lengths, descending=True, stable=True)
    group = ((sorted_lengths[0] / sorted_lengths).log() / math.log(1.5)).floor().long()  # (B,)
    outputs, index = [], []
    for rows in order.split(torch.unique_consecutive(group, return_counts=True)[1].tolist()):
        block = mask[rows, : int(lengths[rows[0]])]  # (n, S)
        tokens = (starts[rows, None] + torch.arange(block.shape[1], device=mask.device))[block]  # (n_tokens,)
        outputs.append(attend(q.index_select(0, tokens), kv.index_select(0, tokens), block, heads))
        index.append(tokens)
    return torch.cat(outputs)[torch.cat(index).argsort()]  # (N, D), back in token order


class CrossAttention(nn.Module):
    """Multi-head attention with queries from one sequence and keys/values from another.

    Args:
        model_dim: D, size of queries, keys, values and output.
        num_heads: H; divides ``model_dim``.
        fast: attend by length blocks (:func:`attend_by_length`) instead of the plain :func:`attend`.
    """

    def __init__(self, *, model_dim: int, num_heads: int, fast: bool = True) -> None:
        super().__init__()
        self.num_heads, self.fast = num_heads, fast
        self.query = nn.Linear(model_dim, model_dim)
        self.key_value = nn.Linear(model_dim, 2 * model_dim)
        self.out = nn.Linear(model_dim, model_dim)

    def forward(self, x: Tensor, context: Tensor, mask: Tensor) -> Tensor:
        """Attend from each utterance of ``x`` to the real utterances of ``context`` in its dialogue.

        Args:
            x: (N, D) query tokens, the real utterances of the batch (``inputs[mask]``).
            context: (N, D) key/value tokens.
            mask: (B, T) bool, True = real utterance.

        Returns:
            (N, D).
        """
        attention = attend_by_length if self.fast else attend
        return self.out(attention(self.query(x), self.key_value(context), mask, self.num_heads))  # (N, D)


class MultiAttnLayer(nn.Module):
    """One fusion layer for one modality: a cross-attention sublayer per other modality, then a
    feed-forward sublayer; each sublayer is followed by dropout, a residual add and LayerNorm.

    Args:
        model_dim: D.
        num_heads: attention heads.
        hidden_dim: feed-forward width.
        num_others: number of other modalities attended to, in order.
        dropout: dropout on each sublayer output and inside the feed-forward block.
        fast: the attention's fast path (see :class:`CrossAttention`).
    """

    def __init__(
        self, *, model_dim: int, num_heads: int, hidden_dim: int, num_others: int, dropout: float, fast: bool
    ) -> None:
        super().__init__()
        self.attentions = nn.ModuleList(
            CrossAttention(model_dim=model_dim, num_heads=num_heads, fast=fast) for _ in range(num_others)
        )
        self.attention_norms = nn.ModuleList(nn.LayerNorm(model_dim) for _ in range(num_others))
        self.feed_forward = nn.Sequential(
            nn.Linear(model_dim, hidden_dim), nn.ReLU(), Dropout(dropout), nn.Linear(hidden_dim, model_dim)
        )
        self.feed_forward_norm = nn.LayerNorm(model_dim)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor, others: Sequence[Tensor], mask: Tensor) -> Tensor:
        """Args: x: (N, D) query tokens; others: one (N, D) token tensor per other modality;
        mask: (B, T) bool, True = real utterance. Returns (N, D)."""
        for attention, norm, context in zip(self.attentions, self.attention_norms, others, strict=True):
            x = norm(x + self.dropout(attention(x, context, mask)))  # (N, D)
        return self.feed_forward_norm(x + self.dropout(self.feed_forward(x)))  # (N, D)


class MultiAttn(nn.Module):
    """Correlation-aware fusion: every modality attends, layer after layer, to each other modality.

    With modalities (text, audio, visual) this is MultiEMO's MultiAttn: text attends to audio then
    visual, audio to text then visual, visual to text then audio. Queries are updated layer by layer;
    keys and values are always the (unfused) inputs of the other modalities. With a single modality
    there is nothing to attend to: fusion is the identity and the module has no parameters.
    Position-wise work runs on the real utterances only (``x[mask]``), never on padding.

    Args:
        modalities: modality names, in config order.
        model_dim: D.
        num_heads: attention heads; divides ``model_dim``.
        hidden_dim: feed-forward width.
        num_layers: layers per modality.
        dropout: dropout probability.
        checkpoint: in training, keep only each layer's input and recompute its activations in the
            backward pass (:func:`torch.utils.checkpoint.checkpoint`, random state preserved): less
            memory for one more forward pass of the fusion, same results.
        fast: attention by length blocks (see :func:`attend_by_length`), the same results as the plain
            attention at less cost when dialogue lengths differ.
    """

    def __init__(
        self,
        *,
        modalities: Sequence[str],
        model_dim: int,
        num_heads: int,
        hidden_dim: int,
        num_layers: int,
        dropout: float = 0.0,
        checkpoint: bool = False,
        fast: bool = True,
    ) -> None:
        super().__init__()
        self.modalities, self.checkpoint = tuple(modalities), checkpoint
        others = len(self.modalities) - 1
        sizes = {"model_dim": model_dim, "num_heads": num_heads, "hidden_dim": hidden_dim, "dropout": dropout,
                 "fast": fast}
        self.layers = nn.ModuleDict({
            m: nn.ModuleList(MultiAttnLayer(num_others=others, **sizes) for _ in range(num_layers))
            for m in (self.modalities if others else ())
        })

    def forward(self, inputs: Mapping[str, Tensor], mask: Tensor) -> dict[str, Tensor]:
        """Fuse the modalities.

        Args:
            inputs: modality -> (B, T, D), every modality of the constructor.
            mask: (B, T) bool, True = real utterance; padded utterances are never attended to.

        Returns:
            modality -> (B, T, D) fused representation; zeros at padded positions.
        """
        if len(self.modalities) == 1:
            return {m: inputs[m] for m in self.modalities}
        tokens = {m: inputs[m][mask] for m in self.modalities}  # m -> (N, D), real utterances only
        fused = {}
        for m in self.modalities:
            others = [tokens[o] for o in self.modalities if o != m]
            x = tokens[m]
            for layer in self.layers[m]:
                if self.checkpoint and torch.is_grad_enabled():
                    x = checkpoint(layer, x, others, mask, use_reentrant=False)  # (N, D)
                else:
                    x = layer(x, others, mask)  # (N, D)
            fused[m] = scatter_tokens(x, mask)  # (B, T, D)
        return fused

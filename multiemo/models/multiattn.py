"""MultiAttn: multimodal fusion by stacked multi-head cross-attention between modalities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from multiemo.models.dropout import Dropout
from multiemo.models.precision import autocast_dtype
from multiemo.models.token_layout import TokenLayout


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class CrossAttention(nn.Module):
    """Multi-head attention with queries from one sequence and keys/values from another.

    Args:
        model_dim: D, size of queries, keys, values and output.
        num_heads: H; must divide ``model_dim``.
    """

    def __init__(self, *, model_dim: int, num_heads: int) -> None:
        super().__init__()
        _check_positive("model_dim", model_dim)
        _check_positive("num_heads", num_heads)
        if model_dim % num_heads:
            raise ValueError(f"model_dim ({model_dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.query = nn.Linear(model_dim, model_dim)
        self.key_value = nn.Linear(model_dim, 2 * model_dim)
        self.out = nn.Linear(model_dim, model_dim)

    def forward(self, x: Tensor, context: Tensor, layout: TokenLayout) -> Tensor:
        """Attend from each utterance of ``x`` to the real utterances of ``context`` in its dialogue.

        Args:
            x: (N, D) query tokens (real utterances only, see :class:`TokenLayout`).
            context: (N, D) key/value tokens.
            layout: where the N tokens sit; attention runs block by block, with each block's key
                padding mask, so padded utterances are never attended to and no row is all-masked.

        Returns:
            (N, D).
        """
        heads = self.num_heads
        queries, keys_values = self.query(x), self.key_value(context)  # (N, D), (N, 2D)
        precision = nullcontext()
        if x.device.type == "cpu" and autocast_dtype("cpu") is not None:
            # Mixed precision: the attention itself runs in float32 on a CPU, where the bfloat16
            # flash-attention backward is 2.6x slower than the float32 one (BENCHMARKS.md).
            queries, keys_values = queries.float(), keys_values.float()
            precision = torch.autocast("cpu", enabled=False)
        outputs = []
        with precision:
            # split, not slicing per block: backward is then one concatenation
            q_blocks, kv_blocks = queries.split(layout.block_sizes), keys_values.split(layout.block_sizes)
            for block, q, kv in zip(layout.blocks, q_blocks, kv_blocks, strict=True):
                n, steps = block.dialogues, block.steps
                q = block.unpack(q).view(n, steps, heads, -1).transpose(1, 2)  # (n, H, S, D/H)
                k, v = block.unpack(kv).view(n, steps, 2 * heads, -1).transpose(1, 2).chunk(2, dim=1)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=block.attend)  # (n, H, S, D/H)
                outputs.append(block.pack(y.transpose(1, 2)))  # (tokens, D)
        return self.out(torch.cat(outputs))  # (N, D)


class MultiAttnLayer(nn.Module):
    """One fusion layer for one modality: a cross-attention sublayer per other modality, then a
    feed-forward sublayer; each sublayer is followed by dropout, a residual add and LayerNorm.

    Args:
        model_dim: D.
        num_heads: attention heads.
        hidden_dim: feed-forward width.
        num_others: number of other modalities attended to, in order.
        dropout: dropout on each sublayer output and inside the feed-forward block.
    """

    def __init__(
        self, *, model_dim: int, num_heads: int, hidden_dim: int, num_others: int, dropout: float
    ) -> None:
        super().__init__()
        _check_positive("hidden_dim", hidden_dim)
        _check_positive("num_others", num_others)
        self.attentions = nn.ModuleList(
            CrossAttention(model_dim=model_dim, num_heads=num_heads) for _ in range(num_others)
        )
        self.attention_norms = nn.ModuleList(nn.LayerNorm(model_dim) for _ in range(num_others))
        self.feed_forward = nn.Sequential(
            nn.Linear(model_dim, hidden_dim), nn.ReLU(), Dropout(dropout), nn.Linear(hidden_dim, model_dim)
        )
        self.feed_forward_norm = nn.LayerNorm(model_dim)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor, others: Sequence[Tensor], layout: TokenLayout) -> Tensor:
        """Args: x: (N, D) query tokens; others: one (N, D) token tensor per other modality;
        layout: token positions and attention blocks. Returns (N, D)."""
        for attention, norm, context in zip(self.attentions, self.attention_norms, others, strict=True):
            x = norm(x + self.dropout(attention(x, context, layout)))  # (N, D)
        return self.feed_forward_norm(x + self.dropout(self.feed_forward(x)))  # (N, D)


class MultiAttn(nn.Module):
    """Correlation-aware fusion: every modality attends, layer after layer, to each other modality.

    With modalities (text, audio, visual) this is MultiEMO's MultiAttn: text attends to audio then
    visual, audio to text then visual, visual to text then audio. In general each layer of modality m
    has one cross-attention sublayer per other modality, in config order. Queries are updated layer by
    layer; keys and values are always the (unfused) inputs of the other modalities. With a single
    modality there is nothing to attend to, so fusion is the identity and the module has no parameters.

    With ``checkpoint`` set, training keeps only each layer's input and recomputes the layer's activations
    during the backward pass (:func:`torch.utils.checkpoint.checkpoint`, random state preserved, so
    dropout masks and gradients are unchanged). With the paper's IEMOCAP setting (6 layers x 3 modalities,
    ~3,000 utterances per batch) the fusion's saved activations shrink from 2.3 GB to under 0.1 GB, for
    one extra forward pass of the fusion.

    Args:
        modalities: modality names, in config order.
        model_dim: D.
        num_heads: attention heads; must divide ``model_dim``.
        hidden_dim: feed-forward width.
        num_layers: layers per modality.
        dropout: dropout probability.
        checkpoint: recompute layer activations in the backward pass instead of keeping them (a
            plain attribute: it changes memory and time, never results).
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
    ) -> None:
        super().__init__()
        self.checkpoint = checkpoint
        if not modalities or len(set(modalities)) != len(modalities):
            raise ValueError(f"modalities must be non-empty and distinct, got {tuple(modalities)!r}")
        _check_positive("num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        self.modalities = tuple(modalities)
        num_others = len(self.modalities) - 1
        self.layers = nn.ModuleDict()
        if num_others:
            for m in self.modalities:
                self.layers[m] = nn.ModuleList(
                    MultiAttnLayer(
                        model_dim=model_dim,
                        num_heads=num_heads,
                        hidden_dim=hidden_dim,
                        num_others=num_others,
                        dropout=dropout,
                    )
                    for _ in range(num_layers)
                )

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
        # Built once from the mask and shared by every layer: the positions of the real utterances,
        # on which all position-wise work runs, and the blocks (with key masks) attention runs on.
        layout = TokenLayout.from_mask(mask)
        tokens = {m: layout.pack(inputs[m]) for m in self.modalities}  # m -> (N, D)
        fused = {}
        for m in self.modalities:
            others = [tokens[o] for o in self.modalities if o != m]
            x = tokens[m]
            for layer in self.layers[m]:
                if self.checkpoint and torch.is_grad_enabled():
                    x = checkpoint(layer, x, others, layout, use_reentrant=False)  # (N, D)
                else:
                    x = layer(x, others, layout)  # (N, D)
            fused[m] = layout.unpack(x)  # (B, T, D)
        return fused

"""MultiEMO: projection, DialogueRNN context, MultiAttn fusion and classification of utterances."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from multiemo.models.config import ModelConfig
from multiemo.models.dialogue_rnn import DialogueRNN
from multiemo.models.dropout import Dropout
from multiemo.models.masks import dialogue_lengths
from multiemo.models.modality_dropout import drop_modalities
from multiemo.models.multiattn import MultiAttn
from multiemo.models.precision import compute_dtype


@dataclass
class MultiEMOOutput:
    """What :meth:`MultiEMO.forward` returns.

    Attributes:
        logits: (B, T, C) class scores per utterance.
        fused: (B, T, model_dim) output of the fusion Linear ("fc"), used by the SWFC contrastive loss.
        modality: modality -> (B, T, model_dim) per-modality MultiAttn outputs (the context outputs when
            fusion is off), used by the Soft-HGR loss.
    """

    logits: Tensor
    fused: Tensor
    modality: dict[str, Tensor]


class MultiEMO(nn.Module):
    """Multimodal emotion recognition in conversations (Shi & Huang, ACL 2023).

    Per modality: Linear(input_dim -> model_dim), where that modality is missing the result is
    replaced by a learned per-modality "missing" vector; then, for ``config.context_modalities``, a
    :class:`DialogueRNN` (one module holding an encoder per context modality). :class:`MultiAttn` fuses the modalities (optional); the per-modality outputs
    are concatenated in ``config.modalities`` order, mapped to model_dim by "fc", and classified by a
    2-layer MLP. Everything is vectorised over the batch; the only Python loops run over time steps
    (DialogueRNN), layers and modalities.

    The plain attribute ``precision`` ("fp32", the default, or "bf16") sets how the forward pass computes
    (see :mod:`multiemo.models.precision`); "fc", the classifier and the outputs are float32 either way.
    It is not part of the weights: the trainer sets it from ``train.precision``, and
    :func:`~multiemo.training.checkpoint.load_run_model` from the run's settings.

    Args:
        config: architecture.
        input_dims: feature size per modality, read from the feature files; must cover every modality
            in ``config.modalities`` (extra entries are ignored).
        num_classes: C, number of emotion classes.
        num_parties: number of distinct party (speaker) indices within a dialogue.
    """

    def __init__(
        self, *, config: ModelConfig, input_dims: Mapping[str, int], num_classes: int, num_parties: int
    ) -> None:
        super().__init__()
        if not isinstance(config, ModelConfig):
            raise TypeError(f"config must be a ModelConfig, got {type(config).__name__}")
        for m in config.modalities:
            if m not in input_dims:
                raise ValueError(f"input_dims has no entry for modality {m!r}; it has {sorted(input_dims)}")
            dim = input_dims[m]
            if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
                raise ValueError(f"input_dims[{m!r}] must be a positive integer, got {dim!r}")
        for name, value in (("num_classes", num_classes), ("num_parties", num_parties)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.config = config
        self.precision = "fp32"
        self.input_dims = {m: input_dims[m] for m in config.modalities}
        d = config.model_dim
        self.projections = nn.ModuleDict({m: nn.Linear(self.input_dims[m], d) for m in config.modalities})
        self.missing = nn.ParameterDict({m: nn.Parameter(0.02 * torch.randn(d)) for m in config.modalities})
        # Per-feature standardisation of the raw inputs (identity until set_input_statistics is called);
        # buffers, so a checkpoint carries the training statistics to evaluation and prediction.
        for m in config.modalities:
            self.register_buffer(f"input_mean_{m}", torch.zeros(self.input_dims[m]))
            self.register_buffer(f"input_std_{m}", torch.ones(self.input_dims[m]))
        # One module runs every context modality's DialogueRNN in lock-step (see DialogueRNN).
        self.context = (
            DialogueRNN(
                model_dim=d,
                num_parties=num_parties,
                num_encoders=len(config.context_modalities),
                bidirectional=config.bidirectional,
                listener_state=config.listener_state,
                dropout=config.rnn_dropout,
            )
            if config.context_modalities
            else None
        )
        self.fusion = (
            MultiAttn(
                modalities=config.modalities,
                model_dim=d,
                num_heads=config.num_heads,
                hidden_dim=config.hidden_dim,
                num_layers=config.num_layers,
                dropout=config.dropout,
            )
            if config.fusion
            else None
        )
        self.fc = nn.Linear(len(config.modalities) * d, d)
        self.classifier = nn.Sequential(
            nn.Linear(d, config.classifier_hidden),
            nn.ReLU(),
            Dropout(config.dropout),
            nn.Linear(config.classifier_hidden, num_classes),
        )

    def set_input_statistics(self, mean: Mapping[str, Tensor], std: Mapping[str, Tensor]) -> None:
        """Standardise each modality's raw features as (x - mean) / std from now on.

        Args:
            mean: modality -> (D_m,) per-feature mean over the training utterances.
            std: modality -> (D_m,) per-feature standard deviation; values below 1e-6 are treated as 1
                (constant features carry no information and must not be blown up).
        """
        for m in self.config.modalities:
            if m not in mean or m not in std:
                continue
            dim = self.input_dims[m]
            mu, sigma = torch.as_tensor(mean[m]).float(), torch.as_tensor(std[m]).float()
            if mu.shape != (dim,) or sigma.shape != (dim,):
                raise ValueError(f"statistics for {m!r} must have shape ({dim},), got {tuple(mu.shape)}")
            getattr(self, f"input_mean_{m}").copy_(mu)
            getattr(self, f"input_std_{m}").copy_(torch.where(sigma < 1e-6, torch.ones_like(sigma), sigma))

    def forward(
        self,
        features: Mapping[str, Tensor],
        party: Tensor,
        mask: Tensor,
        present: Mapping[str, Tensor] | None = None,
    ) -> MultiEMOOutput:
        """Classify every utterance of a batch of padded dialogues.

        Args:
            features: modality -> (B, T, D_m) float features; values at padded or missing positions are
                never used.
            party: (B, T) long speaker party index within the dialogue; any value at padded positions.
            mask: (B, T) bool, True = real utterance; padding only at the end of each row.
            present: optional modality -> (B, T) bool, False where that modality is missing for that
                utterance; a modality without an entry is present everywhere.

        Returns:
            :class:`MultiEMOOutput`, float32; values at padded positions are meaningless.
        """
        self._check_inputs(features, party, mask, present)
        modalities = self.config.modalities
        present = present or {}
        available = torch.stack([present.get(m, mask) for m in modalities], dim=-1)  # (B, T, M)
        if self.training and self.config.modality_dropout > 0:
            available = drop_modalities(available, self.config.modality_dropout)

        dtype = compute_dtype(self.precision)
        with torch.autocast(mask.device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            encoded = {}
            for i, m in enumerate(modalities):
                keep = available[..., i, None]  # (B, T, 1)
                # Zero the raw features first so NaN/inf placeholders at missing or padded positions cannot
                # leak into the projection's weight gradient.
                x = (features[m] - getattr(self, f"input_mean_{m}")) / getattr(self, f"input_std_{m}")
                x = torch.where(keep & mask[..., None], x, 0.0)  # (B, T, D_m)
                encoded[m] = torch.where(keep, self.projections[m](x), self.missing[m])  # (B, T, D)
            if self.context is not None:
                context_modalities = self.config.context_modalities
                contextual = self.context(torch.stack([encoded[m] for m in context_modalities]), party, mask)
                encoded.update(zip(context_modalities, contextual.unbind(0)))  # m -> (B, T, D)
            modality = self.fusion(encoded, mask) if self.fusion is not None else encoded
        if dtype is not None:  # the head is small and its outputs feed the losses: float32 throughout
            modality = {m: modality[m].float() for m in modalities}
        fused = self.fc(torch.cat([modality[m] for m in modalities], dim=-1))  # (B, T, D)
        return MultiEMOOutput(logits=self.classifier(fused), fused=fused, modality=modality)

    def _check_inputs(
        self,
        features: Mapping[str, Tensor],
        party: Tensor,
        mask: Tensor,
        present: Mapping[str, Tensor] | None,
    ) -> None:
        dialogue_lengths(mask)  # checks the mask convention even when no module below needs lengths
        shape = tuple(mask.shape)
        if tuple(party.shape) != shape or party.dtype != torch.long:
            raise ValueError(f"party must be a {shape} long tensor, got {party.dtype} {tuple(party.shape)}")
        for m, dim in self.input_dims.items():
            if m not in features:
                raise ValueError(f"features has no modality {m!r}; it has {sorted(features)}")
            if tuple(features[m].shape) != (*shape, dim):
                raise ValueError(
                    f"features[{m!r}] must have shape {(*shape, dim)}, got {tuple(features[m].shape)}"
                )
            if present is not None and m in present:
                p = present[m]
                if p.dtype != torch.bool or tuple(p.shape) != shape:
                    raise ValueError(
                        f"present[{m!r}] must be a {shape} bool tensor, got {p.dtype} {tuple(p.shape)}"
                    )

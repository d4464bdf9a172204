"""MultiEMO: projection, DialogueRNN context, MultiAttn fusion and classification of utterances."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from multiemo.models.config import ModelConfig
from multiemo.models.dialogue_rnn import DialogueRNN, dialogue_lengths
from multiemo.models.dropout import Dropout
from multiemo.models.modality_dropout import drop_modalities
from multiemo.models.multiattn import MultiAttn


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

    def float(self) -> MultiEMOOutput:
        """The outputs in float32 (e.g. for the losses after a forward pass under autocast)."""
        modality = {m: x.float() for m, x in self.modality.items()}
        return MultiEMOOutput(self.logits.float(), self.fused.float(), modality)


class MultiEMO(nn.Module):
    """Multimodal emotion recognition in conversations (Shi & Huang, ACL 2023).

    Per modality: standardisation of the raw features, Linear(input_dim -> model_dim), and where that
    modality is missing a learned per-modality "missing" vector instead; then, for
    ``config.context_modalities``, a :class:`DialogueRNN` (one module holding an encoder per context
    modality). :class:`MultiAttn` fuses the modalities (optional); the per-modality outputs are
    concatenated in ``config.modalities`` order, mapped to model_dim by "fc", and classified by a
    2-layer MLP. Vectorised over the batch; Python loops run only over time steps, layers and modalities.

    Args:
        config: architecture (validated when it was built).
        input_dims: feature size per modality, read from the feature files; covers every modality in
            ``config.modalities`` (extra entries are ignored).
        num_classes: C, number of emotion classes.
        num_parties: number of distinct party (speaker) indices within a dialogue.
        checkpoint_fusion: recompute the fusion's activations in the backward pass (see
            :class:`MultiAttn`): changes memory and time, never results, so it is not part of ``config``.
    """

    def __init__(
        self,
        *,
        config: ModelConfig,
        input_dims: Mapping[str, int],
        num_classes: int,
        num_parties: int,
        checkpoint_fusion: bool = False,
    ) -> None:
        super().__init__()
        self.config = config
        self.input_dims = {m: input_dims[m] for m in config.modalities}
        d = config.model_dim
        self.projections = nn.ModuleDict({m: nn.Linear(self.input_dims[m], d) for m in config.modalities})
        self.missing = nn.ParameterDict({m: nn.Parameter(0.02 * torch.randn(d)) for m in config.modalities})
        # Per-feature standardisation of the raw inputs (identity until set_input_statistics is called);
        # buffers, so a checkpoint carries the training statistics to evaluation and prediction.
        for m in config.modalities:
            self.register_buffer(f"input_mean_{m}", torch.zeros(self.input_dims[m]))
            self.register_buffer(f"input_std_{m}", torch.ones(self.input_dims[m]))
        self.context = DialogueRNN(
            model_dim=d,
            num_parties=num_parties,
            num_encoders=len(config.context_modalities),
            bidirectional=config.bidirectional,
            listener_state=config.listener_state,
            dropout=config.rnn_dropout,
        ) if config.context_modalities else None
        self.fusion = MultiAttn(
            modalities=config.modalities,
            model_dim=d,
            num_heads=config.num_heads,
            hidden_dim=config.hidden_dim,
            num_layers=config.num_layers,
            dropout=config.dropout,
            checkpoint=checkpoint_fusion,
        ) if config.fusion else None
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
            if m in mean and m in std:
                sigma = torch.as_tensor(std[m]).float()
                getattr(self, f"input_mean_{m}").copy_(torch.as_tensor(mean[m]))
                getattr(self, f"input_std_{m}").copy_(torch.where(sigma < 1e-6, 1.0, sigma))

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
            :class:`MultiEMOOutput`; values at padded positions are meaningless.
        """
        dialogue_lengths(mask)  # checks the mask convention even when no module below needs lengths
        modalities, present = self.config.modalities, present or {}
        for m in modalities:
            expected = (*mask.shape, self.input_dims[m])
            if m not in features or features[m].shape != expected:
                got = tuple(features[m].shape) if m in features else None
                raise ValueError(f"features[{m!r}] must have shape {expected}, got {got}")
            if m in present and (present[m].dtype != torch.bool or present[m].shape != mask.shape):
                raise ValueError(f"present[{m!r}] must be a {tuple(mask.shape)} bool tensor")
        available = torch.stack([present.get(m, mask) for m in modalities], dim=-1)  # (B, T, M)
        if self.training and self.config.modality_dropout > 0:
            available = drop_modalities(available, self.config.modality_dropout)

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
        fused = self.fc(torch.cat([modality[m] for m in modalities], dim=-1))  # (B, T, D)
        return MultiEMOOutput(logits=self.classifier(fused), fused=fused, modality=modality)

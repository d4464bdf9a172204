"""Hyper-parameters of the MultiEMO model, validated once when the config is built."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of :class:`~multiemo.models.MultiEMO`.

    Dataset differences (MELD vs IEMOCAP) are expressed only through these values, never through
    dataset names in the model code.

    Attributes:
        modalities: Modality names; their order fixes the order of the fused concatenation and of the
            "other" modalities each modality attends to inside MultiAttn.
        model_dim: Width of every hidden representation (projections, DialogueRNN states, attention).
        num_heads: Attention heads in MultiAttn; must divide ``model_dim``.
        hidden_dim: Width of the position-wise feed-forward block inside MultiAttn.
        num_layers: MultiAttn layers per modality.
        dropout: Dropout inside MultiAttn and the classifier.
        context_modalities: Modalities that get a DialogueRNN context encoder; a subset of ``modalities``.
        bidirectional: Run each DialogueRNN in both directions.
        listener_state: DialogueRNN also updates the party states of listeners.
        rnn_dropout: Dropout on DialogueRNN outputs.
        fusion: Use MultiAttn; when False the context outputs go straight to the concatenation.
        classifier_hidden: Hidden width of the 2-layer classifier.
        modality_dropout: Training-only probability of marking each (utterance, modality) as missing.
    """

    modalities: tuple[str, ...] = ("text", "audio", "visual")
    model_dim: int = 256
    num_heads: int = 4
    hidden_dim: int = 1024
    num_layers: int = 2
    dropout: float = 0.1
    context_modalities: tuple[str, ...] = ("audio", "visual")
    bidirectional: bool = False
    listener_state: bool = False
    rnn_dropout: float = 0.1
    fusion: bool = True
    classifier_hidden: int = 256
    modality_dropout: float = 0.0

    def __post_init__(self) -> None:
        # YAML gives lists; freeze them so the config stays hashable and immutable.
        for name in ("modalities", "context_modalities"):
            value = getattr(self, name)
            # Names become nn.ModuleDict keys, which cannot contain dots.
            if isinstance(value, str) or not all(isinstance(m, str) and m and "." not in m for m in value):
                raise ValueError(f"{name} must be a sequence of non-empty names without dots, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        if not self.modalities:
            raise ValueError("modalities must name at least one modality, got ()")
        if len(set(self.modalities)) != len(self.modalities):
            raise ValueError(f"modalities must not repeat, got {self.modalities!r}")
        unknown = [m for m in self.context_modalities if m not in self.modalities]
        if unknown:
            raise ValueError(f"context_modalities {unknown!r} are not in modalities {self.modalities!r}")
        if len(set(self.context_modalities)) != len(self.context_modalities):
            raise ValueError(f"context_modalities must not repeat, got {self.context_modalities!r}")
        for name in ("model_dim", "num_heads", "hidden_dim", "num_layers", "classifier_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.model_dim % self.num_heads:
            raise ValueError(
                f"model_dim ({self.model_dim}) must be divisible by num_heads ({self.num_heads})"
            )
        for name in ("dropout", "rnn_dropout", "modality_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")
        for name in ("bidirectional", "listener_state", "fusion"):
            value = getattr(self, name)
            if type(value) is not bool:  # YAML strings like "false" must not pass as True
                raise ValueError(f"{name} must be true or false, got {value!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelConfig:
        """Build a config from a mapping (e.g. the ``model`` section of config.yaml).

        Raises:
            ValueError: if ``d`` has keys that are not fields, or any value is invalid.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}; known keys are {sorted(known)}")
        return cls(**d)

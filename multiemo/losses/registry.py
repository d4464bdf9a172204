"""The training losses by name: how each is built from the train settings, applied, and weighed by default.

The objective is ``sum(train.losses[name] * loss)``. Adding a loss is one file holding its ``nn.Module``
with a ``build`` and an ``apply`` function, plus one :func:`register_loss` call (here, or in a plugin module
listed under ``plugins:``); ``train.losses: {name: weight}`` then turns it on, and the config schema
accepts its name. Entries name their code as ``"module:attribute"`` so that reading the table (the
settings, the workflow's schema) imports no torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from multiemo.registry import Registry
from multiemo.settings import ConfigError, resolve


@dataclass(frozen=True)
class Loss:
    """One loss of the objective.

    Attributes:
        name: its key in ``train.losses``.
        build: ``"module:function"`` or ``build(train settings, class_counts (C,) float) -> loss module``.
        apply: ``"module:function"`` or ``apply(loss module, model output, keep (B, T) bool, labels (N,))
            -> scalar loss`` over the N kept utterances (real and labelled).
        weight: its weight when ``train.losses`` does not name it (0: off unless named).
        description: one line for the config schema.
        always: computed and logged even when its weight is 0.
    """

    name: str
    build: str | Callable[[Any, Any], Any]
    apply: str | Callable[..., Any]
    weight: float = 0.0
    description: str = ""
    always: bool = False

    def make(self, train: Any, class_counts: Any) -> Any:
        """The loss module for these train settings and training-split class counts."""
        return resolve(self.build)(train, class_counts)

    def applier(self) -> Callable[..., Any]:
        """The ``apply`` function, imported."""
        return resolve(self.apply)


#: The losses by name, in the order the objective adds them (:class:`multiemo.registry.Registry`).
LOSSES: Registry[Loss] = Registry("loss", setting="train.losses")


def register_loss(loss: Loss, *, replace: bool = False) -> Loss:
    """Add ``loss`` under its name (``replace=True`` swaps an existing entry of the same name)."""
    return LOSSES.register(loss.name, loss, replace=replace)


def unregister_loss(name: str) -> None:
    """Remove a loss's entry (tests register toy losses and take them away again)."""
    LOSSES.unregister(name)


def default_weights() -> dict[str, float]:
    """The weight of every registered loss that is on by default (a nonzero ``weight``), in registry order."""
    return {name: float(entry.weight) for name, entry in LOSSES.items() if entry.weight}


def loss_weights(given: Mapping[str, Any]) -> dict[str, float]:
    """``given`` over :func:`default_weights`, each weight checked: a registered loss, a finite number >= 0,
    and at least one weight positive.

    Raises:
        ConfigError: naming ``train.losses.<name>`` and the bad value, or the unknown name and the known ones.
    """
    if not isinstance(given, Mapping):
        raise ConfigError(f"train.losses must map loss names to weights, e.g. {{ce: 1.0}}; got {given!r}")
    weights = default_weights()
    for name, value in given.items():
        LOSSES[name]  # an unknown name: one message naming the known ones
        try:
            weight = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            weight = math.nan
        if not math.isfinite(weight) or weight < 0:
            raise ConfigError(f"train.losses.{name} must be a finite number >= 0, got {value!r}")
        weights[name] = weight
    if not any(w > 0 for w in weights.values()):
        raise ConfigError(f"train.losses: at least one weight must be positive, got {weights}")
    return weights


for _entry in (
    Loss("ce", "multiemo.losses.cross_entropy:build", "multiemo.losses.cross_entropy:apply", weight=0.4,
         description="weight of cross-entropy", always=True),
    Loss("swfc", "multiemo.losses.swfc:build", "multiemo.losses.swfc:apply", weight=0.3,
         description="weight of the SWFC contrastive loss"),
    Loss("hgr", "multiemo.losses.softhgr:build", "multiemo.losses.softhgr:apply", weight=0.3,
         description="weight of the Soft-HGR correlation loss"),
):
    register_loss(_entry)

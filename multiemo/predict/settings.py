"""The extraction settings of a training run, read back from its features' provenance.

Prediction must make features exactly as training did. The settings come from the provenance that each
extractor recorded in the feature store (``store.json``), which a run copies into its ``provenance.json``
and an exported model into its ``config.json``; a user override may only change settings
that do not change the features (each extractor's ``runtime_keys`` in :mod:`multiemo.features.registry`,
e.g. ``batch_size``). Any other override that differs from the recorded value,
and any difference between the recorded provenance and what the rebuilt extractor reports (e.g. another
feature dimension), is an error naming the setting. Library versions may differ: that is only logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from multiemo.errors import InputError
from multiemo.features.registry import extractor
from multiemo.features.registry import modalities as registered_modalities
from multiemo.settings import ConfigError

log = logging.getLogger(__name__)


class ProvenanceMismatch(InputError):
    """Prediction would make features differently from training."""


class FeaturesOnly(ProvenanceMismatch):
    """The features record no extractor settings (imported ones): the model predicts from features only."""


@dataclass(frozen=True)
class ExtractionPlan:
    """Per modality the extractor settings to use, and the provenance they must reproduce.

    Attributes:
        store: the file the settings were read from (store.json, provenance.json or config.json).
        settings: modality -> extractor keyword settings (recorded values plus allowed runtime overrides).
        recorded: modality -> provenance recorded in the store.
        local: modality -> {setting: value} an exported model puts in place of the recorded one: the path
            of its copy of a recorded file (a fine-tuned encoder, backbone weights), which the extractor then
            reports, or a pinned hub revision.
    """

    store: str
    settings: dict[str, dict]
    recorded: dict[str, dict]
    local: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def from_store(
        cls, store: str | Path, modalities: tuple[str, ...], overrides: Mapping[str, Mapping] | None = None
    ) -> ExtractionPlan:
        """Read ``store.json`` and apply ``overrides`` (modality -> {setting: value}); for runs that predate
        their own record of it (:meth:`from_recorded`).

        Raises:
            FileNotFoundError: the store (or its store.json) is gone.
            ProvenanceMismatch, ValueError: as :meth:`from_recorded`.
        """
        meta_path = Path(store) / "store.json"
        if not meta_path.is_file():
            raise FileNotFoundError(
                f"{meta_path} not found: the run's feature store records how its features were made, and "
                "prediction needs it; keep the store beside the run or retrain"
            )
        modalities_meta = json.loads(meta_path.read_text(encoding="utf-8"))["modalities"]
        recorded = {m: modalities_meta.get(m, {}).get("provenance") or {} for m in modalities}
        return cls.from_recorded(recorded, modalities, overrides, source=str(meta_path))

    @classmethod
    def from_recorded(
        cls,
        recorded: Mapping[str, Mapping],
        modalities: tuple[str, ...],
        overrides: Mapping[str, Mapping] | None = None,
        *,
        source: str,
        local: Mapping[str, Mapping[str, str]] | None = None,
    ) -> ExtractionPlan:
        """The plan from each modality's recorded extractor provenance (as a run's provenance.json or an
        exported model's config.json carries it), with ``overrides`` applied; ``source`` names that file;
        ``local`` gives the copies of recorded files to read instead (:attr:`local`).

        Raises:
            FeaturesOnly: a modality records no extractor settings (e.g. imported features).
            ProvenanceMismatch: an override changes a recorded setting.
            ValueError: an override names an unknown modality or setting.
        """
        plan_recorded, settings = {}, {}
        for modality in modalities:
            provenance = dict(recorded.get(modality) or {})
            spec = extractor(modality)  # ValueError naming the registered modalities
            if spec.unrecorded(provenance):
                raise FeaturesOnly(
                    f"{source}: the {modality} features record no extractor settings (provenance "
                    f"{sorted(provenance) or 'empty'}), e.g. imported from pickles; prediction can only "
                    "reproduce features this toolkit extracted: use predict_features with features made "
                    "as in training"
                )
            plan_recorded[modality] = provenance
            settings[modality] = {**spec.settings_from(provenance), **(local or {}).get(modality, {})}
        for modality, values in (overrides or {}).items():
            if modality not in registered_modalities():
                raise ConfigError(
                    f"unknown modality {modality!r} in overrides; use one of "
                    f"{sorted(registered_modalities())}"
                )
            if modality not in settings:
                log.warning("override for %s ignored: the run does not use %s", modality, modality)
                continue
            if not isinstance(values, Mapping):
                raise ConfigError(f"overrides for {modality} must map settings to values, got {values!r}")
            for key, value in dict(values).items():
                _apply_override(settings[modality], modality, key, value)
        return cls(store=source, settings=settings, recorded=plan_recorded,
                   local={m: dict(v) for m, v in (local or {}).items() if m in settings})

    def check(self, modality: str, produced: Mapping[str, Any]) -> None:
        """Compare the provenance a rebuilt extractor reports with the recorded one.

        Raises:
            ProvenanceMismatch: naming the first setting that differs.
        """
        spec = extractor(modality)
        recorded = {**self.recorded[modality], **self.local.get(modality, {})}
        versions = spec.versions(recorded)
        for key in sorted(set(recorded) | set(produced)):
            if key in spec.later_keys and key not in recorded:
                continue  # recorded before the setting existed
            if key in versions:
                if recorded.get(key) != produced.get(key):
                    log.info("%s.%s differs from training (%r vs %r); features are made the same way",
                             modality, key, recorded.get(key), produced.get(key))
                continue
            if recorded.get(key) != produced.get(key):
                raise ProvenanceMismatch(
                    f"{modality}.{key}: the run's features were made with {recorded.get(key)!r} (recorded in "
                    f"{self.store}), but prediction here would make them with {produced.get(key)!r}; "
                    "install what the run was trained with or retrain"
                )


def _apply_override(settings: dict, modality: str, key: str, value: Any) -> None:
    runtime = extractor(modality).runtime_keys
    if key in runtime:
        settings[key] = value
        return
    if key not in settings:
        known = sorted(set(settings) | runtime)
        raise ConfigError(f"unknown {modality} setting {key!r}; known: {known}")
    if isinstance(settings[key], dict) and isinstance(value, Mapping):
        for inner, inner_value in value.items():
            if settings[key].get(inner) != inner_value:
                raise ProvenanceMismatch(_override_message(f"{modality}.{key}.{inner}",
                                                           settings[key].get(inner), inner_value))
        return
    if settings[key] != value:
        raise ProvenanceMismatch(_override_message(f"{modality}.{key}", settings[key], value))


def _override_message(name: str, recorded: Any, wanted: Any) -> str:
    return (
        f"{name}: the run was trained on features made with {recorded!r}, the override asks for {wanted!r}; "
        "predictions are only consistent with training when features are made the same way (only "
        "speed settings such as batch_size may change). Drop the override, or extract and train a new run "
        "with it"
    )

"""Training settings and the resolution of config.yaml presets plus command-line overrides."""

from __future__ import annotations

import copy
import dataclasses
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration file or override is invalid."""


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and loss settings. Defaults are the paper's MELD settings."""

    epochs: int = 15
    batch_size: int = 100  # dialogues per batch
    lr: float = 1e-4
    weight_decay: float = 1e-5
    lr_factor: float = 0.95  # ReduceLROnPlateau on validation loss
    lr_patience: int = 10
    ce_weight: float = 0.4
    swfc_weight: float = 0.3
    hgr_weight: float = 0.3
    swfc_temperature: float = 1.4
    swfc_focus: float = 2.0
    swfc_sample_weight_power: float = 1.2
    hgr_covariance: str = "feature"  # "feature" (correct Soft-HGR) or "legacy" (the original code's)
    class_weighted_ce: bool = False
    standardize: bool = True  # z-score each input feature with training-split statistics
    grad_clip: float = 0.0  # max gradient norm; 0 disables clipping
    seed: int = 1
    device: str = "auto"  # "auto" (CUDA when available), "cpu", "cuda", "cuda:1", ...
    num_threads: int = 0  # torch CPU threads; 0 keeps torch's default
    checkpoint_fusion: bool = False  # recompute MultiAttn activations in backward: less memory, same results
    precision: str = "fp32"  # "fp32"; "bf16": bfloat16 products, float32 state; "auto": bf16 where native

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        for name in ("lr", "swfc_temperature"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"train.{name} must be positive, got {getattr(self, name)}")
        for name in ("weight_decay", "ce_weight", "swfc_weight", "hgr_weight", "swfc_focus", "grad_clip"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name} must not be negative, got {getattr(self, name)}")
        if self.ce_weight + self.swfc_weight + self.hgr_weight <= 0:
            raise ConfigError("train: at least one of ce_weight, swfc_weight, hgr_weight must be positive")
        if not 0 < self.lr_factor < 1:
            raise ConfigError(f"train.lr_factor must be in (0, 1), got {self.lr_factor}")
        if self.precision not in ("fp32", "bf16", "auto"):
            raise ConfigError(f"train.precision must be 'fp32', 'bf16' or 'auto', got {self.precision!r}")
        if self.hgr_covariance not in ("feature", "legacy"):
            raise ConfigError(f"train.hgr_covariance must be 'feature' or 'legacy', got {self.hgr_covariance!r}")


def from_mapping(cls: type, values: Mapping[str, Any], *, section: str):
    """Build a config dataclass from a mapping, rejecting unknown keys and coercing types.

    YAML and command-line strings are coerced to each field's annotated type, so ``"false"`` is
    ``False``, ``"1e-4"`` is ``0.0001`` and a list becomes a tuple.
    """
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown {section} setting(s) {unknown}; known: {sorted(known)}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: _coerce(hints[name], value, f"{section}.{name}") for name, value in values.items()}
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{section}: {err}") from err


def _coerce(hint: Any, value: Any, name: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _coerce(options[0], value, name)
    if origin is tuple:
        items = [value] if isinstance(value, str) else list(value)
        (inner, *_rest) = typing.get_args(hint) or (str,)
        return tuple(_coerce(inner, item, name) for item in items)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
            return value.lower() in ("true", "yes", "1", "on")
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    if hint in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
        if hint is int:
            if number != int(number):
                raise ConfigError(f"{name} must be a whole number, got {value!r}")
            return int(number)
        return number
    if hint is str:
        return str(value)
    return value


def load_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML config file with a clear error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    return data


def parse_overrides(overrides: Sequence[str]) -> dict:
    """Turn ``["train.epochs=3", "model.fusion=false"]`` into a nested mapping (values parsed as YAML)."""
    nested: dict = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"override {item!r} must look like section.key=value, e.g. train.epochs=3")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r} conflicts with another override")
        node[leaf] = value
    return nested


def deep_merge(base: Mapping, update: Mapping) -> dict:
    """Recursively merge ``update`` into a copy of ``base``."""
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve_run_settings(config: Mapping, dataset: str, overrides: Sequence[str] = ()) -> dict:
    """The ``{"model": {...}, "train": {...}}`` settings for one dataset.

    ``dataset`` names an entry of ``config["datasets"]`` (its ``preset`` is looked up in
    ``config["presets"]``, its own ``model``/``train`` keys override the preset, and its ``modalities``
    become the model's unless ``model.modalities`` is set) or directly a preset.
    Command-line ``overrides`` apply last.
    """
    presets = config.get("presets", {})
    datasets = config.get("datasets", {})
    if dataset in datasets:
        entry = datasets[dataset] or {}
        preset_name = entry.get("preset", dataset)
        if preset_name not in presets:
            raise ConfigError(f"dataset {dataset!r} uses preset {preset_name!r}, which config has not defined")
        settings = deep_merge(presets[preset_name], {k: entry[k] for k in ("model", "train") if k in entry})
        # A dataset that extracts only some modalities trains on those unless its model section says otherwise.
        if "modalities" in entry and "modalities" not in entry.get("model", {}):
            settings.setdefault("model", {})["modalities"] = list(entry["modalities"])
    elif dataset in presets:
        settings = copy.deepcopy(presets[dataset])
    else:
        raise ConfigError(
            f"unknown dataset {dataset!r}; config defines datasets {sorted(datasets)} and presets {sorted(presets)}"
        )
    settings = deep_merge(settings, parse_overrides(overrides))
    unknown = sorted(set(settings) - {"model", "train"})
    if unknown:
        raise ConfigError(f"unknown settings section(s) {unknown}; use model.* or train.*")
    return {"model": dict(settings.get("model", {})), "train": dict(settings.get("train", {}))}

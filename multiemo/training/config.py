"""Training settings and the resolution of presets, a config's dataset entries and command-line overrides.

The dataclasses are the one source of each default: the presets (``multiemo/presets/*.yaml``, shipped with
the package) state only what differs from them, and ``workflow/schemas/config.schema.yaml`` is held equal
to them by tests/workflow/test_settings.py.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import yaml

from multiemo.corpora.registry import dataset_modalities
from multiemo.models.config import ModelConfig
from multiemo.settings import ConfigError, deep_merge, from_mapping, parse_overrides

SELECTIONS = ("weighted_f1", "loss")


@dataclass(frozen=True)
class TrackingConfig:
    """Where each epoch's record goes besides ``history.jsonl`` (:mod:`multiemo.training.tracking`).

    Needs the ``tracking`` extra (``pip install 'multiemo[tracking]'``) when either is on. Where a run is
    tracked does not change what it computes, so these settings are not part of a run's identity.
    """

    mlflow: bool = False
    mlflow_uri: str | None = None  # tracking URI (sqlite:///path.db, http://server...); None: sqlite RUN/mlflow.db
    mlflow_experiment: str = "multiemo"
    tensorboard: bool = False
    tensorboard_dir: str | None = None  # event files' folder; None: RUN/tensorboard


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
    selection: str = "weighted_f1"  # best epoch: highest validation weighted-F1, or "loss": lowest validation loss
    patience: int | None = None  # stop after this many epochs without a better selection score; None: never
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    calibration: str = "temperature"  # "temperature": fit T on validation after training (calibration.json); "none"
    lock: bool = True  # flock the run directory while training; false only where the filesystem lacks flock

    def __post_init__(self) -> None:
        for spec in fields(self):  # NaN passes every comparison below; torch would refuse it mid-run
            value = getattr(self, spec.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"train.{spec.name} must be a finite number, got {value}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        for name in ("lr", "swfc_temperature"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"train.{name} must be positive, got {getattr(self, name)}")
        for name in ("weight_decay", "lr_patience", "ce_weight", "swfc_weight", "hgr_weight", "swfc_focus",
                     "grad_clip", "num_threads"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name} must not be negative, got {getattr(self, name)}")
        if self.ce_weight + self.swfc_weight + self.hgr_weight <= 0:
            raise ConfigError("train: at least one of ce_weight, swfc_weight, hgr_weight must be positive")
        if not 0 <= self.seed < 2**32:  # what numpy's and torch's generators accept
            raise ConfigError(f"train.seed must be a whole number in [0, 2**32 - 1], got {self.seed}")
        if not 0 < self.lr_factor < 1:
            raise ConfigError(f"train.lr_factor must be in (0, 1), got {self.lr_factor}")
        if self.precision not in ("fp32", "bf16", "auto"):
            raise ConfigError(f"train.precision must be 'fp32', 'bf16' or 'auto', got {self.precision!r}")
        if self.selection not in SELECTIONS:
            raise ConfigError(f"train.selection must be one of {list(SELECTIONS)}, got {self.selection!r}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"train.patience must be at least 1 (or null: no early stopping), got {self.patience}")
        if self.calibration not in ("temperature", "none"):
            raise ConfigError(f"train.calibration must be 'temperature' or 'none', got {self.calibration!r}")
        if self.hgr_covariance not in ("feature", "legacy"):
            raise ConfigError(f"train.hgr_covariance must be 'feature' or 'legacy', got {self.hgr_covariance!r}")


@functools.cache
def packaged_presets() -> dict[str, dict]:
    """The presets shipped in the package (``multiemo/presets/NAME.yaml``), by name."""
    folder = importlib.resources.files("multiemo") / "presets"
    return {item.name.removesuffix(".yaml"): yaml.safe_load(item.read_text(encoding="utf-8")) or {}
            for item in sorted(folder.iterdir(), key=lambda i: i.name) if item.name.endswith(".yaml")}


def presets_of(config: Mapping) -> dict[str, dict]:
    """The packaged presets plus a config's ``presets:``; a config preset named like a packaged one
    replaces it whole."""
    return {**copy.deepcopy(packaged_presets()), **(config.get("presets") or {})}


def resolve_run_settings(config: Mapping, dataset: str, overrides: Sequence[str] = ()) -> dict:
    """The complete ``{"model": {...}, "train": {...}}`` settings for one dataset, validated.

    ``dataset`` names an entry of ``config["datasets"]`` (its ``preset`` is looked up in
    :func:`presets_of`, its own ``model``/``train`` keys override the preset, and its ``modalities``
    become the model's unless ``model.modalities`` is set) or directly a preset (``config`` may be ``{}``).
    Command-line ``overrides`` apply last; unset keys take the dataclass defaults (:func:`complete_settings`).
    This one function serves ``multiemo train`` and the workflow's train rule, so both train the same model.
    """
    presets = presets_of(config)
    datasets = config.get("datasets") or {}
    if dataset in datasets:
        entry = datasets[dataset] or {}
        preset_name = entry.get("preset", dataset)
        if preset_name not in presets:
            raise ConfigError(f"dataset {dataset!r} uses preset {preset_name!r}, which config has not defined")
        own = {k: entry[k] for k in ("model", "train") if entry.get(k)}
        settings = deep_merge(presets[preset_name] or {}, own)
        # A dataset that extracts only some modalities trains on those unless its model section says otherwise.
        if "modalities" not in (entry.get("model") or {}) and ("modalities" in entry or "reader" in entry):
            settings.setdefault("model", {})["modalities"] = dataset_modalities(entry)
    elif dataset in presets:
        settings = copy.deepcopy(presets[dataset] or {})
    else:
        raise ConfigError(
            f"unknown dataset {dataset!r}; known datasets {sorted(datasets)} (entries of the config file) and "
            f"presets {sorted(presets)}"
        )
    return complete_settings(deep_merge(settings, parse_overrides(overrides)))


def complete_settings(settings: Mapping) -> dict:
    """Every model and train setting (defaults filled in), checked as the trainer will build them.

    Raises:
        ConfigError: naming the section and key of an unknown key or a bad value.
    """
    unknown = sorted(set(settings) - {"model", "train"})
    if unknown:
        raise ConfigError(f"unknown settings section(s) {unknown}; use model.* or train.*")
    train = from_mapping(TrainConfig, settings.get("train") or {}, section="train")
    model = model_config(settings.get("model") or {})
    return {"model": _plain(asdict(model)), "train": _plain(asdict(train))}


def model_config(settings: Mapping[str, Any]) -> ModelConfig:
    """The ModelConfig of a ``model`` mapping; context encoders run only for modalities the model uses."""
    settings = dict(settings)
    modalities = settings.get("modalities", ModelConfig.modalities) or ()
    if isinstance(modalities, str):  # "model.modalities=text" on the command line
        modalities = [modalities]
    context = settings.get("context_modalities", ModelConfig.context_modalities)
    if isinstance(context, str):
        context = [context]
    settings["context_modalities"] = [m for m in context or () if m in modalities]
    return from_mapping(ModelConfig, settings, section="model")


def _plain(values: dict) -> dict:
    """Tuples as lists, as YAML and JSON write them."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

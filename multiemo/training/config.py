"""Training settings and the resolution of presets, a config's dataset entries and command-line overrides.

The dataclasses are the one source of each default: the presets (``multiemo/presets/*.yaml``, shipped with
the package) state only what differs from them, and ``workflow/schemas/config.schema.yaml`` is held equal
to them by tests/workflow/test_settings.py.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import yaml

from multiemo.corpora.registry import dataset_modalities
from multiemo.losses.registry import LOSSES, default_weights, loss_weights
from multiemo.models.config import ModelConfig
from multiemo.settings import ConfigError, deep_merge, from_mapping, parse_overrides

log = logging.getLogger(__name__)

SELECTIONS = ("weighted_f1", "loss")
#: How runs record a loss's weight (settings.json, the train jobs' params): ``<name>_weight``, the spelling
#: train settings had before ``train.losses``; config files may still use it (with a deprecation warning).
WEIGHT_SUFFIX = "_weight"
_warned: set[str] = set()


@dataclass(frozen=True)
class TrackingConfig:
    """Where each epoch's record goes besides ``history.jsonl`` (:mod:`multiemo.training.tracking`).

    Needs the ``tracking`` extra (``pip install 'multiemo[tracking]'``) when either is on. Where a run is
    tracked does not change what it computes, so these settings are not part of a run's identity.
    """

    mlflow: bool = False
    # tracking URI (sqlite:///path.db, http://server...); None: sqlite RUN/mlflow.db
    mlflow_uri: str | None = None
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
    # loss name -> weight in the objective (multiemo.losses.registry); names left out keep their default
    losses: dict[str, float] = field(default_factory=default_weights)
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
    # best epoch: highest validation weighted-F1, or "loss": lowest validation loss
    selection: str = "weighted_f1"
    patience: int | None = None  # stop after this many epochs without a better selection score; None: never
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    # "temperature": fit T on validation after training (calibration.json); "none"
    calibration: str = "temperature"
    lock: bool = True  # flock the run directory while training; false only where the filesystem lacks flock

    @classmethod
    def normalize(cls, values: Mapping[str, Any]) -> dict:
        """``values`` with each ``<loss>_weight`` key (how runs record a weight) moved into ``losses``.

        Raises:
            ConfigError: a weight given both ways.
        """
        old = {k.removesuffix(WEIGHT_SUFFIX): v for k, v in values.items()
               if k.endswith(WEIGHT_SUFFIX) and k.removesuffix(WEIGHT_SUFFIX) in LOSSES}
        if not old:
            return dict(values)
        given = values.get("losses") or {}
        if not isinstance(given, Mapping):
            return dict(values)  # refused, with its value, where the weights are checked
        for name, weight in old.items():
            if name in given and given[name] != weight:
                raise ConfigError(f"train.{name}{WEIGHT_SUFFIX} ({weight}) and train.losses.{name} "
                                  f"({given[name]}) are one setting; keep train.losses.{name}")
        rest = {k: v for k, v in values.items() if k.removesuffix(WEIGHT_SUFFIX) not in old}
        return {**rest, "losses": {**old, **given}}

    def __post_init__(self) -> None:
        # defaults filled in, each weight checked
        object.__setattr__(self, "losses", loss_weights(self.losses))
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
        for name in ("weight_decay", "lr_patience", "swfc_focus", "grad_clip", "num_threads"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name} must not be negative, got {getattr(self, name)}")
        if not 0 <= self.seed < 2**32:  # what numpy's and torch's generators accept
            raise ConfigError(f"train.seed must be a whole number in [0, 2**32 - 1], got {self.seed}")
        if not 0 < self.lr_factor < 1:
            raise ConfigError(f"train.lr_factor must be in (0, 1), got {self.lr_factor}")
        if self.precision not in ("fp32", "bf16", "auto"):
            raise ConfigError(f"train.precision must be 'fp32', 'bf16' or 'auto', got {self.precision!r}")
        if self.selection not in SELECTIONS:
            raise ConfigError(f"train.selection must be one of {list(SELECTIONS)}, got {self.selection!r}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError("train.patience must be at least 1 (or null: no early stopping), "
                              f"got {self.patience}")
        if self.calibration not in ("temperature", "none"):
            raise ConfigError(f"train.calibration must be 'temperature' or 'none', got {self.calibration!r}")
        if self.hgr_covariance not in ("feature", "legacy"):
            raise ConfigError("train.hgr_covariance must be 'feature' or 'legacy', "
                              f"got {self.hgr_covariance!r}")


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
            raise ConfigError(f"dataset {dataset!r} uses preset {preset_name!r}, "
                              "which config has not defined")
        own = {k: entry[k] for k in ("model", "train") if entry.get(k)}
        settings = deep_merge(_spelled_now(presets[preset_name] or {}), _spelled_now(own))
        # A dataset that extracts only some modalities trains on those unless its model section says
        # otherwise.
        if "modalities" not in (entry.get("model") or {}) and ("modalities" in entry or "reader" in entry):
            settings.setdefault("model", {})["modalities"] = dataset_modalities(entry)
    elif dataset in presets:
        settings = _spelled_now(copy.deepcopy(presets[dataset] or {}))
    else:
        raise ConfigError(
            f"unknown dataset {dataset!r}; known datasets {sorted(datasets)} (entries of the config file) "
            f"and presets {sorted(presets)}"
        )
    return complete_settings(deep_merge(settings, _spelled_now(parse_overrides(overrides))))


def complete_settings(settings: Mapping) -> dict:
    """Every model and train setting (defaults filled in), checked as the trainer will build them.

    Raises:
        ConfigError: naming the section and key of an unknown key or a bad value.
    """
    unknown = sorted(set(settings) - {"model", "train"})
    if unknown:
        raise ConfigError(f"unknown settings section(s) {unknown}; use model.* or train.*")
    train = from_mapping(TrainConfig, _spelled_now(settings).get("train") or {}, section="train")
    model = model_config(settings.get("model") or {})
    return {"model": _plain(asdict(model)), "train": recorded_train(train)}


def recorded_train(train: TrainConfig) -> dict:
    """``train`` as runs record it: every field, with ``losses`` written where it stands as one
    ``<name>_weight`` key per loss (the shape settings.json has always had; :meth:`TrainConfig.normalize`
    reads it back)."""
    recorded = {}
    for name, value in _plain(asdict(train)).items():
        if name == "losses":
            recorded.update({f"{loss}{WEIGHT_SUFFIX}": weight for loss, weight in value.items()})
        else:
            recorded[name] = value
    return recorded


def _spelled_now(settings: Mapping) -> dict:
    """One layer of settings (a preset, a dataset's blocks, overrides) with its old ``train.<loss>_weight``
    keys read as ``train.losses`` (before layers merge, so a later layer's weight wins whichever spelling
    either uses), and one deprecation warning per old key."""
    train = settings.get("train")
    if not isinstance(train, Mapping):
        return dict(settings)
    for key in train:
        name = key.removesuffix(WEIGHT_SUFFIX)
        if key.endswith(WEIGHT_SUFFIX) and name in LOSSES and key not in _warned:
            _warned.add(key)
            log.warning("train.%s is deprecated: write train.losses: {%s: %s} (or the override "
                        "train.losses.%s=%s)", key, name, train[key], name, train[key])
    return {**settings, "train": TrainConfig.normalize(train)}


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

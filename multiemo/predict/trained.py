"""A trained model and everything prediction needs from where it was trained, from a run or an export.

A :class:`TrainedModel` is what :class:`~multiemo.predict.Predictor` is built from: the model (weights and
input statistics), its labels and party count, the precision it ran in, each modality's recorded extractor
provenance (so features are made as in training), and the calibration, if any. It comes either from a run
directory (best.pt, settings.json, provenance.json, calibration.json) or from an exported model directory
(config.json, model.safetensors; see :mod:`multiemo.predict.export`), so both predict the same way.

An exported directory holds no pickle at all; a run's checkpoint is unpickled with ``weights_only=True``
(:func:`multiemo.runs.checkpoint.load_checkpoint`). Neither can run code when opened.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from multiemo import __version__
from multiemo.io import read_json
from multiemo.predict.bundle import BUNDLE_DIR, ExportError, read_bundle
from multiemo.predict.settings import ExtractionPlan
from multiemo.runs.calibration import check_calibration, load_calibration
from multiemo.runs.checkpoint import build_model, incompatible, load_run_model, one_line
from multiemo.runs.provenance import read_provenance

#: ``config.json["format"]`` of an exported model, and the layout version this multiemo reads and writes.
EXPORT_FORMAT = "multiemo-model"
EXPORT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
#: What an exported model directory holds besides its bundle of carried files.
EXPORT_FILES = (CONFIG_FILE, WEIGHTS_FILE, CARD_FILE)


@dataclass
class TrainedModel:
    """A trained model ready for :class:`~multiemo.predict.Predictor`.

    Attributes:
        model: MultiEMO in eval mode, with its training input statistics.
        labels: emotion labels in the model's order.
        num_parties: number of parties the model was trained with.
        precision: ``fp32``/``bf16``/``fp16``, the precision it was trained (and runs) in.
        modality_dropout: the training's ``model.modality_dropout`` (0: never saw missing modalities).
        extraction: modality -> extractor provenance recorded at training; None for runs older than
            provenance.json (their store's store.json is read instead).
        extraction_source: the file that records it (named in error messages).
        calibration: ``{"method": "temperature", "temperature": T, ...}`` or None.
        source: the run or export directory; best_epoch: the selected epoch (None if unrecorded).
        provenance: software that trained it (as provenance.json / config.json record it), or None.
        local: modality -> {setting: value} an export puts in place of the recorded one: the path of its
            copy of a recorded file, the pinned hub revision (:mod:`multiemo.predict.bundle`).
    """

    model: torch.nn.Module
    labels: list[str]
    num_parties: int
    precision: str
    modality_dropout: float
    extraction: dict[str, dict] | None
    extraction_source: str
    calibration: dict | None
    source: Path
    best_epoch: int | None = None
    provenance: dict | None = None
    local: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.model.config.modalities)

    def plan(self, overrides: Mapping[str, Mapping] | None = None) -> ExtractionPlan:
        """How to make features for this model (:class:`~multiemo.predict.settings.ExtractionPlan`)."""
        if self.extraction is None:
            return ExtractionPlan.from_store(self.extraction_source, self.modalities, overrides)
        return ExtractionPlan.from_recorded(self.extraction, self.modalities, overrides,
                                            source=self.extraction_source, local=self.local)


def open_trained(path: str | os.PathLike, device: torch.device | str = "cpu") -> TrainedModel:
    """An exported model directory (it holds config.json) or a run directory (it holds best.pt)."""
    path = Path(path)
    if (path / CONFIG_FILE).is_file():
        return from_export(path, device)
    return from_run(path, device)


def from_run(run_dir: str | os.PathLike, device: torch.device | str = "cpu") -> TrainedModel:
    """A run's best checkpoint with what it recorded about its features (provenance.json) and its
    calibration (calibration.json, when present).

    Raises:
        FileNotFoundError: no best.pt.
        CheckpointError: best.pt is refused or incompatible, or a JSON file of the run is malformed.
    """
    run_dir = Path(run_dir)
    model, identity = load_run_model(run_dir, device)
    provenance = read_provenance(run_dir)
    if provenance is None:  # a run older than provenance.json: its store must still be where it was
        extraction, extraction_source = None, identity["store"]
    else:
        recorded = provenance["store"]["modalities"]
        extraction = {m: recorded[m]["provenance"] for m in model.config.modalities}
        extraction_source = str(run_dir / "provenance.json")
    return TrainedModel(
        model=model,
        labels=list(identity["labels"]),
        num_parties=identity["num_parties"],
        precision=identity["train"]["precision"],
        modality_dropout=float(identity["model"].get("modality_dropout", 0.0)),
        extraction=extraction,
        extraction_source=extraction_source,
        calibration=load_calibration(run_dir),
        source=run_dir,
        best_epoch=identity.get("best_epoch"),
        provenance=provenance["software"] if provenance else None,
    )


def from_export(directory: str | os.PathLike, device: torch.device | str = "cpu") -> TrainedModel:
    """The model of an exported directory (config.json + model.safetensors).

    Raises:
        ExportError: a file is missing, malformed, of another format, or incompatible (one line naming it).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    config = read_export_config(config_path)
    _check_export_fields(config, config_path)
    if not weights_path.is_file():
        raise ExportError(f"{weights_path} not found: an exported multiemo model holds {CONFIG_FILE} and "
                          f"{WEIGHTS_FILE}; copy the whole directory")
    try:
        state = load_file(weights_path, device=str(device))
    except (SafetensorError, OSError, ValueError) as err:
        raise ExportError(f"{weights_path} is not a readable safetensors file "
                          f"({' '.join(str(err).split())[:200]}); copy it again from its origin") from None
    writer = (config.get("provenance") or {}).get("multiemo")
    local = read_bundle(directory, config, config_path)
    try:
        model = build_model(config["architecture"], config["input_dims"], len(config["labels"]),
                            int(config["num_parties"]), state)
        extraction = {m: dict(config["extraction"][m]) for m in model.config.modalities}
        trained = TrainedModel(
            model=model.to(device).eval(),
            labels=list(config["labels"]),
            num_parties=int(config["num_parties"]),
            precision=str(config["precision"]),
            modality_dropout=float(config["architecture"].get("modality_dropout", 0.0)),
            extraction=extraction,
            extraction_source=str(config_path),
            calibration=(check_calibration(config["calibration"], source=f"{config_path} calibration")
                         if config.get("calibration") else None),
            source=directory,
            best_epoch=config.get("training", {}).get("best_epoch"),
            provenance=config.get("provenance"),
            local=local,
        )
    except RuntimeError as err:  # the weights do not fit the architecture config.json describes
        if writer == __version__:  # then not a version change: one of the two files was altered
            raise ExportError(f"{config_path} and {weights_path} do not fit together ({one_line(err)}); "
                              "one of them was edited or they come from different exports: copy the whole "
                              "export again from its origin") from None
        raise ExportError(incompatible(weights_path, err, f"multiemo {writer}" if writer
                                       else "the multiemo version that wrote it")) from None
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ExportError(incompatible(config_path, err, f"multiemo {writer}" if writer
                                       else "the multiemo version that wrote it")) from None
    return trained


def _check_export_fields(config: dict, path: Path) -> None:
    """The fields prediction sizes things by, checked before any weight is loaded or any input extracted."""
    labels, dims, parties = config.get("labels"), config.get("input_dims"), config.get("num_parties")
    if not (isinstance(labels, list) and labels and all(isinstance(x, str) and x for x in labels)
            and len(set(labels)) == len(labels)):
        raise ExportError(f"{path}: labels must be a list of distinct non-empty names, got {labels!r:.100}")
    if not (isinstance(dims, dict) and dims
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in dims.values())):
        raise ExportError(f"{path}: input_dims must map each modality to a width >= 1, got {dims!r:.100}")
    if not (isinstance(parties, int) and not isinstance(parties, bool) and parties >= 1):
        raise ExportError(f"{path}: num_parties must be a whole number >= 1 (the parties the model was "
                          f"trained with), got {parties!r:.40}; copy the export again from its origin")


def read_export_config(path: Path) -> dict:
    """An export's config.json, checked to be this format and a layout version this multiemo reads."""
    if not path.is_file():
        raise ExportError(f"{path} not found: {path.parent} is not an exported multiemo model "
                          "(make one with `multiemo export RUN OUT_DIR`; a run directory goes with --run)")
    config = read_json(path, error=ExportError, hint="copy the export again from its origin")
    if not isinstance(config, dict) or config.get("format") != EXPORT_FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise ExportError(f"{path} is not a multiemo model configuration (format {found!r}, expected "
                          f"{EXPORT_FORMAT!r}): this directory holds another kind of model")
    if config.get("format_version") != EXPORT_VERSION:
        writer = (config.get("provenance") or {}).get("multiemo")
        raise ExportError(f"{path} has layout version {config.get('format_version')!r}; this multiemo reads "
                          f"version {EXPORT_VERSION}: use multiemo {writer or 'the version that wrote it'}")
    return config


def resolve_pretrained(name_or_path: str | os.PathLike, *, revision: str | None = None,
                       cache_dir: str | os.PathLike | None = None) -> Path:
    """The local directory of an exported model: ``name_or_path`` itself when it is a directory, else a
    Hugging Face hub repository id downloaded (or found in the cache) at ``revision``."""
    local = Path(name_or_path).expanduser()
    if local.is_dir():
        return local
    text = str(name_or_path)
    if text.startswith((".", "/", "~")) or text.count("/") > 1:
        raise ExportError(f"{local} not found: give an exported model directory or a hub repository id")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ExportError(f"{text!r} is not a local directory, and loading from the hub needs "
                          "huggingface_hub (pip install huggingface_hub)") from None
    try:
        return Path(snapshot_download(repo_id=text, revision=revision, cache_dir=cache_dir,
                                      allow_patterns=[*EXPORT_FILES, f"{BUNDLE_DIR}/**"]))
    except Exception as err:  # noqa: BLE001 - hub errors come in many types; all mean "not obtainable"
        raise ExportError(f"{text!r} is not a local directory and could not be fetched from the Hugging Face "
                          f"hub ({type(err).__name__}: {' '.join(str(err).split())[:200]})") from None

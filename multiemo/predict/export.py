"""A trained run as a self-contained model directory that travels, and loading one in a line.

``multiemo export RUN OUT_DIR`` writes::

    config.json         architecture, labels, input dims, party count, precision, each modality's extractor
                        provenance (prediction makes features the same way), calibration, training
                        settings and scores, and the software versions that trained and exported it
    model.safetensors   weights and input statistics (no pickle: loading runs no code)
    README.md           model card: data, split, seed, scores (the oracle figure labelled), use, limits
    files/              copies of the local files the extractors read (a fine-tuned text encoder, face
                        backbone weights), their sha256 in config.json (:mod:`multiemo.predict.bundle`)

A hub text model is pinned to the commit its features were made with. A run on imported features (no
extractor settings recorded) exports for ``predict_features`` only, and its card says so.

The layout is that of a Hugging Face Hub model repository, so :func:`from_pretrained` takes a local
directory or a hub repository id (with ``revision``), and :func:`push_to_hub` uploads a directory.
``multiemo.load(DIR)`` is :func:`load`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from multiemo.io import OutputKind, atomic_path, check_output_dir
from multiemo.predict.bundle import BUNDLE_DIR, plan_bundle, write_bundle
from multiemo.predict.model_card import model_card
from multiemo.predict.predictor import Predictor
from multiemo.predict.settings import FeaturesOnly
from multiemo.predict.trained import (
    CARD_FILE,
    CONFIG_FILE,
    EXPORT_FILES,
    EXPORT_FORMAT,
    EXPORT_VERSION,
    WEIGHTS_FILE,
    from_export,
    from_run,
)
from multiemo.provenance import environment
from multiemo.runs.directory import read_run_json
from multiemo.runs.identity import jsonable
from multiemo.runs.provenance import read_provenance

log = logging.getLogger(__name__)

#: Only such a folder is replaced by :func:`export_run`.
EXPORT_FOLDER = OutputKind("exported model", CONFIG_FILE, EXPORT_FILES)


def export_run(run_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Write the run's best model as an exported model directory ``out_dir`` (replaced if it holds an
    earlier export and nothing else; any other existing non-empty folder, or one holding the run, is refused
    with :class:`multiemo.io.OutputRefused`).

    Raises:
        FileNotFoundError: the run has no best.pt (or, for a run older than provenance.json, no store).
        ValueError: the checkpoint or a JSON file of the run is refused.
        ExportError: a file the extractors read is not found here, or a hub model's revision is unknown
            (naming each).
    """
    from safetensors.torch import save_file

    run_dir, out = Path(run_dir), Path(out_dir)
    check_output_dir(out, EXPORT_FOLDER, inputs=[run_dir])
    trained = from_run(run_dir, "cpu")
    settings = read_run_json(run_dir / "settings.json") or {}
    provenance = read_provenance(run_dir) or {}
    try:
        plan = trained.plan()  # reads an old run's store
        extraction, features_only = plan.recorded, None
        carried, pinned = plan_bundle(plan.settings, provenance.get("text_models") or {},
                                      origin=plan.store)
    except FeaturesOnly as err:  # imported features: prediction from features only
        extraction = {m: (trained.extraction or {}).get(m) or {} for m in trained.modalities}
        features_only, carried, pinned = str(err), [], {}
    metrics = read_run_json(run_dir / "metrics.json")
    model = trained.model
    config = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "model_type": "multiemo",
        "labels": trained.labels,
        "num_parties": trained.num_parties,
        "input_dims": dict(model.input_dims),
        "architecture": jsonable(asdict(model.config)),
        "precision": trained.precision,
        "extraction": extraction,
        "video_prediction": features_only is None,
        "pinned": pinned,
        "calibration": trained.calibration,
        "training": {
            "run": run_dir.name,
            "train": settings.get("train"),
            "best_epoch": trained.best_epoch,
            "store": {k: v for k, v in provenance.get("store", {}).items()
                      if k in ("name", "fingerprint", "splits")}
            or {"fingerprint": settings.get("store_fingerprint")},
        },
        "scores": _scores(metrics),
        "text_models": provenance.get("text_models"),
        "provenance": trained.provenance,
        "exported_with": environment(),
    }
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(out, EXPORT_FOLDER) as tmp:
        tmp.mkdir()
        config["files"] = write_bundle(carried, tmp)
        save_file(state, tmp / WEIGHTS_FILE, metadata={"format": "pt"})
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
        (tmp / CARD_FILE).write_text(model_card(config), encoding="utf-8")
        # safetensors writes its file 0600 whatever the umask: give it the mode its config.json got
        (tmp / WEIGHTS_FILE).chmod((tmp / CONFIG_FILE).stat().st_mode & 0o777)
    if features_only:
        log.warning("%s exported for predict_features only: %s", out, features_only)
    log.info("exported %s to %s", run_dir, out)
    return out


def _scores(metrics: dict | None) -> dict | None:
    if metrics is None:
        return None
    keep = ("validation", "test", "best_epoch", "seed", "epochs", "oracle_test_weighted_f1", "oracle_epoch",
            "oracle_note")
    return {k: metrics[k] for k in keep if k in metrics}


def from_pretrained(name_or_path: str | os.PathLike, *, revision: str | None = None,
                    cache_dir: str | os.PathLike | None = None, device: str = "auto", **predictor_options
                    ) -> Predictor:
    """A :class:`~multiemo.predict.Predictor` of an exported model (a directory or a hub repository id):
    :meth:`Predictor.from_pretrained <multiemo.predict.Predictor.from_pretrained>`.

    Args:
        name_or_path: exported model directory, or ``owner/name`` on the Hugging Face hub.
        revision: hub branch, tag or commit (ignored for a local directory).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``.
        predictor_options: ``overrides``, ``window``, ``context``, ``progress`` of Predictor.

    Raises:
        ExportError: the directory is not an exported model this version reads (naming the file).
    """
    return Predictor.from_pretrained(name_or_path, revision=revision, cache_dir=cache_dir, device=device,
                                     **predictor_options)


def load(path: str | os.PathLike, **options) -> Predictor:
    """``multiemo.load(DIR)``: :func:`from_pretrained` of an exported model directory or hub id."""
    return from_pretrained(path, **options)


def push_to_hub(directory: str | os.PathLike, repo_id: str, *, revision: str | None = None,
                private: bool | None = None, token: str | None = None) -> str:
    """Upload an exported model directory to a Hugging Face hub repository (created if needed); returns
    the commit URL. Needs huggingface_hub and network access; not exercised by the test suite."""
    from huggingface_hub import HfApi

    directory = Path(directory)
    from_export(directory, "cpu")  # upload only what loads
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(directory), revision=revision,
                               allow_patterns=[*EXPORT_FILES, f"{BUNDLE_DIR}/**"],
                               commit_message="Upload multiemo model")
    return str(commit)

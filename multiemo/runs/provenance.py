"""A run's ``provenance.json``: the software that trained it and what prediction needs from its store."""

from __future__ import annotations

import json
from pathlib import Path

from multiemo.data.store import FeatureStore
from multiemo.features.text_models import resolve_model_path
from multiemo.io import write_json
from multiemo.provenance import environment, hub_revision, with_extractor_libraries
from multiemo.runs.directory import PROVENANCE, read_run_json


def run_provenance(store: FeatureStore, modalities: tuple[str, ...]) -> dict:
    """What :data:`~multiemo.runs.directory.PROVENANCE` records: the software at training time, the revision
    of each text model the features were made with (:func:`~multiemo.provenance.hub_revision`), and the
    store's name, fingerprint and per-modality dim and extractor provenance (what prediction needs to make
    features the same way)."""
    recorded = {m: store.modalities[m] for m in modalities}
    text_models = {}
    for info in recorded.values():
        name = info.provenance.get("model")
        if isinstance(name, str) and info.provenance.get("extractor") == "text":
            try:
                text_models[name] = hub_revision(resolve_model_path(name))
            except ValueError:  # a packaged model whose package is not installed here
                text_models[name] = None
    return {
        "software": with_extractor_libraries(environment(), [info.provenance for info in recorded.values()]),
        "text_models": text_models,
        "store": {
            "path": str(store.root.resolve()),
            "name": store.name,
            "fingerprint": store.fingerprint,
            "splits": {split: {"dialogues": int(rows["dialogue_id"].nunique()), "utterances": len(rows)}
                       for split, rows in store.table.groupby("split", sort=False)},
            "modalities": {m: {"dim": info.dim, "provenance": info.provenance}
                           for m, info in recorded.items()},
        },
    }


def record_provenance(out: Path, store: FeatureStore, modalities: tuple[str, ...]) -> None:
    """Write ``out/provenance.json`` when a run starts (a resumed run keeps the one it started with)."""
    if not (out / PROVENANCE).exists():
        write_json(out / PROVENANCE, run_provenance(store, modalities))


def read_provenance(run_dir: Path) -> dict | None:
    """A run's provenance.json, or None for runs older than it."""
    return read_run_json(run_dir / PROVENANCE)


def written_by(run_dir: Path) -> str:
    """Which multiemo wrote a run, as recorded in its provenance.json (for error messages)."""
    try:
        recorded = json.loads((run_dir / PROVENANCE).read_text(encoding="utf-8"))["software"]
    except (OSError, ValueError, KeyError, TypeError):
        return "the multiemo version that wrote it (not recorded: the run predates provenance.json)"
    commit = recorded.get("git_commit")
    return f"multiemo {recorded.get('multiemo')}" + (f" (git commit {commit})" if commit else "")

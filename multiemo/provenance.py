"""What made a result: multiemo's version and git commit, library versions, hub model revisions.

Runs (``provenance.json``) and exported models (``config.json``) record these so a user who receives one
knows which software wrote it. Nothing here fails for lack of information: outside a git checkout the
commit is None, a library that is not installed has version None, a model that is not a hub repository
in the local cache has no revision.
"""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import metadata
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent

#: Distributions whose versions change what a run computes (training, features, faces).
LIBRARIES = ("torch", "transformers", "opensmile", "facenet-pytorch", "numpy", "safetensors")

#: The revision recorded for a text model loaded from a local folder (no hub commit applies).
LOCAL = "local"


def multiemo_version() -> str:
    """The installed multiemo version (the package's ``__version__`` when it is not installed)."""
    try:
        return metadata.version("multiemo")
    except metadata.PackageNotFoundError:
        from multiemo import __version__

        return __version__


def library_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@cache
def git_commit(source: Path = _PACKAGE) -> str | None:
    """The commit of the checkout holding ``source`` (default: where multiemo is imported from), with
    ``+dirty`` for uncommitted changes; None when it is not a git checkout or git is unavailable."""
    try:
        head = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=False)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head.stdout.strip()
    return f"{commit}+dirty" if status.returncode == 0 and status.stdout.strip() else commit


def environment() -> dict:
    """multiemo's version and commit, Python's version and each of :data:`LIBRARIES` (None if absent)."""
    return {
        "multiemo": multiemo_version(),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "libraries": {name: library_version(name) for name in LIBRARIES},
    }


def with_extractor_libraries(software: dict, provenances: Iterable[Mapping]) -> dict:
    """``software`` (:func:`environment`) with the version of each of :data:`LIBRARIES` this environment lacks
    taken from the features' provenance, as the extractors recorded it (``transformers``,
    ``opensmile_version``, ``facenet_pytorch_version``); those are listed under ``libraries_from_features``.

    Under ``--use-conda`` training runs in an env without openSMILE, facenet-pytorch or transformers: their
    versions are the extraction envs', which the store recorded.
    """
    libraries = dict(software["libraries"])
    taken = {}
    for provenance in provenances:
        for key, value in provenance.items():
            name = key.removesuffix("_version").replace("_", "-")
            if name in libraries and libraries[name] is None and isinstance(value, str):
                libraries[name] = taken[name] = value
    return {**software, "libraries": libraries, "libraries_from_features": sorted(taken)}


def hub_revision(name_or_path: str, *, revision: str | None = None, cache_dir: str | Path | None = None
                 ) -> str | None:
    """The commit hash of a Hugging Face hub model as found in the local cache; :data:`LOCAL` for a local
    folder; None when the name is not in the cache (or huggingface_hub is not installed).

    Only the cache is read (never the network), so the answer is the revision the model was loaded from;
    ``revision`` (a branch, tag or commit) is resolved as the cache knows it, else the newest (``main``).
    """
    if Path(name_or_path).expanduser().is_dir():
        return LOCAL
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(name_or_path, "config.json", cache_dir=cache_dir, revision=revision)
    except ValueError:  # not a valid repository id
        return None
    if not isinstance(found, str):
        return None
    snapshot = Path(found).parent  # .../models--org--name/snapshots/<commit>/config.json
    return snapshot.name if snapshot.parent.name == "snapshots" else None

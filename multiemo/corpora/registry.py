"""The corpus readers, one entry per ``reader:`` name of a config ``datasets`` entry.

An entry names the function that reads the corpus from a dataset entry and the entry keys it depends on:
the workflow passes exactly those keys (plus ``reader``, ``modalities`` and ``require_media``) to the
read job, so changing one rereads the corpus and changing anything else does not. It also names the
annotation files the reader reads (``sources``): the workflow declares them as the read job's inputs.
A new reader is one module with a ``read(entry, *, require_media) -> Corpus`` function plus one
:func:`register_reader` call, here or in a plugin module (``plugins:`` in config.yaml).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from multiemo.corpora.corpus import Corpus
from multiemo.errors import InputError
from multiemo.registry import Registry
from multiemo.settings import resolve

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reader:
    """How one corpus layout is read.

    Attributes:
        name: the ``reader:`` value.
        read: ``"module:function"`` or the function ``read(entry, *, require_media) -> Corpus``; ``entry``
            holds the keys below (those the user set) and ``require_media`` says whether clips are needed.
        keys: the dataset entry keys the reader depends on (paths, label and split options).
    """

    name: str
    read: str | Callable[..., Corpus]
    keys: tuple[str, ...] = ()
    #: ``modalities(entry) -> list`` when the entry sets no ``modalities:``; None = all of DEFAULT_MODALITIES.
    modalities: str | Callable[[Mapping], list[str]] | None = None
    #: ``sources(entry) -> list of paths``: the annotation files (CSVs, transcripts, a manifest) the reader
    #: reads, not the media; None = none declared (the workflow then sees only the entry's settings).
    sources: str | Callable[[Mapping], list[Path]] | None = None
    #: JSON schema of each of :attr:`keys` (type, description, default) for config validation; a key it
    #: does not describe accepts any value. The built-in readers' keys are described in the config schema.
    schema: Mapping[str, Mapping] | None = None

    def __call__(self, entry: Mapping, *, require_media: bool) -> Corpus:
        return resolve(self.read)(entry, require_media=require_media)


#: The corpus readers by ``reader:`` name (:class:`multiemo.registry.Registry`).
READERS: Registry[Reader] = Registry("corpus reader", setting="datasets.<name>.reader")
#: What a dataset entry extracts and trains on when it names no ``modalities:`` and its reader has no rule.
DEFAULT_MODALITIES: tuple[str, ...] = ("text", "audio", "visual")


def register_reader(reader: Reader, *, replace: bool = False) -> Reader:
    """Add ``reader`` under its name (``replace=True`` swaps an existing entry of the same name)."""
    return READERS.register(reader.name, reader, replace=replace)


def unregister_reader(name: str) -> None:
    """Remove a reader's entry (tests register toy readers and take them away again)."""
    READERS.unregister(name)


def reader(name: str | None) -> Reader:
    """The entry of ``name``.

    Raises:
        ConfigError: no reader of that name, naming those that exist.
    """
    return READERS[name]


def readers() -> tuple[str, ...]:
    """Registered reader names."""
    return READERS.names()


def dataset_modalities(entry: Mapping) -> list[str]:
    """The modalities a dataset entry extracts (and by default trains on).

    ``modalities:`` when the entry sets it; otherwise its reader decides (a manifest without media is text
    only), else :data:`DEFAULT_MODALITIES`. The workflow and ``multiemo train`` both ask here.
    """
    if entry.get("modalities"):
        return list(entry["modalities"])
    rule = reader(entry["reader"]).modalities if entry.get("reader") in READERS else None
    return list(resolve(rule)(entry)) if rule else list(DEFAULT_MODALITIES)


def corpus_sources(entry: Mapping) -> list[Path]:
    """The annotation files a dataset entry's reader reads (:attr:`Reader.sources`), [] if it names none."""
    rule = reader(entry.get("reader")).sources
    return [Path(p) for p in resolve(rule)(entry)] if rule else []


def meld_sources(entry: Mapping) -> list[Path]:
    from multiemo.corpora.meld import MELD_PARTS

    return [Path(entry["root"]) / csv for _, csv, _ in MELD_PARTS.values()]


def emorynlp_sources(entry: Mapping) -> list[Path]:
    from multiemo.corpora.emorynlp import EMORYNLP_PARTS

    return [Path(entry["root"]) / csv for _, csv in EMORYNLP_PARTS.values()]


def iemocap_sources(entry: Mapping) -> list[Path]:
    """Every dialog's EmoEvaluation file and, where it has one, its transcription."""
    files = []
    for evaluation in sorted(Path(entry["root"]).glob("Session*/dialog/EmoEvaluation/Ses*.txt")):
        transcript = evaluation.parent.parent / "transcriptions" / evaluation.name
        files += [evaluation, transcript] if transcript.is_file() else [evaluation]
    return files


def existing_path(entry: Mapping, key: str) -> Path:
    """``entry[key]`` as a path that exists.

    Raises:
        ValueError: the key is missing; FileNotFoundError: the path does not exist (naming the config key).
    """
    if not entry.get(key):
        raise InputError(f"the dataset entry needs a {key!r} path")
    path = Path(entry[key])
    if not path.exists():
        raise FileNotFoundError(f"{key} {path} does not exist; set datasets.<name>.{key} in config.yaml")
    return path


def read_meld_entry(entry: Mapping, *, require_media: bool) -> Corpus:
    from multiemo.corpora.meld import read_meld

    return read_meld(existing_path(entry, "root"), require_media=require_media)


def read_iemocap_entry(entry: Mapping, *, require_media: bool) -> Corpus:
    from multiemo.corpora.iemocap import read_iemocap

    return read_iemocap(
        existing_path(entry, "root"),
        test_sessions=tuple(entry.get("test_sessions", (5,))),
        validation_fraction=float(entry.get("validation_fraction", 0.1)),
        seed=int(entry.get("split_seed", 0)),
        require_media=require_media,
    )


def read_emorynlp_entry(entry: Mapping, *, require_media: bool) -> Corpus:
    """EmoryNLP has no media; ``require_media`` (asked only when audio or visual is extracted) is refused."""
    from multiemo.corpora.emorynlp import read_emorynlp

    if require_media:
        raise InputError("EmoryNLP is text only (no clips): set `modalities: [text]` for this dataset")
    return read_emorynlp(existing_path(entry, "root"))


def read_manifest_entry(entry: Mapping, *, require_media: bool) -> Corpus:
    """A manifest names its clips row by row; missing ones are reported, whatever ``require_media`` says."""
    from multiemo.corpora.manifest import read_manifest

    del require_media
    return read_manifest(existing_path(entry, "manifest"), labels=entry.get("labels"))


def manifest_modalities(entry: Mapping) -> list[str]:
    """Text only when the manifest names no media file at all; all modalities otherwise (or unreadable
    yet)."""
    from multiemo.corpora.manifest import manifest_has_media

    path = Path(entry.get("manifest") or "")
    try:
        has_media = not path.is_file() or manifest_has_media(path)
    except ValueError:  # a malformed manifest: the read job reports it, naming file and line
        has_media = True
    if has_media:
        return list(DEFAULT_MODALITIES)
    log.info("%s names no media: a text-only corpus (set modalities: in its dataset entry to change)", path)
    return ["text"]


for _entry in (
    Reader("meld", read_meld_entry, ("root",), sources=meld_sources),
    Reader("iemocap", read_iemocap_entry, ("root", "test_sessions", "validation_fraction", "split_seed"),
           sources=iemocap_sources),
    Reader("emorynlp", read_emorynlp_entry, ("root",), modalities=lambda entry: ["text"],
           sources=emorynlp_sources),
    Reader("manifest", read_manifest_entry, ("manifest", "labels"), modalities=manifest_modalities,
           sources=lambda entry: [Path(entry["manifest"])]),
):
    register_reader(_entry)

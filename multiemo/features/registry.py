"""The feature extractors, one entry per modality: the one place that says what a modality needs.

An entry names the modality's settings dataclass and the function that builds its extractor, and says
which settings change only speed or memory (``runtime_keys``: prediction may change them), whether the
workflow runs it in per-shard jobs over dialogues or in one job over the whole corpus, and what it reads
(the clips, the transcripts, or only the utterance table). The pipeline, the predictor, prediction's
settings check and the Snakemake rules read this registry, so a new extractor is one module (a settings
dataclass and a ``build`` function) plus one :func:`register_extractor` call, in this file or in user
code (a module named under ``plugins:`` in config.yaml, imported by the workflow and its jobs). Where
the workflow runs an extractor's jobs (conda env, threads, GPU) is the workflow's to say
(``workflow/rules/resources.smk`` and ``resources.<modality>_features`` in config.yaml), not this registry's.

Entries name their code as ``"module:attribute"`` strings, imported only when used: the workflow reads
the registry in an environment that may lack openSMILE, torch or transformers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from multiemo.features.base import ModalityFeatures
from multiemo.registry import Registry, load_plugins
from multiemo.settings import ConfigError, resolve

__all__ = [
    "EXTRACTORS",
    "ExtractionContext",
    "Extractor",
    "extractor",
    "load_plugins",
    "modalities",
    "register_extractor",
    "unregister_extractor",
]

#: What an extractor reads: the media clips, the transcript text, or only the utterance table.
READS = ("media", "text", "table")
#: The utterance-table columns read by an extractor of each kind (None: all): the workflow reruns its jobs
#: when the values in these columns change (:func:`multiemo.pipeline.content_digest`), not when a label does.
READ_COLUMNS: dict[str, tuple[str, ...] | None] = {
    "media": ("dialogue_id", "utterance_id", "media", "start", "end", "face_side"),
    "text": ("dialogue_id", "utterance_id", "position", "speaker", "text"),
    "table": None,
}


class Extract(Protocol):
    """A built extractor: features of every utterance of a table, in table order."""

    def __call__(self, table: pd.DataFrame, *, progress: bool) -> ModalityFeatures: ...


@dataclass(frozen=True)
class ExtractionContext:
    """Where and with what an extractor runs; none of it changes the features.

    Attributes:
        device: ``None``/``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
        cache_dir: a folder the extractor may cache intermediate results in (the workflow's ``cache``).
        inputs: extra input paths made by an earlier stage, e.g. ``"encoder"``: a fine-tuned text encoder.
    """

    device: str | None = None
    cache_dir: Path | None = None
    inputs: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class Extractor:
    """How one modality's features are made.

    Attributes:
        modality: its name in ``modalities:``, ``extraction.<modality>`` and the feature store.
        settings: the settings dataclass (``"module:Class"`` or the class); its defaults are the defaults.
        build: ``"module:function"`` or the function ``build(settings, context) -> Extract``, called with an
            instance of ``settings`` and an :class:`ExtractionContext`.
        runtime_keys: settings that change speed or memory only; every other setting must be recorded in
            the features' provenance under its own name, so that prediction can make them again.
        stage_keys: keys of the settings block that configure another stage (``finetune`` when
            :attr:`finetune` is set, added here).
        sharded: the workflow splits the dialogues into ``shards`` jobs; else one job over the corpus.
        reads: ``media`` (the corpus must have clips), ``text`` (absent when a conversation has no
            transcript) or ``table``.
        cache: the workflow gives the job ``results/{ds}/cache/{cache}`` as ``context.cache_dir``.
        finetune: the extractor can use a fine-tuned encoder: the ``finetune`` block of its settings
            configures the fine-tuning stage, and with ``extraction.<modality>.finetune.enabled`` the job gets
            the encoder made by the ``finetune_text_encoder`` rule as ``context.inputs["encoder"]``.
        version_keys: provenance keys that name library versions (a difference is logged, not an error), or
            ``"module:function"`` of the recorded provenance giving them.
        from_provenance: ``"module:function"`` turning recorded provenance into settings where the two
            differ (descriptions of bundled weights); None: the recorded values are the settings.
        file_keys: settings whose value may name a local file or folder the extractor reads (weights, a
            fine-tuned encoder): an exported model carries a copy of it.
        revision_key: the setting holding the Hugging Face hub revision of a ``file_keys`` value that is a
            hub repository id rather than a local path (an export pins the commit it was made with).
        later_keys: settings added after features were first recorded: an older record without one reads
            as the setting's default.
    """

    modality: str
    settings: str | type
    build: str | Callable
    runtime_keys: frozenset[str] = frozenset()
    stage_keys: frozenset[str] = frozenset()
    sharded: bool = True
    reads: str = "media"
    cache: str | None = None
    finetune: bool = False
    version_keys: frozenset[str] | str | Callable = frozenset()
    from_provenance: str | Callable | None = None
    file_keys: frozenset[str] = frozenset()
    revision_key: str | None = None
    later_keys: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.finetune:  # its finetune block configures the fine-tuning stage, not the extractor
            object.__setattr__(self, "stage_keys", self.stage_keys | {"finetune"})
        if self.reads not in READS:
            raise ValueError(f"extractor {self.modality!r}: reads must be one of {READS}, got {self.reads!r}")

    def settings_class(self) -> type:
        return resolve(self.settings)

    def recorded_keys(self) -> tuple[str, ...]:
        """Settings that determine the features: the dataclass fields except the runtime keys."""
        return tuple(f.name for f in dataclasses.fields(self.settings_class())
                     if f.name not in self.runtime_keys)

    def make_settings(self, values: Mapping[str, Any]) -> Any:
        """The settings dataclass from a config block; nested dataclass fields accept mappings.

        Raises:
            ValueError: a key the dataclass does not have, naming it and the known ones.
        """
        cls = self.settings_class()
        return _instance(cls, {k: v for k, v in values.items() if k not in self.stage_keys},
                         f"extraction.{self.modality}")

    def make(self, values: Mapping[str, Any], context: ExtractionContext | None = None) -> Extract:
        """The extractor built from a config block (settings checked by the dataclass)."""
        return resolve(self.build)(self.make_settings(values), context or ExtractionContext())

    def versions(self, recorded: Mapping[str, Any]) -> frozenset[str]:
        keys = self.version_keys
        return frozenset(resolve(keys)(recorded) if isinstance(keys, str) or callable(keys) else keys)

    def unrecorded(self, recorded: Mapping[str, Any]) -> list[str]:
        """The settings ``recorded`` lacks (those of :attr:`later_keys` may be absent)."""
        return [k for k in self.recorded_keys() if k not in recorded and k not in self.later_keys]

    def settings_from(self, recorded: Mapping[str, Any]) -> dict:
        """The settings that make features again as ``recorded`` says they were made."""
        defaults = {f.name: f.default for f in dataclasses.fields(self.settings_class())
                    if f.name in self.later_keys}
        settings = {k: recorded[k] if k in recorded else defaults[k] for k in self.recorded_keys()}
        return dict(resolve(self.from_provenance)(settings) if self.from_provenance else settings)


#: The extractors by modality (:class:`multiemo.registry.Registry`).
EXTRACTORS: Registry[Extractor] = Registry("feature extractor", setting="modalities: / extraction.<modality>")


def register_extractor(extractor: Extractor, *, replace: bool = False) -> Extractor:
    """Add ``extractor`` under its modality (``replace=True`` swaps an existing entry of the same
    modality)."""
    return EXTRACTORS.register(extractor.modality, extractor, replace=replace)


def unregister_extractor(modality: str) -> None:
    """Remove a modality's entry (tests register toy extractors and take them away again)."""
    EXTRACTORS.unregister(modality)


def extractor(modality: str) -> Extractor:
    """The entry of ``modality``.

    Raises:
        ConfigError: no extractor is registered for it, naming those that are.
    """
    return EXTRACTORS[modality]


def modalities() -> tuple[str, ...]:
    """Registered modalities, in registration order (built-ins: text, audio, visual)."""
    return EXTRACTORS.names()


def _instance(cls: type, values: Mapping[str, Any], where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {unknown}; known: {sorted(fields)}")
    kwargs = {}
    for name, value in values.items():
        nested = _nested_dataclass(fields[name])
        kwargs[name] = (_instance(nested, value, f"{where}.{name}") if nested and isinstance(value, Mapping)
                        else value)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:  # the settings class validates its values
        raise ConfigError(f"{where}: {err}") from None


def _nested_dataclass(spec: dataclasses.Field) -> type | None:
    """The dataclass type of a field whose default is a dataclass (e.g. VisualConfig.detection), else None."""
    default = spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default
    return type(default) if dataclasses.is_dataclass(default) else None


for _entry in (
    Extractor("text", "multiemo.features.extractors:TextConfig", "multiemo.features.extractors:build_text",
              runtime_keys=frozenset({"batch_size"}), sharded=False,
              reads="text", finetune=True,
              version_keys=frozenset({"transformers"}), file_keys=frozenset({"model"}),
              revision_key="revision", later_keys=frozenset({"revision"})),
    Extractor("audio", "multiemo.features.audio:AudioConfig", "multiemo.features.extractors:build_audio",
              version_keys=frozenset({"opensmile_version"})),
    Extractor("visual", "multiemo.features.visual:VisualConfig", "multiemo.features.extractors:build_visual",
              runtime_keys=frozenset({"batch_size"}), cache="faces",
              version_keys="multiemo.features.extractors:visual_version_keys",
              from_provenance="multiemo.features.extractors:visual_settings",
              file_keys=frozenset({"weights"})),
):
    register_extractor(_entry)

"""One source of truth for settings: the schema is held equal to the config dataclasses, presets state only
what differs from the defaults, validation fills nothing into a user's blocks, and the workflow trains every
job with the settings `multiemo train` resolves for it."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Mapping

import jsonschema
import pytest

from multiemo.features.audio import AudioConfig
from multiemo.features.faces import DetectionConfig
from multiemo.features.text import TextEncoder
from multiemo.features.text_finetune import finetune_text_encoder
from multiemo.features.visual import VisualConfig
from multiemo.models.config import ModelConfig
from multiemo.settings import fill_defaults, load_yaml
from multiemo.training.config import TrainConfig
from tests.conftest import REPO

SCHEMA = load_yaml(REPO / "workflow" / "schemas" / "config.schema.yaml")
DEFINITIONS = SCHEMA["definitions"]
# Schema block -> the dataclass that consumes it; nested dataclass fields are checked as their own block.
BLOCKS = {
    "model": (DEFINITIONS["model"], ModelConfig),
    "train": (DEFINITIONS["train"], TrainConfig),
    "audio": (DEFINITIONS["audio"], AudioConfig),
    "visual": (DEFINITIONS["visual"], VisualConfig),
    "visual.detection": (DEFINITIONS["visual"]["properties"]["detection"], DetectionConfig),
}
# Probing one bound at a time must not trip a check that ties two fields together.
COMPANIONS = {"model_dim": {"num_heads": 1}, "num_heads": {"model_dim": 2**20}}


def _default(field: dataclasses.Field):
    value = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
    return list(value) if isinstance(value, tuple) else value


def _accepts(cls: type, name: str, value) -> bool:
    try:
        cls(**{**COMPANIONS.get(name, {}), name: value})
    except (ValueError, TypeError):
        return False
    return True


def _probes(prop: Mapping, integer: bool) -> list:
    """Values on both sides of every numeric bound the schema states, and far values where it states none."""
    step = 1 if integer else 1e-6
    probes = []
    for key, sign in (("minimum", -1), ("exclusiveMinimum", 1), ("maximum", 1), ("exclusiveMaximum", -1)):
        if key in prop:
            probes += [prop[key], prop[key] + sign * step, prop[key] - sign * step]
    if "minimum" not in prop and "exclusiveMinimum" not in prop:
        probes.append(-(2**20))
    if "maximum" not in prop and "exclusiveMaximum" not in prop:
        probes.append(2**20)
    return probes


@pytest.mark.parametrize("block", BLOCKS)
def test_schema_keys_and_defaults_are_the_dataclass(block):
    schema, cls = BLOCKS[block]
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not dataclasses.is_dataclass(hints[f.name])}
    nested = {f.name for f in dataclasses.fields(cls)} - set(fields)
    assert set(schema["properties"]) - nested == set(fields)
    for name, field in fields.items():
        assert schema["properties"][name]["default"] == _default(field), f"{block}.{name}"


@pytest.mark.parametrize("block", BLOCKS)
def test_schema_bounds_and_choices_are_the_dataclass(block):
    """The schema refuses a value exactly when the dataclass does (probed at every bound and choice)."""
    schema, cls = BLOCKS[block]
    hints = typing.get_type_hints(cls)
    for name, prop in schema["properties"].items():
        types = prop.get("type")
        types = [types] if isinstance(types, str) else types or []
        if "integer" in types or "number" in types:
            probes = _probes(prop, "integer" in types)
        elif "string" in types:
            probes = [*prop.get("enum", []), "no-such-choice"]
        else:
            continue  # booleans, lists and nested blocks: their types are the schema's own checks
        if "null" in types:
            probes.append(None)
        for value in probes:
            if hints[name] is int and isinstance(value, float):
                continue
            schema_ok = jsonschema.Draft202012Validator(prop).is_valid(value)
            assert schema_ok == _accepts(cls, name, value), f"{block}.{name}={value!r}: schema says {schema_ok}"


def test_text_schema_defaults_are_the_library_defaults():
    """Text has no config dataclass: its library defaults are the encoder's and the fine-tuner's arguments.

    model, pooling, past, future and max_length are the workflow's own choice (the library's defaults
    fit any encoder: all context, the encoder's limit); config.yaml states them."""
    text = DEFINITIONS["text"]["properties"]
    encoder = inspect.signature(TextEncoder).parameters
    assert text["batch_size"]["default"] == encoder["batch_size"].default
    tune = inspect.signature(finetune_text_encoder).parameters
    for name, prop in text["finetune"]["properties"].items():
        if name != "enabled":
            assert prop["default"] == tune[name].default, f"text.finetune.{name}"
    stated = load_yaml(REPO / "config.yaml")["extraction"]["text"]
    for name in ("model", "pooling", "past", "future", "max_length", "speaker_names"):
        assert stated[name] == text[name]["default"], f"extraction.text.{name}"


def test_global_extraction_settings_are_the_schema_defaults():
    """config.yaml spells out the global extraction settings for users to edit; they are the defaults."""

    def check(stated: Mapping, schema: Mapping, where: str) -> None:
        for key, value in stated.items():
            prop = schema["properties"][key]
            prop = DEFINITIONS[prop["$ref"].split("/")[-1]] if "$ref" in prop else prop
            if isinstance(value, dict):
                check(value, prop, f"{where}.{key}")
            else:
                assert value == prop["default"], f"{where}.{key}"

    check(load_yaml(REPO / "config.yaml")["extraction"], SCHEMA["properties"]["extraction"], "extraction")


def test_presets_state_only_what_differs_from_the_defaults():
    presets = load_yaml(REPO / "config.yaml")["presets"]
    assert {"meld", "iemocap"} <= set(presets)
    defaults = {"model": ModelConfig, "train": TrainConfig}
    for name, preset in presets.items():
        for section, values in (preset or {}).items():
            fields = {f.name: f for f in dataclasses.fields(defaults[section])}
            for key, value in values.items():
                assert value != _default(fields[key]), f"presets.{name}.{section}.{key} restates the default"


def test_defaults_fill_top_level_settings_never_a_users_blocks():
    config = {
        "datasets": {"d": {"reader": "meld", "train": {"lr": 1e-3}, "model": {"dropout": 0.2},
                           "extraction": {"text": {"past": 0}}}},
        "presets": {"p": {"train": {"epochs": 3}}},
        "variants": {"v": []},
        "extraction": {"text": {"model": "roberta-base"}},
    }
    fill_defaults(config, SCHEMA)
    assert config["datasets"]["d"] == {"reader": "meld", "train": {"lr": 1e-3}, "model": {"dropout": 0.2},
                                       "extraction": {"text": {"past": 0}}}
    assert config["presets"] == {"p": {"train": {"epochs": 3}}} and config["variants"] == {"v": []}
    assert config["extraction"]["text"]["model"] == "roberta-base"  # stated: kept
    assert config["extraction"]["text"]["past"] == 2 and config["extraction"]["audio"]["sample_rate"] == 16000
    assert config["extraction"]["visual"]["detection"]["crop_size"] == 160
    assert config["default_variants"] == ["full"] and config["results"] == "results"

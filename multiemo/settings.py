"""Settings vocabulary shared by every floor: YAML files, ``key=value`` overrides, typed dataclass configs.

Nothing here knows about training, models or features; each config dataclass lives beside the code it
configures and is built from a mapping with :func:`from_mapping`.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import os
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from multiemo.errors import InputError


class ConfigError(InputError):
    """A configuration file or override is invalid."""


def load_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML config file with a clear error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}{_place(err)} is not valid YAML: {_problem(err)}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path} is not UTF-8 text (byte {err.start})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    return data


def _place(err: yaml.YAMLError) -> str:
    """``, line L, column C`` of a YAML error (where the parser stopped), or nothing when it has no mark."""
    mark = getattr(err, "problem_mark", None)
    return f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _problem(err: yaml.YAMLError) -> str:
    """A YAML error's problem in one line (with the context it names, e.g. the mapping left open)."""
    parts = [getattr(err, "context", None), getattr(err, "problem", None)]
    context_mark = getattr(err, "context_mark", None)
    if parts[0] and context_mark is not None:
        parts[0] = f"{parts[0]} (started at line {context_mark.line + 1})"
    return "; ".join(p for p in parts if p) or " ".join(str(err).split())


def validate_config(config: Mapping, schema: Mapping, *, source: str = "the config") -> None:
    """Check ``config`` against a JSON schema; the first error is one line naming the key's place, e.g.
    ``['datasets']['demo']['train']['lr']: -1 is less than the minimum of 0`` (not the schema it broke)."""
    import jsonschema  # with Snakemake, which calls this

    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        place = "".join(f"[{part!r}]" for part in error.absolute_path) or "the top level"
        message = " ".join(error.message.split())
        raise ConfigError(f"{source}, {place}: {message if len(message) <= 300 else message[:297] + '...'}")


def check_seeds(seeds: Sequence[int], where: str) -> list[int]:
    """``seeds`` as a list, refusing a repeated seed: it would train one run and count it twice
    (n = 2, std 0).

    Raises:
        ConfigError: naming ``where`` (the setting or option) and the repeated seed.
    """
    seeds = [int(s) for s in seeds]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ConfigError(f"{where} {seeds} repeats seed {repeated[0]}: each seed is one run, and a repeated "
                          "seed would count the same run twice in the mean and std; list each seed once")
    return seeds


def parse_overrides(overrides: Sequence[str]) -> dict:
    """Turn ``["train.epochs=3", "model.fusion=false"]`` into a nested mapping (values parsed as YAML)."""
    nested: dict = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"override {item!r} must look like section.key=value, e.g. train.epochs=3")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r} conflicts with another override")
        node[leaf] = value
    return nested


def deep_merge(base: Mapping, update: Mapping) -> dict:
    """Recursively merge ``update`` into a copy of ``base``."""
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def fill_defaults(config: dict, schema: Mapping) -> dict:
    """Set the JSON-schema ``default`` of every missing key the schema names under ``properties``.

    Only ``properties`` are followed (through local ``$ref``\\ s), never ``additionalProperties``: keys a
    user names freely (datasets, presets, variants) get nothing written into them, so a dataset's own
    ``model:``/``train:``/``extraction:`` block holds exactly what the user wrote. (Snakemake's
    ``validate(set_default=True)`` fills those too, which silently overrode presets.)
    """

    def resolve(node: Mapping) -> Mapping:
        while "$ref" in node:
            *_, name = node["$ref"].split("/")
            node = schema["definitions"][name]
        return node

    def fill(values: dict, node: Mapping) -> None:
        for key, sub in resolve(node).get("properties", {}).items():
            stated = sub if "default" in sub else resolve(sub)  # a default beside a $ref wins
            if key not in values and "default" in stated:
                values[key] = copy.deepcopy(stated["default"])
            if isinstance(values.get(key), dict):
                fill(values[key], sub)

    fill(config, schema)
    return config


def from_mapping(cls: type, values: Mapping[str, Any], *, section: str):
    """Build a config dataclass from a mapping, rejecting unknown keys and coercing types.

    YAML and command-line strings are coerced to each field's annotated type, so ``"false"`` is
    ``False``, ``"1e-4"`` is ``0.0001`` and a list becomes a tuple. A dataclass with a ``normalize(values)``
    classmethod reads other spellings of its keys through it first (TrainConfig: recorded loss weights).
    """
    normalize = getattr(cls, "normalize", None)
    if normalize is not None:
        values = normalize(values)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown {section} setting(s) {unknown}; known: {sorted(known)}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: _coerce(hints[name], value, f"{section}.{name}") for name, value in values.items()}
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{section}: {err}") from err


def _coerce(hint: Any, value: Any, name: str) -> Any:
    if dataclasses.is_dataclass(hint):  # a nested block, e.g. train.tracking
        if isinstance(value, hint):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{name} must be a mapping of settings, got {value!r}")
        return from_mapping(hint, value, section=name)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _coerce(options[0], value, name)
    if origin is tuple:
        items = [value] if isinstance(value, str) else list(value)
        (inner, *_rest) = typing.get_args(hint) or (str,)
        return tuple(_coerce(inner, item, name) for item in items)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
            return value.lower() in ("true", "yes", "1", "on")
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    if hint in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
        if hint is int:
            if number != int(number):
                raise ConfigError(f"{name} must be a whole number, got {value!r}")
            return int(number)
        return number
    if hint is str:
        return str(value)
    return value


def resolve(target: Any) -> Any:
    """The object a ``"module:attribute"`` reference names (registries name their code this way, so it is
    imported only when used); anything else is returned as it is."""
    if not isinstance(target, str):
        return target
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)

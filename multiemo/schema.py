"""The config schema, opened by the registries: a plugin's own settings validate like a built-in's.

``workflow/schemas/config.schema.yaml`` describes the built-in settings. :func:`open_schema` adds what the
registries know, so that it holds after plugins are loaded: every registered loss under ``train.losses``
(its default weight and description) and, beside that block, its old ``train.<name>_weight`` spelling
(deprecated, still read); every registered reader's own dataset keys; every registered extractor's block
under ``predict.extraction``. A key nobody registered is still refused, by name.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from multiemo.corpora.registry import READERS
from multiemo.features.registry import EXTRACTORS
from multiemo.losses.registry import LOSSES, default_weights
from multiemo.training.config import WEIGHT_SUFFIX


def open_schema(schema: Mapping) -> dict:
    """A copy of the config ``schema`` with the registered losses, readers' keys and extractors added."""
    schema = copy.deepcopy(dict(schema))
    train = schema["definitions"]["train"]["properties"]
    train["losses"]["properties"] = {
        name: {"type": "number", "minimum": 0, "default": float(loss.weight),
               "description": loss.description or f"weight of the {name} loss"}
        for name, loss in LOSSES.items()
    }
    train["losses"]["default"] = default_weights()
    for name in LOSSES:
        train.setdefault(f"{name}{WEIGHT_SUFFIX}", {
            "type": "number", "minimum": 0, "deprecated": True,
            "description": f"deprecated spelling of train.losses.{name} (read, with a warning)"})
    dataset = schema["properties"]["datasets"]["additionalProperties"]["properties"]
    for name, reader in READERS.items():
        described = reader.schema or {}
        for key in reader.keys:
            dataset.setdefault(key, dict(described.get(key)
                                         or {"description": f"a setting of the {name} reader"}))
    extraction = schema["properties"]["predict"]["properties"]["extraction"]["properties"]
    for modality in EXTRACTORS:
        extraction.setdefault(modality, {"type": "object",
                                         "description": f"runtime-only settings of the {modality} extractor"})
    return schema

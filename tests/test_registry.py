"""A new extractor, a new reader and a new loss are each one file plus one registration (README, "Adding an
extractor, a reader or a loss"): each file is written here, imported the documented way (``plugins:``),
then used (an extraction, a corpus read, a training objective) and its settings pass config validation."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from multiemo.corpora.registry import READERS
from multiemo.features.registry import EXTRACTORS
from multiemo.losses.registry import LOSSES
from multiemo.pipeline import extract_features, read_corpus
from multiemo.registry import Registry, load_plugins
from multiemo.schema import open_schema
from multiemo.settings import ConfigError, load_yaml, validate_config
from multiemo.training.config import TrainConfig, resolve_run_settings
from multiemo.training.objective import Objective
from tests.conftest import REPO

FILES = {
    # a loss: its module, a build and an apply function, one registration
    "focal_plugin": """
        import torch

        from multiemo.losses.registry import Loss, register_loss


        class Focal(torch.nn.Module):
            def forward(self, logits, labels):  # (N, C), (N,)
                p = torch.softmax(logits, dim=-1).gather(1, labels[:, None])[:, 0]  # (N,)
                return -((1 - p) ** 2 * torch.log(p)).mean()


        def build(train, class_counts):
            return Focal()


        def apply(loss, out, keep, labels):
            return loss(out.logits[keep], labels)


        register_loss(Loss("focal", build, apply, description="weight of the focal loss"))
    """,
    # a reader: a read function over its own dataset key, one registration
    "tsv_plugin": """
        from multiemo.corpora.manifest import read_manifest
        from multiemo.corpora.registry import Reader, register_reader


        def read(entry, *, require_media):
            return read_manifest(entry["tsv"], labels=["neutral", "joy"])


        register_reader(Reader("tsv", read, keys=("tsv",),
                               schema={"tsv": {"type": "string", "description": "the corpus table"}}))
    """,
    # an extractor: a settings dataclass, a build function, one registration
    "words_plugin": """
        from dataclasses import dataclass

        import numpy as np

        from multiemo.features.base import ModalityFeatures
        from multiemo.features.registry import Extractor, register_extractor
        from multiemo.keys import table_keys
        from multiemo.outcomes import OK, StageOutcomes


        @dataclass(frozen=True)
        class WordsConfig:
            scale: float = 1.0


        def build(settings, context):
            def extract(table, *, progress):
                words = table["text"].str.split().str.len().to_numpy(dtype=np.float32)[:, None]  # (N, 1)
                keys = table_keys(table)
                outcomes = StageOutcomes(stage="words")
                for key in keys:
                    outcomes.add(key, OK)
                return ModalityFeatures(keys=keys, values=words / settings.scale,
                                        present=np.ones(len(keys), bool),
                                        provenance={"extractor": "words", "scale": settings.scale, "dim": 1},
                                        outcomes=outcomes)

            return extract


        register_extractor(Extractor("words", WordsConfig, build, reads="text", sharded=False))
    """,
}
REGISTERED = {"focal_plugin": (LOSSES, "focal"), "tsv_plugin": (READERS, "tsv"),
              "words_plugin": (EXTRACTORS, "words")}


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """The three plugin files written in tmp_path, importable, loaded as config's ``plugins:`` loads them."""
    for name, source in FILES.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    load_plugins(list(FILES))
    yield tmp_path
    for module, (registry, name) in REGISTERED.items():
        registry.unregister(name)
        sys.modules.pop(module, None)


def _config(tmp_path: Path) -> dict:
    config = load_yaml(REPO / "config.yaml")
    config["plugins"] = list(FILES)
    config["extraction"]["words"] = {"scale": 2.0}
    config["datasets"]["mine"] = {"reader": "tsv", "tsv": str(tmp_path / "corpus.tsv"),
                                  "modalities": ["words"], "preset": "small_corpus",
                                  "train": {"losses": {"focal": 0.5}}}
    return config


def _schema() -> dict:
    return open_schema(load_yaml(REPO / "workflow" / "schemas" / "config.schema.yaml"))


def test_plugin_settings_validate_and_an_unknown_key_is_named(plugins):
    config = _config(plugins)
    validate_config(config, _schema())
    config["datasets"]["mine"]["tvs"] = "typo.tsv"
    with pytest.raises(ConfigError, match=r"\['datasets'\]\['mine'\].*'tvs' was unexpected"):
        validate_config(config, _schema())
    del config["datasets"]["mine"]["tvs"]
    config["datasets"]["mine"]["train"]["losses"]["facal"] = 0.1
    with pytest.raises(ConfigError, match=r"\['losses'\].*'facal' was unexpected"):
        validate_config(config, _schema())


def test_without_the_plugins_their_keys_are_refused():
    schema = _schema()
    config = load_yaml(REPO / "config.yaml")
    config["datasets"]["demo"]["train"] = {"losses": {"focal": 0.5}}
    with pytest.raises(ConfigError, match="'focal' was unexpected"):
        validate_config(config, schema)
    config["datasets"]["demo"]["train"] = {"ce_weight": 0.5}  # the old spelling still validates
    validate_config(config, schema)


def test_a_plugin_reader_and_extractor_run(plugins):
    rows = [{"dialogue_id": "d", "utterance_id": str(i), "speaker": "AB"[i % 2], "text": "so " * (i + 1),
             "label": ["neutral", "joy"][i % 2], "split": "train"} for i in range(4)]
    pd.DataFrame(rows).to_csv(plugins / "corpus.tsv", index=False)
    entry = _config(plugins)["datasets"]["mine"]
    corpus = read_corpus({k: entry[k] for k in ("reader", "tsv", "modalities")}, plugins / "corpus")
    assert len(corpus.table) == 4
    features = extract_features("words", plugins / "corpus", plugins / "words.npz", settings={"scale": 2.0},
                                progress=False)
    np.testing.assert_allclose(features.values[:, 0], [0.5, 1.0, 1.5, 2.0])


def test_a_plugin_loss_joins_the_objective(plugins):
    settings = resolve_run_settings(_config(plugins), "mine")
    assert settings["train"]["focal_weight"] == 0.5  # recorded beside the built-in weights
    train = TrainConfig(losses={"focal": 0.5})
    assert train.losses == {"ce": 0.4, "swfc": 0.3, "hgr": 0.3, "focal": 0.5}
    torch.manual_seed(0)
    logits = torch.randn(1, 3, 2)  # (B, T, C)
    out = SimpleNamespace(logits=logits, fused=torch.randn(1, 3, 4), modality={"words": torch.randn(1, 3, 4)})
    batch = SimpleNamespace(mask=torch.tensor([[True, True, False]]), labels=torch.tensor([[0, 1, -1]]))
    total, parts = Objective(train, np.array([5.0, 5.0]))(out, batch)
    assert set(parts) == {"ce", "swfc", "hgr", "focal"}
    assert float(total) == pytest.approx(sum(train.losses[k] * v for k, v in parts.items()), rel=1e-6)
    p = torch.softmax(logits[0, :2], -1)[[0, 1], [0, 1]]
    assert parts["focal"] == pytest.approx(float(-((1 - p) ** 2 * torch.log(p)).mean()), rel=1e-6)


def test_a_registry_imports_lazily_and_names_the_known_entries():
    registry: Registry = Registry("thing", setting="things:")
    registry.register("path", "pathlib:Path")
    assert registry["path"] is Path  # imported on first use
    with pytest.raises(ValueError, match="already registered"):
        registry.register("path", "pathlib:PurePath")
    with pytest.raises(ConfigError, match=r"unknown thing 'pth' \(things:\); known: \['path'\]"):
        registry["pth"]

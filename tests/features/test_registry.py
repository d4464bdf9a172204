"""A new extractor and a new reader are one module and one registry entry: a toy ``length`` extractor
(tests/features/toy_length.py) runs through the pipeline's stage functions, the real Snakemake workflow
(as a plugin) and ``predict``; a toy reader runs through ``read_corpus``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from multiemo.corpora.manifest import read_manifest
from multiemo.corpora.registry import Reader, reader, register_reader, unregister_reader
from multiemo.features.base import ModalityFeatures
from multiemo.features.registry import extractor, register_extractor, unregister_extractor
from multiemo.pipeline import assemble_store, extract_features, extract_shard, read_corpus
from multiemo.predict import predict
from multiemo.predict.settings import ProvenanceMismatch
from tests.conftest import REPO, local_snakemake_env

PLUGIN = "tests.features.toy_length"
SPLITS = {"train": 4, "validation": 2, "test": 2}


def write_manifest(path: Path, dialogues: dict[str, int] = SPLITS, utterances: int = 3) -> Path:
    """A media-free manifest: text, labels and times only (the toy reads nothing else)."""
    rows = []
    for split, count in dialogues.items():
        for d in range(count):
            for u in range(utterances):
                label = ["neutral", "joy"][(d + u) % 2]
                text = " ".join(["so"] * (1 + 3 * (label == "joy") + u))
                rows.append({"dialogue_id": f"{split}{d}", "utterance_id": str(u), "speaker": "AB"[u % 2],
                             "text": text, "label": label, "split": split, "media": "",
                             "start": 2.0 * u, "end": 2.0 * u + 1 + u})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def toy():
    """The toy extractor registered for one test (importing the plugin registers it), then removed."""
    import tests.features.toy_length as plugin

    register_extractor(plugin.ENTRY, replace=True)
    yield plugin
    unregister_extractor("length")


def test_toy_extractor_through_the_stage_functions(toy, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "toy.csv")
    corpus = read_corpus({"reader": "manifest", "manifest": str(manifest), "modalities": ["length"]},
                         tmp_path / "corpus")  # the toy reads the table: no media required
    shards = [tmp_path / f"shard_{i}.npz" for i in range(2)]
    for i, path in enumerate(shards):
        extract_shard("length", tmp_path / "corpus", path, shard=i, num_shards=2, settings={"scale": 5.0},
                      progress=False)
    whole = extract_features("length", tmp_path / "corpus", tmp_path / "whole.npz", settings={"scale": 5.0},
                             progress=False)
    store = assemble_store("toy", tmp_path / "corpus", {"length": shards}, tmp_path / "store")
    assert store.features("length").shape == (len(corpus.table), 3)
    np.testing.assert_array_equal(store.features("length"), whole.values)  # shards joined in corpus order
    words = corpus.table["text"].str.split().str.len().to_numpy() / 5.0
    np.testing.assert_allclose(whole.values[:, 0], words)
    assert ModalityFeatures.load(shards[0]).provenance == {"extractor": "length", "scale": 5.0, "dim": 3}
    with pytest.raises(ValueError, match=r"extraction\.length: unknown setting\(s\) \['scal'\]"):
        extract_features("length", tmp_path / "corpus", tmp_path / "x.npz", settings={"scal": 1})
    unregister_extractor("length")
    with pytest.raises(ValueError, match="unknown feature extractor 'length'"):
        extractor("length")


def test_toy_reader_through_read_corpus(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "toy.csv")

    def read_toy(entry, *, require_media):
        return read_manifest(entry["table"], labels=["neutral", "joy"])

    register_reader(Reader("toy", read_toy, ("table",)))
    try:
        corpus = read_corpus(
            {"reader": "toy", "table": str(manifest), "modalities": ["text"]}, tmp_path / "c"
        )
        assert corpus.labels == ["neutral", "joy"] and len(corpus.table) == 24
        assert reader("toy").keys == ("table",)
    finally:
        unregister_reader("toy")
    with pytest.raises(ValueError, match="unknown corpus reader 'toy'"):
        read_corpus({"reader": "toy"}, tmp_path / "c2")


def workflow_config(workdir: Path, manifest: Path, conversation: Path) -> Path:
    """The repo's config.yaml with a media-free 'toy' dataset on the plugin's modality alone."""
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["dataset"] = "toy"
    config["plugins"] = [PLUGIN]
    config["extraction"]["length"] = {"scale": 4.0}
    config["datasets"]["toy"] = {
        "reader": "manifest", "manifest": str(manifest), "modalities": ["length"], "preset": "meld",
        "shards": 2, "seeds": [1], "variants": ["full"],
        "model": {"modalities": ["length"], "context_modalities": ["length"], "model_dim": 8, "num_heads": 2,
                  "hidden_dim": 16, "classifier_hidden": 8},
        "train": {"epochs": 2, "batch_size": 2},
    }
    config["predict"] = {"manifest": str(conversation), "out": str(workdir / "predicted"), "device": "cpu"}
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def toy_workflow(tmp_path_factory) -> Path:
    """The workflow run for real on the toy dataset up to `predict` (it trains the run first)."""
    workdir = tmp_path_factory.mktemp("toy_workflow")
    manifest = write_manifest(workdir / "toy.csv")
    conversation = write_manifest(workdir / "talk.csv", {"test": 1}, utterances=4)
    workflow_config(workdir, manifest, conversation)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "-d", str(workdir),
           "--cores", "2", "predict"]
    # The plugin is a module of this repository: the workflow and its jobs import it from PYTHONPATH.
    env = local_snakemake_env(
        {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return workdir


def test_toy_extractor_through_the_workflow(toy_workflow: Path) -> None:
    features = toy_workflow / "results" / "toy" / "features" / "length"
    # a sharded job each
    assert sorted(p.name for p in features.iterdir()) == ["shard_0.npz", "shard_1.npz"]
    store = json.loads(
        (toy_workflow / "results" / "toy" / "store" / "store.json").read_text(encoding="utf-8")
    )
    assert store["modalities"]["length"]["provenance"] == {"extractor": "length", "scale": 4.0, "dim": 3}
    frame = pd.read_csv(toy_workflow / "predicted" / "predictions.csv")
    assert len(frame) == 4 and (frame["modalities"] == "length").all() and frame["length_present"].all()


def test_toy_extractor_through_predict(toy, toy_workflow: Path, tmp_path: Path) -> None:
    run = toy_workflow / "results" / "toy" / "runs" / "full" / "seed_1"
    talk = toy_workflow / "talk.csv"
    predictions = predict(run, tmp_path / "out", manifest=talk, device="cpu", progress=False,
                          overrides={"length": {"batch_size": 2}})  # a runtime key may change
    workflow = pd.read_csv(toy_workflow / "predicted" / "predictions.csv")
    assert list(predictions.table["emotion"]) == list(workflow["emotion"])
    np.testing.assert_allclose(predictions.table["confidence"], workflow["confidence"], atol=1e-6)
    with pytest.raises(
        ProvenanceMismatch, match=r"length\.scale: the run was trained on features made with 4\.0"
    ):
        predict(run, tmp_path / "bad", manifest=talk, device="cpu", progress=False,
                overrides={"length": {"scale": 1.0}})

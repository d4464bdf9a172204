"""The DAG sees the data: on one finished run of the real workflow, each edit a user makes to the corpus
reruns exactly the jobs it changes (Snakemake's own dry run says which), and the results follow the edit.

The tests share one finished run and edit it in turn; each leaves it finished again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from multiemo.corpora import Corpus
from multiemo.data.store import FeatureStore
from multiemo.pipeline import shard_table
from tests.workflow.conftest import finished_mini_run, planned_jobs, snakemake, write_config

# Real Snakemake runs of a finished mini workflow, edited in turn (minutes): `make test-deploy` runs them.
pytestmark = [pytest.mark.slow, pytest.mark.deploy]
# What every edit that reaches the store reruns after it: training (2 variants x 1 seed) and the report.
AFTER_STORE = {"assemble_store": 1, "train": 2, "aggregate_seeds": 2, "make_report": 1, "all": 1}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return finished_mini_run(tmp_path_factory.mktemp("edits"))


def _plan(workdir: Path) -> tuple[dict[str, int], str]:
    proc = snakemake(workdir, "--dry-run")
    return planned_jobs(proc), proc.stdout + proc.stderr


def _edit_csv(path: Path, row: int, column: str, value: str) -> str:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    old = table.at[row, column]
    table.at[row, column] = value
    table.to_csv(path, index=False)
    return old


def _store_row(workdir: Path, key: str, modality: str) -> np.ndarray:
    store = FeatureStore(workdir / "results" / "mini" / "store")
    keys = [f"{d}/{u}" for d, u in zip(store.table["dialogue_id"], store.table["utterance_id"])]
    return np.asarray(store.features(modality)[keys.index(key)])


def _report_made_after(workdir: Path, edited: Path) -> None:
    for path in (workdir / "results" / "mini" / "report").iterdir():
        assert path.stat().st_mtime > edited.stat().st_mtime, path


def test_touching_every_corpus_file_reruns_nothing(finished):
    """New time stamps on the same content (a copy, a fresh clone of the data): Snakemake compares
    checksums."""
    for path in (finished / "corpus").rglob("*"):
        os.utime(path)  # now: newer than every output
    jobs, _ = _plan(finished)
    assert jobs == {}


def test_a_relabelled_utterance_reruns_training_and_report_but_no_extraction(finished):
    csv = finished / "corpus" / "test_sent_emo.csv"
    old = _edit_csv(csv, 0, "Emotion", "anger")
    assert old != "anger"
    jobs, _ = _plan(finished)
    assert jobs == {"read_corpus": 1, **AFTER_STORE}
    snakemake(finished)
    table = Corpus.load(finished / "results" / "mini" / "corpus").table
    assert table.set_index(["dialogue_id", "utterance_id"]).at[("test_dia0", "0"), "label"] == "anger"
    # the report's confusion matrix (the sum of the runs' test matrices) counts the edited label
    results = finished / "results" / "mini"
    labels = json.loads((results / "report" / "summary.json").read_text())["variants"]["full"]["labels"]
    matrix = np.array(json.loads((results / "runs" / "full" / "seed_1" / "metrics.json").read_text())["test"][
        "confusion_matrix"])
    assert matrix[labels.index("anger")].sum() == (pd.read_csv(csv)["Emotion"] == "anger").sum()
    _report_made_after(finished, csv)
    assert _plan(finished)[0] == {}


def test_an_edited_transcript_reruns_text_features_not_audio_or_faces(finished):
    key = "test_dia1/1"
    before = _store_row(finished, key, "text")
    _edit_csv(finished / "corpus" / "test_sent_emo.csv", 4, "Utterance", "Completely different words now.")
    jobs, _ = _plan(finished)
    assert jobs == {"read_corpus": 1, "text_features": 1, **AFTER_STORE}
    snakemake(finished)
    store = FeatureStore(finished / "results" / "mini" / "store")
    assert "Completely different words now." in set(store.table["text"])
    assert not np.allclose(_store_row(finished, key, "text"), before)
    _report_made_after(finished, finished / "corpus" / "test_sent_emo.csv")
    assert _plan(finished)[0] == {}


def test_a_replaced_clip_reruns_its_own_shard_only(finished):
    results = finished / "results" / "mini"
    corpus = Corpus.load(results / "corpus")
    # dia3_utt0 is a neutral clip (dia3_utt2 is an angry one, byte for byte dia2_utt0: that copy reruns
    # nothing)
    key, source = "train_dia2/0", finished / "corpus" / "train_splits" / "dia3_utt0.mp4"
    shard = next(s for s in range(2) if "train_dia2" in set(shard_table(corpus.table, s, 2)["dialogue_id"]))
    before = _store_row(finished, key, "audio")
    shutil.copyfile(source, finished / "corpus" / "train_splits" / "dia2_utt0.mp4")
    jobs, text = _plan(finished)
    assert jobs == {"audio_features": 1, "visual_features": 1, **AFTER_STORE}
    rerun = set(re.findall(r"output: \S*features/(audio|visual)/shard_(\d)\.npz", text))  # the jobs' outputs
    assert rerun == {("audio", str(shard)), ("visual", str(shard))}
    snakemake(finished)
    np.testing.assert_allclose(_store_row(finished, key, "audio"),
                               _store_row(finished, "train_dia3/0", "audio"), rtol=1e-5)
    assert not np.allclose(_store_row(finished, key, "audio"), before)
    _report_made_after(finished, finished / "corpus" / "train_splits" / "dia2_utt0.mp4")
    assert _plan(finished)[0] == {}


def test_a_clip_added_where_one_was_missing_reruns_read_corpus_and_its_shard(finished):
    """The mini corpus lists train dia0 utt1 without its clip; adding it, then taking it away again."""
    results = finished / "results" / "mini"
    clip = finished / "corpus" / "train_splits" / "dia0_utt1.mp4"
    corpus = Corpus.load(results / "corpus")
    shard = next(s for s in range(2) if "train_dia0" in set(shard_table(corpus.table, s, 2)["dialogue_id"]))
    expected = {"read_corpus": 1, "audio_features": 1, "visual_features": 1, **AFTER_STORE}
    for step in ("added", "removed"):
        if step == "added":
            shutil.copyfile(finished / "corpus" / "train_splits" / "dia1_utt1.mp4", clip)
        else:
            clip.unlink()
        jobs, text = _plan(finished)
        assert jobs == expected, step
        rerun = set(re.findall(r"output: \S*features/(audio|visual)/shard_(\d)\.npz", text))
        assert rerun == {("audio", str(shard)), ("visual", str(shard))}, step
        snakemake(finished)
        statuses = Corpus.load(results / "corpus").outcomes.counts()
        if step == "added":
            assert statuses.get("missing_file", 0) == 0, statuses
            np.testing.assert_allclose(_store_row(finished, "train_dia0/1", "audio"),
                                       _store_row(finished, "train_dia1/1", "audio"), rtol=1e-5)
        else:
            assert statuses.get("missing_file", 0) == 1, statuses
        assert _plan(finished)[0] == {}, step


@pytest.mark.parametrize("dataset, message", [
    ({"reader": "meld", "root": "nowhere/MELD.Raw"}, "nowhere/MELD.Raw does not exist"),
    ({"reader": "manifest", "manifest": "nowhere/manifest.csv", "labels": ["joy"]}, "nowhere/manifest.csv"),
])
def test_a_missing_corpus_fails_the_dry_run_naming_dataset_and_path(tmp_path, dataset, message):
    write_config(tmp_path, tmp_path)
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    config["datasets"]["mini"] = {**dataset, "modalities": ["text"], "preset": "meld", "seeds": [1]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path, "--dry-run", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Job stats" not in text
    assert "dataset 'mini'" in text and message in text, text[-3000:]

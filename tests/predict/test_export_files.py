"""An export carries the files its extractors read (a fine-tuned text encoder, local face-backbone weights)
with their sha256, and predicts from a copy after the run, its store, the encoder and the weights are gone;
an export that would miss a file stops and names it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import multiemo
from multiemo.cli import main
from multiemo.conversations.inputs import from_video
from multiemo.features.text_finetune import HEAD_FILE
from multiemo.pipeline import assemble_store, extract_shard, extract_text_features, finetune_text
from multiemo.predict import Predictor, export_run
from multiemo.predict.bundle import ExportError, digest
from multiemo.training import train_run
from tests.predict.conftest import SMALL_MODEL, TEXT_SETTINGS

TOL = 1e-6
# Fine-tunes a text encoder, extracts three modalities, trains a run (minutes): `make test-deploy` runs it.
pytestmark = [pytest.mark.slow, pytest.mark.deploy]


def local_backbone_weights(path: Path) -> Path:
    """A local InceptionResnetV1 weights file, as a user passes the VGGFace2 file (random weights, 512-d)."""
    import facenet_pytorch

    torch.manual_seed(0)
    torch.save(facenet_pytorch.InceptionResnetV1(pretrained=None).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def tuned(mini_store, talk, tmp_path_factory) -> dict:
    """A run on a fine-tuned MiniLM encoder and local backbone weights, its video predictions, its export
    copied elsewhere; then the run, the store, the corpus, the encoder and the weights deleted. The corpus
    and audio features are copies of the session's demo store's (tests.predict.conftest.build_store)."""
    root = tmp_path_factory.mktemp("tuned")
    corpus = Path(shutil.copytree(mini_store.parent / "corpus", root / "corpus"))
    files = {"audio": [Path(shutil.copy(mini_store.parent / "audio.npz", root / "audio.npz"))],
             "text": [root / "text.npz"], "visual": [root / "visual.npz"]}
    encoder = root / "text_encoder"
    finetune_text(corpus, encoder, settings={**TEXT_SETTINGS, "finetune": {"epochs": 1, "batch_size": 8}},
                  progress=False)
    weights = local_backbone_weights(root / "vggface2.pt")
    extract_shard("visual", corpus, files["visual"][0], shard=0, num_shards=1,
                  settings={"num_frames": 2, "backbone": "inception_resnet_v1", "weights": str(weights)},
                  progress=False)
    extract_text_features(corpus, files["text"][0], settings=TEXT_SETTINGS, encoder_path=encoder,
                          progress=False)
    store = assemble_store("tuned", corpus, files, root / "store").root
    run = root / "run"
    train_run(store, {"model": {**SMALL_MODEL, "modality_dropout": 0.3},
                      "train": {"epochs": 2, "batch_size": 2, "lr": 1e-3, "device": "cpu"}},
              run, progress=False)
    conversation = from_video(talk["video"], talk["srt"], progress=False)
    by_run = Predictor(run, device="cpu", progress=False).predict(conversation)
    exported = export_run(run, root / "export")
    copied = Path(shutil.copytree(exported, root / "far" / "model"))
    # to show the refusal once the files are gone
    kept_run = Path(shutil.copytree(run, root / "kept" / "run"))
    sources = {"encoder": str(encoder), "weights": str(weights), "encoder_files": digest(encoder)[1],
               "weights_digest": digest(weights)[0]}
    for gone in (exported, run, store, corpus, encoder):
        shutil.rmtree(gone)
    weights.unlink()
    return {"model": copied, "by_run": by_run, "conversation": conversation, "kept_run": kept_run, **sources}


def test_a_copied_export_of_a_fine_tuned_run_predicts_without_run_store_or_encoder(tuned):
    model = multiemo.load(tuned["model"], device="cpu", progress=False)
    again = model.predict(tuned["conversation"])
    columns = [c for c in again.table if c.startswith("p_")]
    expected = tuned["by_run"].table[columns].to_numpy()
    assert columns and np.abs(again.table[columns].to_numpy() - expected).max() <= TOL
    assert again.table["text_present"].all() and again.table["visual_present"].any()


def test_config_records_each_carried_file_with_its_sha256(tuned):
    config = json.loads((tuned["model"] / "config.json").read_text())
    text, visual = config["files"]["text"]["model"], config["files"]["visual"]["weights"]
    # the encoder's files as fine-tuned, but its classifier head (a pickle prediction never reads)
    assert text["source"] == tuned["encoder"]
    assert text["files"] == {k: v for k, v in tuned["encoder_files"].items() if k != HEAD_FILE}
    assert HEAD_FILE in tuned["encoder_files"] and not any(name.endswith(".pt") for name in text["files"])
    assert visual["source"] == tuned["weights"] and visual["sha256"] == tuned["weights_digest"]
    assert digest(tuned["model"] / text["path"])[0] == text["sha256"]
    assert (tuned["model"] / text["path"] / "multiemo_finetune.json").is_file()
    assert config["extraction"]["text"]["fine_tuned"] is True and config["video_prediction"] is True
    card = (tuned["model"] / "README.md").read_text()
    assert text["path"] in card and visual["path"] in card


def test_a_changed_carried_file_is_refused_naming_it(tuned, tmp_path):
    copy = Path(shutil.copytree(tuned["model"], tmp_path / "model"))
    config = json.loads((copy / "config.json").read_text())
    changed = copy / config["files"]["text"]["model"]["path"] / "config.json"
    original = changed.read_text()
    changed.write_text(original + " ")
    with pytest.raises(ExportError, match=f"{changed} differs from the file exported"):
        Predictor(copy, device="cpu", progress=False)
    changed.write_text(original)
    (copy / config["files"]["visual"]["weights"]["path"]).unlink(missing_ok=True)
    with pytest.raises(ExportError, match="not found: .* says the export carries it"):
        Predictor(copy, device="cpu", progress=False)


def test_exporting_a_run_whose_files_are_gone_names_them(tuned, tmp_path, capsys):
    with pytest.raises(ExportError) as caught:
        export_run(tuned["kept_run"], tmp_path / "export")
    message = str(caught.value)
    assert f"text.model = {tuned['encoder']}" in message and f"visual.weights = {tuned['weights']}" in message
    assert not (tmp_path / "export").exists()
    assert main(["--quiet", "export", str(tuned["kept_run"]), str(tmp_path / "export")]) == 1
    assert "would not carry what prediction needs" in capsys.readouterr().err

"""The battery of bad inputs (issue 26) for prediction and exports: one message naming the file or the
setting, exit 1, before any media is read; an utterance no input reached is flagged and counted."""

from __future__ import annotations

import json
import os
import shutil
import stat

import numpy as np
import pytest

from multiemo.cli import EXIT_ERROR, main
from multiemo.predict import export_run
from tests.clips import write_clip
from tests.test_bad_inputs import one_error


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    return export_run(trained_run, tmp_path_factory.mktemp("bad_inputs") / "export")


def tampered(exported, tmp_path, edit):
    """A copy of the export whose config.json went through ``edit`` (a function of the parsed config, or
    the text to write instead)."""
    copy = shutil.copytree(exported, tmp_path / "model")
    path = copy / "config.json"
    if callable(edit):
        config = json.loads(path.read_text())
        edit(config)
        path.write_text(json.dumps(config))
    else:
        path.write_text(edit)
    return copy


def predict(model, tmp_path, *extra, video=None, run=False) -> int:
    """``multiemo predict`` of a video that does not exist unless given: only a check made before the media
    are read can answer about anything else."""
    return main(["--quiet", "predict", "--run" if run else "--model", str(model),
                 "--video", str(video or tmp_path / "never_read.mp4"), "--out", str(tmp_path / "out"),
                 *extra])


def test_a_config_json_nested_100k_deep_names_the_file(exported, tmp_path, capsys):
    model = tampered(exported, tmp_path, "[" * 100_000 + "]" * 100_000)
    assert predict(model, tmp_path) == EXIT_ERROR
    assert f"{model / 'config.json'} is not valid JSON (nested deeper than a JSON reader follows)" \
        in one_error(capsys)


def test_an_edited_input_dimension_blames_the_pair_not_the_weights_or_the_version(exported, tmp_path, capsys):
    def widen(config):
        config["input_dims"]["audio"] += 1

    model = tampered(exported, tmp_path, widen)
    assert predict(model, tmp_path) == EXIT_ERROR
    message = one_error(capsys)
    assert f"{model / 'config.json'} and {model / 'model.safetensors'} do not fit together" in message
    assert "one of them was edited" in message and "cannot be loaded by this version" not in message


@pytest.mark.parametrize("parties", [0, -2, "2", 1.5])
def test_a_bad_num_parties_is_refused_before_any_input_is_read(exported, tmp_path, capsys, parties):
    model = tampered(exported, tmp_path, lambda config: config.update(num_parties=parties))
    assert predict(model, tmp_path) == EXIT_ERROR  # the video does not exist: it was never reached
    assert f"{model / 'config.json'}: num_parties must be a whole number >= 1" in one_error(capsys)


def test_the_weights_of_an_export_are_as_readable_as_its_config(exported):
    modes = {name: stat.S_IMODE(os.stat(exported / name).st_mode)
             for name in ("config.json", "model.safetensors")}
    assert modes["model.safetensors"] == modes["config.json"], modes


def test_an_out_that_is_a_file_fails_before_the_prediction(trained_run, tmp_path, capsys):
    (tmp_path / "out").write_text("not a folder")
    assert predict(trained_run, tmp_path, run=True) == EXIT_ERROR
    assert (f"the output folder {tmp_path / 'out'} cannot be made: {tmp_path / 'out'} is a file"
            in one_error(capsys))


def test_more_speakers_than_max_speakers_is_a_setting_error(trained_run, tmp_path, capsys):
    assert predict(trained_run, tmp_path, "--set", "diarization.num_speakers=100", run=True) == EXIT_ERROR
    assert "diarization num_speakers=100 is above max_speakers=8" in one_error(capsys)


def test_silence_is_predicted_from_no_input_and_flagged(trained_run, tmp_path, capsys):
    """30 s of digital silence and blank frames: no speech, no face, no transcript. The model still gives its
    prior; every utterance is marked as made from nothing (never low_confidence false) and counted."""
    video = write_clip(tmp_path / "silence.mp4", frames=np.zeros((30 * 2, 64, 64, 3), np.uint8), fps=2,
                       audio=np.zeros(30 * 16000, np.float32))
    assert predict(trained_run, tmp_path, "--device", "cpu", video=video, run=True) == 0
    assert "no_input.utterances" in capsys.readouterr().out
    result = json.loads((tmp_path / "out" / "predictions.json").read_text())
    records = result["utterances"]
    assert records and all(not any(m["present"] for m in r["modalities"].values()) for r in records)
    assert all(r["low_confidence"] for r in records)
    assert result["counts"]["no_input"] == {"utterances": len(records)}

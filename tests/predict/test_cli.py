"""``multiemo predict``: files and a one-line summary on success, one clear line and exit 1 on a user
error."""

from __future__ import annotations

import json

import pytest

from multiemo.cli import main


def test_predict_command_writes_files_and_summary(trained_run, talk, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["--quiet", "predict", "--run", str(trained_run), "--video", str(talk["video"]),
                 "--out", str(out), "--device", "cpu", "--set", "visual.batch_size=4",
                 "--set", "segmentation.min_silence=0.3", "--set", "segmentation.vad=energy",
                 "--low-confidence", "1.0"])
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"predictions.csv", "predictions.json", "timeline.png",
                                               "predictions.html"}
    document = json.loads((out / "predictions.json").read_text())
    assert document["low_confidence"] == {"threshold": 1.0, "utterances": 3}  # every confidence is below 1
    printed = capsys.readouterr().out
    assert "3 utterances" in printed and "text 0/3, audio 3/3, visual 3/3" in printed
    assert "text.no_transcript': 3" in printed


@pytest.mark.parametrize("args, message", [
    (["--video", "{video}", "--set", "audio.feature_set=emobase"], "audio.feature_set: the run was trained"),
    (["--video", "{tmp}/absent.mp4"], "absent.mp4 not found"),
    (["--manifest", "{tmp}/absent.csv"], "absent.csv not found"),
    (["--video", "{video}", "--set", "nonsense"], "must look like section.key=value"),
    (["--video", "{video}", "--set", "segmentation.speed=2"], "unknown segmentation setting(s) ['speed']"),
    (["--video", "{video}", "--set", "visual=2"], "overrides for visual must map settings to values"),
])
def test_user_errors_are_one_line_and_exit_1(trained_run, talk, tmp_path, capsys, args, message):
    args = [a.format(video=talk["video"], tmp=tmp_path) for a in args]
    code = main(["--quiet", "predict", "--run", str(trained_run), "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err[-1].startswith("multiemo predict: error: ") and message in err[-1]
    assert not (tmp_path / "out").exists()


def test_transcript_needs_a_video(trained_run, talk, tmp_path, capsys):
    code = main(["predict", "--run", str(trained_run), "--manifest", "m.csv", "--transcript",
                 str(talk["srt"]), "--out", str(tmp_path)])
    assert code == 1 and "--transcript goes with --video" in capsys.readouterr().err

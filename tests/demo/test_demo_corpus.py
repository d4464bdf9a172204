"""The committed demo corpus (workflow/demo/meld_layout): MELD's layout, readable clips, the planned labels.

These read the committed files only; regenerating the corpus is slow and needs espeak-ng.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

from workflow.demo.generator.generate import CUES_FILE, MELD_COLUMNS, corrupt_bytes, meld_table
from workflow.demo.generator.plan import MELD_SPLITS, CorpusSpec, cue_table, plan_corpus

CORPUS = Path(__file__).resolve().parents[2] / "workflow" / "demo" / "meld_layout"
REAL_MELD = Path(__file__).resolve().parents[3] / "shared" / "data" / "meld"

# Pinned so that a change of design or seed shows up here and in the corpus README together.
LABEL_COUNTS = {
    "train": {"neutral": 84, "joy": 66, "sadness": 35, "anger": 59},
    "dev": {"neutral": 20, "joy": 11, "sadness": 9, "anger": 9},
    "test": {"neutral": 16, "joy": 13, "sadness": 18, "anger": 23},
}


@pytest.fixture(scope="module")
def cues() -> pd.DataFrame:
    return pd.read_csv(CORPUS / CUES_FILE)


def read_split(split: str) -> pd.DataFrame:
    return pd.read_csv(CORPUS / MELD_SPLITS[split][0], encoding="utf-8")


@pytest.mark.parametrize("split", list(MELD_SPLITS))
def test_csv_columns_are_melds(split):
    assert tuple(read_split(split).columns) == MELD_COLUMNS


@pytest.mark.skipif(not REAL_MELD.is_dir(), reason=f"real MELD annotations not found at {REAL_MELD}")
@pytest.mark.parametrize("split", list(MELD_SPLITS))
def test_csv_header_and_line_endings_match_real_meld(split):
    name = MELD_SPLITS[split][0]
    real, demo = (REAL_MELD / name).read_bytes(), (CORPUS / name).read_bytes()
    assert demo.split(b"\r\n")[0] == real.split(b"\r\n")[0]
    assert demo.count(b"\r\n") == demo.count(b"\n")  # CRLF throughout, as MELD


@pytest.mark.parametrize("split", list(MELD_SPLITS))
def test_label_counts(split):
    table = read_split(split)
    assert table.Emotion.value_counts().to_dict() == LABEL_COUNTS[split]
    assert table.groupby("Dialogue_ID").Speaker.nunique().between(2, 3).all()


def test_committed_corpus_is_what_the_generator_plans(cues):
    """The committed CSVs and cue table equal a fresh plan: code and data never drift apart."""
    plans = plan_corpus(CorpusSpec())
    pd.testing.assert_frame_equal(cues, cue_table(plans), check_dtype=False)
    for split, (csv_name, _) in MELD_SPLITS.items():
        buffer = io.StringIO(newline="")
        meld_table(plans, split).to_csv(buffer, index=False, lineterminator="\r\n")
        assert buffer.getvalue().encode("utf-8") == (CORPUS / csv_name).read_bytes(), csv_name


def test_every_listed_clip_exists_except_the_missing_one(cues):
    listed = {
        f"{clip_dir}/dia{d}_utt{u}.mp4"
        for split, (_, clip_dir) in MELD_SPLITS.items()
        for d, u in read_split(split)[["Dialogue_ID", "Utterance_ID"]].itertuples(index=False)
    }
    absent = {clip for clip in listed if not (CORPUS / clip).is_file()}
    assert absent == set(cues["clip"][cues.fate == "missing"])
    assert len(absent) == 1
    on_disk = {p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/*.mp4")}
    assert on_disk == listed - absent  # no stray clips either


def test_corrupt_clip_is_not_a_video(cues):
    (clip,) = cues["clip"][cues.fate == "corrupt"]
    assert (CORPUS / clip).read_bytes() == corrupt_bytes(CorpusSpec().seed)
    with pytest.raises(av.error.FFmpegError):
        av.open(str(CORPUS / clip)).close()


def test_sample_clips_decode_with_audio_and_video(cues):
    ok = cues[cues.fate == "ok"]
    sample = ok.groupby("split").head(2)  # a few per split
    for row in sample.itertuples():
        with av.open(str(CORPUS / row.clip)) as container:
            video, audio = container.streams.video[0], container.streams.audio[0]
            assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
            assert audio.codec_context.layout.name == "mono"
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
            fps = float(video.average_rate)
        with av.open(str(CORPUS / row.clip)) as container:
            samples = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
        duration = (row.end_ms - row.start_ms) / 1000
        assert frames[0].shape == (240, 320, 3)
        assert len(frames) == round(duration * fps)
        assert samples.size / audio.codec_context.sample_rate == pytest.approx(duration, abs=0.1)
        assert np.abs(samples).max() > 0.05  # someone speaks


def test_corpus_is_small():
    size = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    assert size < 8 * 2**20


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng not installed (only generation needs it)"
)
def test_rendering_is_deterministic(tmp_path, cues):
    """Rendering twice gives the same bytes; with the recorded tool versions, the committed bytes."""
    from workflow.demo.generator.readme import av_version_line
    from workflow.demo.generator.render import espeak_version, render_clip

    plan = next(p for p in plan_corpus(CorpusSpec()) if p.fate == "ok" and p.split == "test")
    for name in ("a.mp4", "b.mp4"):
        render_clip(plan, tmp_path / name, fps=CorpusSpec().fps)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    if espeak_version() in readme and av_version_line() in readme:
        assert (tmp_path / "a.mp4").read_bytes() == (CORPUS / plan.clip).read_bytes()

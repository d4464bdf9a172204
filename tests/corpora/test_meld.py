import csv
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from multiemo.corpora import COLUMNS, MELD_LABELS, Corpus, read_meld

from .conftest import write_mp4

FOLDERS = {"train": "train_splits", "dev": "dev_splits_complete", "test": "output_repeated_splits_test"}


def test_real_meld_annotations(meld_dir: Path, tmp_path: Path) -> None:
    corpus = read_meld(meld_dir, require_media=False)
    table = corpus.table
    assert corpus.labels == list(MELD_LABELS)
    sizes = table.groupby("split").agg(n=("text", "size"), d=("dialogue_id", "nunique"))
    assert sizes.loc["train"].tolist() == [9989, 1038]
    assert sizes.loc["validation"].tolist() == [1109, 114]
    assert sizes.loc["test"].tolist() == [2610, 280]
    assert table["party"].max() <= 8  # at most 9 parties in a MELD dialogue
    train = table[table["split"] == "train"]
    assert train.groupby("dialogue_id")["position"].max().max() == 23  # longest train dialogue: 24 utterances
    assert table["label"][table["split"] == "train"].value_counts()["neutral"] == 4710
    assert (table["media"] == "").all() and table["start"].isna().all()
    assert corpus.outcomes.counts() == {"ok": len(table)}
    # Dialogue ids are unique across splits: dialogue 0 exists in every part.
    assert {"train_dia0", "dev_dia0", "test_dia0"} <= set(table["dialogue_id"])
    first = table.iloc[0]
    assert (first["dialogue_id"], first["utterance_id"], first["speaker"]) == ("train_dia0", "0", "Chandler")
    assert first["clip_start"] == pytest.approx(16 * 60 + 16.059)  # "00:16:16,059"
    short = table[(table["dialogue_id"] == "train_dia19") & (table["utterance_id"] == "0")].iloc[0]
    assert short["clip_start"] == pytest.approx(10 * 60 + 11.861)  # "0:10:11,861"
    assert (table["clip_end"] >= table["clip_start"]).all()  # test dia155 utt3 has a zero-length stamp
    assert table["text"].str.contains("’").sum() > 3000  # rows with typographic apostrophes, kept
    assert table["text"].str.contains("é").any()
    # MELD's Utterance_IDs have gaps (train dia1 jumps from 5 to 8); positions do not.
    dia1 = table[table["dialogue_id"] == "train_dia1"]
    assert list(dia1["utterance_id"])[5:7] == ["5", "8"]
    assert list(dia1["position"]) == list(range(len(dia1)))
    loaded = Corpus.load(corpus.save(tmp_path / "meld"))
    pd.testing.assert_frame_equal(loaded.table[list(COLUMNS)], table[list(COLUMNS)], check_dtype=False)


def _mini_release(meld_dir: Path, root: Path, dialogues: dict[str, list[int]]) -> None:
    """Copy the rows of a few real dialogues per part into ``root`` as MELD-layout CSVs."""
    for part, keep in dialogues.items():
        name = f"{part}_sent_emo.csv"
        with open(meld_dir / name, encoding="utf-8", newline="") as src:
            rows = list(csv.reader(src))
        kept = [rows[0]] + [r for r in rows[1:] if int(r[5]) in keep]
        with open(root / name, "w", encoding="utf-8", newline="") as dst:
            csv.writer(dst).writerows(kept)


def test_mini_release_counts_missing_and_empty_clips(meld_dir: Path, tmp_path: Path) -> None:
    _mini_release(meld_dir, tmp_path, {"train": [0, 1], "dev": [0], "test": [0]})
    for folder in FOLDERS.values():
        (tmp_path / folder).mkdir()
    write_mp4(tmp_path / "train_splits" / "dia0_utt0.mp4")
    shutil.copy(tmp_path / "train_splits" / "dia0_utt0.mp4", tmp_path / "train_splits" / "dia0_utt1.mp4")
    (tmp_path / "train_splits" / "dia0_utt2.mp4").write_bytes(np.random.default_rng(0).bytes(2000))  # corrupt
    (tmp_path / "train_splits" / "dia0_utt3.mp4").write_bytes(b"")
    write_mp4(tmp_path / "dev_splits_complete" / "dia0_utt0.mp4")

    corpus = read_meld(tmp_path)
    table, outcomes = corpus.table, corpus.outcomes
    assert table["dialogue_id"].unique().tolist() == ["train_dia0", "train_dia1", "dev_dia0", "test_dia0"]
    assert len(outcomes.statuses) == len(table)  # every utterance is accounted for, none skipped
    statuses = outcomes.statuses
    assert statuses["train_dia0/0"] == statuses["train_dia0/1"] == "ok"
    # Decoding is the media stage's job: a corrupt clip passes here and is counted there as "corrupt".
    assert statuses["train_dia0/2"] == "ok"
    assert statuses["train_dia0/3"] == "empty_file"
    assert statuses["dev_dia0/0"] == "ok"
    missing = outcomes.problems()["missing_file"]
    assert "train_dia1/0" in missing and "test_dia0/0" in missing
    assert outcomes.counts()["ok"] == 4
    media = table.set_index(["dialogue_id", "utterance_id"])["media"]
    assert media[("train_dia1", "0")] == str((tmp_path / "train_splits" / "dia1_utt0.mp4").resolve())
    assert table["media"].map(lambda p: Path(p).is_absolute()).all()
    assert set(table["split"]) == {"train", "validation", "test"}


def test_missing_folders_say_how_to_go_text_only(meld_dir: Path, tmp_path: Path) -> None:
    _mini_release(meld_dir, tmp_path, {"train": [0], "dev": [0], "test": [0]})
    with pytest.raises(ValueError, match=r"clip folders not found.*require_media=False"):
        read_meld(tmp_path)
    corpus = read_meld(tmp_path, require_media=False, splits=("train", "test"))
    assert set(corpus.table["split"]) == {"train", "test"}


def _write_csv(
    root: Path, header: list[str], rows: list[list[str]], name: str = "train_sent_emo.csv"
) -> None:
    with open(root / name, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])


HEADER = (
    "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime"
)


def _row(sr: int, emotion: str = "joy", start: str = "0:00:01,000", utt: int = 0) -> list[str]:
    return [str(sr), "Hi!", "Ross", emotion, "positive", "3", str(utt), "1", "1", start, "0:00:02,000"]


@pytest.mark.parametrize(
    ("header", "rows", "match"),
    [
        (HEADER.replace(",Emotion", ""), [], r"missing columns \['Emotion'\]"),
        (
            HEADER,
            [_row(1), _row(2, emotion="happy", utt=1)],
            r"train_sent_emo.csv, row 2 \(Sr No. 2\): unknown emotion 'happy'.*MELD labels are \['neutral'",
        ),
        (
            HEADER,
            [_row(7, start="00:00:01.0.0")],
            r"row 1 \(Sr No. 7\), StartTime: time stamp '00:00:01.0.0'",
        ),
        (HEADER, [_row(1), _row(2)], r"row 1 \(Sr No. 1\) and row 2 \(Sr No. 2\): the same Dialogue_ID"),
    ],
)
def test_malformed_meld_csv(tmp_path: Path, header: str, rows: list[list[str]], match: str) -> None:
    columns = header.split(",")
    full = HEADER.split(",")
    _write_csv(tmp_path, columns, [[cell for cell, c in zip(r, full) if c in columns] for r in rows])
    with pytest.raises(ValueError, match=match):
        read_meld(tmp_path, require_media=False, splits=("train",))


def test_cp1252_csv_is_repaired(tmp_path: Path) -> None:
    text = HEADER + '\n1,You must\x92ve had it,Ross,Joy,positive,0,0,1,1,"0:00:01,000","0:00:02,000"\n'
    (tmp_path / "train_sent_emo.csv").write_bytes(text.encode("latin-1"))
    corpus = read_meld(tmp_path, require_media=False, splits=("train",))
    assert corpus.table["text"].iat[0] == "You must’ve had it"
    assert corpus.table["label"].iat[0] == "joy"  # emotion spelling is case-insensitive


def test_unknown_split_and_missing_csv(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MELD splits must be among"):
        read_meld(tmp_path, splits=("dev",))
    with pytest.raises(ValueError, match="annotation files not found"):
        read_meld(tmp_path, require_media=False)

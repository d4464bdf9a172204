from pathlib import Path

import pytest

from multiemo.corpora import read_iemocap

# (turn, start, end, code, text) per dialog; times deliberately out of order in one file.
DIALOGS = {
    "Ses01F_impro01": [
        ("Ses01F_impro01_F000", 6.2901, 8.2357, "neu", "Excuse me."),
        ("Ses01F_impro01_M000", 8.5, 10.0, "fru", "Do you have your forms?"),
        ("Ses01F_impro01_F001", 10.2, 11.9, "xxx", "Yeah."),
        ("Ses01F_impro01_M001", 12.0, 14.5, "ang", "Let me see them."),
    ],
    "Ses01M_script01_1": [
        ("Ses01M_script01_1_M001", 3.0, 5.0, "exc", "We did it!"),
        ("Ses01M_script01_1_F000", 1.0, 2.5, "hap", "Guess what — “good” news."),
        ("Ses01M_script01_1_F001", 5.5, 7.0, "sur", "Really?"),
    ],
    "Ses02F_impro02": [("Ses02F_impro02_F000", 1.0, 2.0, "sad", "I miss him.")],
    "Ses02M_impro03": [("Ses02M_impro03_M000", 1.0, 2.0, "neu", "Fine.")],
    "Ses05F_impro01": [
        ("Ses05F_impro01_M000", 0.5, 1.5, "neu", "Hi."),
        ("Ses05F_impro01_F000", 2.0, 3.0, "hap", "Hello!"),
    ],
}


def _write_release(root: Path, *, skip_video: str = "", skip_transcript_of: str = "") -> None:
    for dialog, turns in DIALOGS.items():
        base = root / f"Session{int(dialog[3:5])}" / "dialog"
        for sub in ("EmoEvaluation", "transcriptions", "avi/DivX"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        for turn, start, end, code, _ in turns:
            lines += [
                f"[{start:.4f} - {end:.4f}]\t{turn}\t{code}\t[2.5000, 2.5000, 2.5000]",
                "C-E1:\tNeutral;\t()",
                "A-E1:\tval 3; act 2; dom  3;\t()",
                "",
            ]
        (base / "EmoEvaluation" / f"{dialog}.txt").write_text("\n".join(lines), encoding="utf-8")
        transcript = [
            f"{t} [{s:08.4f}-{e:08.4f}]: {text}" for t, s, e, _, text in turns if t != skip_transcript_of
        ]
        transcript.insert(1, "M: [BREATHING]")  # non-turn lines in the release are ignored
        (base / "transcriptions" / f"{dialog}.txt").write_text("\n".join(transcript) + "\n", encoding="utf-8")
        if dialog != skip_video:
            (base / "avi" / "DivX" / f"{dialog}.avi").write_bytes(b"placeholder")


def test_mini_release(tmp_path: Path) -> None:
    _write_release(tmp_path, skip_video="Ses02M_impro03", skip_transcript_of="Ses01F_impro01_M001")
    corpus = read_iemocap(tmp_path, seed=0, validation_fraction=0.25)
    table = corpus.table
    assert corpus.labels == ["happiness", "sadness", "neutral", "anger", "excitement", "frustration"]
    # xxx and sur are dropped and counted, never silently skipped.
    assert corpus.outcomes.problems()["label_excluded"] == [
        "Ses01F_impro01/Ses01F_impro01_F001",
        "Ses01M_script01_1/Ses01M_script01_1_F001",
    ]
    assert corpus.outcomes.statuses["Ses02M_impro03/Ses02M_impro03_M000"] == "missing_file"
    assert corpus.outcomes.statuses["Ses01F_impro01/Ses01F_impro01_M001"] == "missing_transcript"
    assert len(table) == 9
    script = table[table["dialogue_id"] == "Ses01M_script01_1"]
    assert list(script["utterance_id"]) == [
        "Ses01M_script01_1_F000",
        "Ses01M_script01_1_M001",
    ]  # by start time
    assert list(script["speaker"]) == ["F", "M"] and list(script["party"]) == [0, 1]
    assert list(script["label"]) == ["happiness", "excitement"]
    assert script["text"].iat[0] == "Guess what — “good” news."
    # The marked actor (gender letter of the session tag) sits left by default.
    assert list(script["face_side"]) == ["right", "left"]
    impro = table[table["dialogue_id"] == "Ses01F_impro01"]
    assert list(impro["face_side"]) == ["left", "right", "right"]
    assert impro["text"].iat[2] == ""  # its transcript line is missing: kept, counted above
    row = impro.iloc[0]
    assert row["media"] == str((tmp_path / "Session1/dialog/avi/DivX/Ses01F_impro01.avi").resolve())
    assert (row["start"], row["end"]) == pytest.approx((6.2901, 8.2357))
    splits = table.groupby("dialogue_id")["split"].first()
    assert splits["Ses05F_impro01"] == "test"
    assert (splits.drop("Ses05F_impro01") == "validation").sum() == 1  # round(0.25 * 4)
    again = read_iemocap(tmp_path, seed=0, validation_fraction=0.25).table
    assert again["split"].tolist() == table["split"].tolist()


def test_options(tmp_path: Path) -> None:
    _write_release(tmp_path)
    merged = read_iemocap(
        tmp_path,
        labels={"neu": "neutral", "hap": "happy", "exc": "happy"},
        require_media=False,
        face_sides={"marked": "right", "unmarked": "left"},
        test_sessions=(2,),
    )
    assert merged.labels == ["neutral", "happy"]
    assert set(merged.table["label"]) == {"neutral", "happy"}
    assert (merged.table["media"] == "").all() and merged.table["start"].isna().all()
    assert set(merged.table.loc[merged.table["dialogue_id"].str.startswith("Ses02"), "split"]) == {"test"}
    sided = read_iemocap(tmp_path, face_sides={"marked": "right", "unmarked": "left"})
    assert sided.table["face_side"].iat[0] == "right"


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no Session1..Session5"):
        read_iemocap(tmp_path)
    _write_release(tmp_path)
    with pytest.raises(ValueError, match=r"unknown IEMOCAP label codes \['joy'\]"):
        read_iemocap(tmp_path, labels=("neu", "joy"))
    with pytest.raises(ValueError, match=r"test sessions \[3\] not found"):
        read_iemocap(tmp_path, test_sessions=(3,))
    with pytest.raises(ValueError, match="face_sides must map"):
        read_iemocap(tmp_path, face_sides={"F": "left"})
    bad = tmp_path / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt"
    bad.write_text(bad.read_text() + "\n[20.0 - 19.0]\tSes01F_impro01_F009\tneu\t[1, 1, 1]\n")
    with pytest.raises(ValueError, match=r"Ses01F_impro01.txt, line \d+: turn 'Ses01F_impro01_F009' ends"):
        read_iemocap(tmp_path)

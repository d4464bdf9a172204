"""EmoryNLP reader: small CSVs in the release's exact columns, and the real release when ../shared is
present."""

from __future__ import annotations

from pathlib import Path

import pytest

from multiemo.corpora.emorynlp import EMORYNLP_LABELS, EMORYNLP_PARTS, read_emorynlp
from multiemo.corpora.registry import dataset_modalities, reader

HEADER = "Utterance,Speaker,Emotion,Scene_ID,Utterance_ID,Season,Episode,Start_Time,End_Time"


def _release(root: Path, rows: dict[str, list[str]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for split, (_, name) in EMORYNLP_PARTS.items():
        (root / name).write_text("\n".join([HEADER, *rows.get(split, [])]) + "\n", encoding="utf-8")
    return root


GOOD = {
    "train": [
        '"Hi, you.",[\'Monica Geller\'],Joyful,1,2,1,2,00:00:02.877,00:00:07.548',
        "Oh.,['Joey Tribbiani'],Neutral,1,1,1,2,00:00:01.000,00:00:02.000",  # listed before its predecessor
        "Both!,\"['Chandler Bing', 'Ross Geller']\",Mad,1,3,1,2,,",
        'Who?,"[""Amanda (Ross\' date)""]",Scared,2,1,1,2,,',
    ],
    "validation": ["Fine.,['Rachel Green'],Peaceful,1,1,3,4,,"],
    "test": ["No.,[],Sad,1,1,9,10,,"],
}


def test_scenes_become_dialogues_in_utterance_order(tmp_path):
    corpus = read_emorynlp(_release(tmp_path / "e", GOOD))
    table = corpus.table
    assert corpus.labels == list(EMORYNLP_LABELS)
    assert list(table.dialogue_id) == ["train_s1_e2_c1"] * 3 + ["train_s1_e2_c2", "dev_s3_e4_c1",
                                                                "test_s9_e10_c1"]
    assert list(table.utterance_id[:3]) == ["1", "2", "3"] and list(table.position[:3]) == [0, 1, 2]
    assert list(table.speaker) == ["Joey Tribbiani", "Monica Geller", "Chandler Bing & Ross Geller",
                                   "Amanda (Ross' date)", "Rachel Green", "unknown"]
    assert list(table.split) == ["train"] * 4 + ["validation", "test"]
    assert table.text[1] == "Hi, you." and (table.media == "").all()


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("x,['A'],Happy,1,1,1,1,,", r"emorynlp_train_final.csv, line 2: unknown emotion 'Happy'"),
        ("x,__import__('os').system('true'),Sad,1,1,1,1,,",
         r"line 2: Speaker \"__import__\('os'\).system\('true'\)\" is not a list of names"),
        ("x,['A'],Sad,one,1,1,1,,", r"line 2: Scene_ID 'one' is not a non-negative integer"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, row, match):
    with pytest.raises(ValueError, match=match):
        read_emorynlp(_release(tmp_path / "e", {"train": [row]}))


def test_text_only_entry_and_missing_files(tmp_path):
    assert dataset_modalities({"reader": "emorynlp", "root": "x"}) == ["text"]
    with pytest.raises(ValueError, match="EmoryNLP is text only"):
        reader("emorynlp")({"root": str(_release(tmp_path / "e", GOOD))}, require_media=True)
    with pytest.raises(ValueError, match="EmoryNLP annotation files not found"):
        read_emorynlp(tmp_path / "nowhere")


@pytest.mark.slow
def test_real_release_sizes_and_label_counts(shared_data):
    """Sizes and train label counts as documented in ../shared/data/README.md."""
    root = shared_data / "emorynlp"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    table = read_emorynlp(root).table
    sizes = {s: (int((table.split == s).sum()), table[table.split == s].dialogue_id.nunique())
             for s in ("train", "validation", "test")}
    assert sizes == {"train": (7551, 659), "validation": (954, 89), "test": (984, 79)}
    assert table[table.split == "train"].label.value_counts().to_dict() == {
        "Neutral": 2485, "Joyful": 1677, "Scared": 941, "Mad": 785, "Peaceful": 638, "Powerful": 551,
        "Sad": 474}

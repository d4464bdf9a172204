import math
from pathlib import Path

import pytest

from multiemo.corpora import read_manifest

from .conftest import write_mp4

HEADER = "dialogue_id,utterance_id,speaker,text,label,split,media,start,end"


def _manifest(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "corpus" / "manifest.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_manifest_reads_orders_and_resolves_media(tmp_path: Path) -> None:
    write_mp4(tmp_path / "corpus" / "clips" / "d1.mp4")
    path = _manifest(
        tmp_path,
        [
            "d1,u1,Ann,Hello there,joy,train,clips/d1.mp4,0,1.5",
            'd2,x,Bo,"Hi, you",neutral,test,,,',
            'd1,u0,Bob,“Well”…,neutral,train,clips/d1.mp4,0:00:01.5,"0:00:03,250"',
            "d1,u2,Ann,,joy,train,clips/missing.mp4,,",
            "d3,a,Cy,Unlabelled line,,dev,,,",
        ],
    )
    corpus = read_manifest(path)
    table = corpus.table
    assert corpus.labels == ["joy", "neutral"]  # sorted unique
    assert list(table["dialogue_id"]) == ["d1", "d1", "d1", "d2", "d3"]
    assert list(table["utterance_id"]) == ["u1", "u0", "u2", "x", "a"]  # file order inside a dialogue
    assert list(table["party"]) == [0, 1, 0, 0, 0]
    assert list(table["split"]) == ["train", "train", "train", "test", "validation"]
    assert table["text"].iat[1] == "“Well”…"
    clip = str((tmp_path / "corpus" / "clips" / "d1.mp4").resolve())
    assert table["media"].iat[0] == clip and table["media"].iat[3] == ""
    assert (table["start"].iat[1], table["end"].iat[1]) == pytest.approx((1.5, 3.25))
    assert math.isnan(table["start"].iat[2])
    assert corpus.outcomes.statuses["d1/u2"] == "missing_file"
    assert corpus.outcomes.counts() == {"ok": 4, "missing_file": 1}
    assert corpus.label_ids().tolist() == [0, 1, 0, 1, -1]


def test_given_labels_keep_order_and_extra_columns(tmp_path: Path) -> None:
    path = _manifest(tmp_path, ["d1,u0,A,hi,sad,train,,,,left,7"], header=HEADER + ",face_side,rating")
    corpus = read_manifest(path, labels=["sad", "happy"])
    assert corpus.labels == ["sad", "happy"]
    assert corpus.table["face_side"].iat[0] == "left"
    assert corpus.table["rating"].iat[0] == "7"


@pytest.mark.parametrize(
    ("rows", "header", "match"),
    [
        (
            ["d,u,A,hi,joy,"],
            "dialogue_id,utterance_id,speaker,text,label,media",
            r"missing columns \['split'\]",
        ),
        (["d,u,A,hi,joy,training,,,"], HEADER, r"line 2: unknown split 'training'; use one of"),
        (
            ["d,u,A,hi,joy,train,,,", "d,v,A,hi,rage,train,,,"],
            HEADER,
            r"manifest.csv, line 3: unknown label 'rage'; allowed labels are \['joy'",
        ),
        (["d,u,A,hi,joy,train,,one,2"], HEADER, r"line 2, column start: 'one' is neither seconds"),
        (["d,u,A,hi,joy,train,,3,2"], HEADER, r"line 2: start 3.0 and end 2.0 must satisfy 0 <= start < end"),
        (["d,u,A,hi,joy,train,,3,"], HEADER, r"line 2: give both start and end"),
        (
            ["d,u,A,hi,joy,train,,,", "e,u,A,x,joy,train,,,", "d,u,B,hi,joy,train,,,"],
            HEADER,
            r"lines 2 and 4: utterance d/u appears twice",
        ),
        (
            ["d,u,A,hi,joy,train,,,", "d,v,B,hi,joy,test,,,"],
            HEADER,
            "dialogue 'd' is spread over several splits",
        ),
        (["d,u,,hi,joy,train,,,"], HEADER, "line 2: empty speaker"),
        (["d,u,A,hi,joy,train,,"], HEADER, "line 2: 8 cells but the header has 9"),
        (["d,u,A,hi,joy,train,,,,up"], HEADER + ",face_side", "face_side 'up' must be"),
        ([], HEADER, "header but no rows"),
    ],
)
def test_malformed_manifest(tmp_path: Path, rows: list[str], header: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        read_manifest(_manifest(tmp_path, rows, header), labels=["joy", "neutral"])


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="manifest .* not found"):
        read_manifest(tmp_path / "nope.csv")


def test_text_only_manifest_needs_no_media_column_and_extracts_text_only(tmp_path: Path) -> None:
    from multiemo.corpora.registry import dataset_modalities
    from multiemo.training.config import resolve_run_settings

    path = _manifest(tmp_path, ["d1,0,A,Hi,joy,train", "d1,1,B,Bye,anger,train"],
                     header="dialogue_id,utterance_id,speaker,text,label,split")
    corpus = read_manifest(path)
    assert list(corpus.table["media"]) == ["", ""] and corpus.outcomes.counts() == {"ok": 2}
    entry = {"reader": "manifest", "manifest": str(path), "preset": "meld"}
    assert dataset_modalities(entry) == ["text"]
    assert dataset_modalities({**entry, "modalities": ["text", "audio"]}) == ["text", "audio"]
    settings = resolve_run_settings({"datasets": {"own": entry}, "presets": {"meld": {}}}, "own")
    assert settings["model"]["modalities"] == ["text"]
    with_media = _manifest(tmp_path, ["d1,0,A,Hi,joy,train,", "d1,1,B,Bye,anger,train,clip.mp4"],
                           header="dialogue_id,utterance_id,speaker,text,label,split,media")
    assert dataset_modalities({**entry, "manifest": str(with_media)}) == ["text", "audio", "visual"]

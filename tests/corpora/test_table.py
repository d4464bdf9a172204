import numpy as np
import pandas as pd
import pytest

from multiemo.corpora import COLUMNS, Corpus, assign_parties, build_table, validate_table
from multiemo.outcomes import StageOutcomes


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dialogue_id": ["b", "a", "b", "a", "b", "b"],
            "utterance_id": ["2", "0", "0", "1", "1", "3"],
            "speaker": ["Ann", "X", "Bob", "Y", "Ann", "Cy"],
            "label": ["joy", "", "neutral", "joy", "joy", "neutral"],
            "split": ["train", "test", "train", "test", "train", "train"],
            "text": ["t2", "a0", "t0", "a1", "t1", "t3"],
            "media": "",
            "start": np.nan,
            "end": np.nan,
            "face_side": "",
            "order": [2, 0, 0, 1, 1, 3],
            "extra": [1, 2, 3, 4, 5, 6],
        }
    )


def test_parties_follow_first_appearance() -> None:
    parties = assign_parties(pd.Series(list("aaaabbc")), pd.Series(list("ABACBAX")))
    np.testing.assert_array_equal(parties, [0, 1, 0, 2, 0, 1, 0])


def test_build_table_orders_and_numbers() -> None:
    table = build_table(_rows(), order_by="order")
    assert list(table.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert list(table["dialogue_id"]) == ["b", "b", "b", "b", "a", "a"]  # first appearance of the dialogue
    assert list(table["utterance_id"]) == ["0", "1", "2", "3", "0", "1"]
    assert list(table["position"]) == [0, 1, 2, 3, 0, 1]
    assert list(table["party"]) == [0, 1, 1, 2, 0, 1]  # Bob, Ann, Ann, Cy | X, Y
    assert "extra" in table.columns
    validate_table(table, source="test", labels=["joy", "neutral"])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda t: t.drop(columns="party"), r"test: utterance table lacks columns \['party'\]"),
        (lambda t: t.assign(split=["train", "train", "train", "train", "test", "dev"]), "'split' has values"),
        (lambda t: t.assign(face_side="middle"), "'face_side' has values"),
        (lambda t: t.assign(label="rage"), r"labels \['rage'\] are not among"),
        (lambda t: t.assign(utterance_id=["0", "0", "2", "3", "0", "1"]), "b/0 appears more than once"),
        (
            lambda t: t.assign(split="train").assign(split=["train"] * 3 + ["test"] * 3),
            "spread over several splits",
        ),
        (lambda t: t.assign(media="clips/a.mp4"), "media paths must be absolute"),
        (lambda t: t.assign(start=1.0), "only one of start/end"),
        (lambda t: t.assign(start=2.0, end=1.0), "0 <= start < end"),
        (lambda t: t.assign(position=[0, 2, 1, 3, 0, 1]), "has position 2, expected 1"),
        (lambda t: t.assign(party=[0, 1, 2, 2, 0, 1]), "has party 2, expected 1"),
        (lambda t: t.iloc[[0, 4, 1, 2, 3, 5]].reset_index(drop=True), "not contiguous"),
        (lambda t: t.assign(text=[None, "x", "x", "x", "x", "x"]), "'text' must hold strings"),
        (lambda t: t.assign(speaker=["", "a", "a", "a", "a", "a"]), "row 0 has an empty speaker"),
    ],
)
def test_validate_names_source_and_problem(change, match: str) -> None:
    table = build_table(_rows(), order_by="order")
    with pytest.raises(ValueError, match=match):
        validate_table(change(table), source="test", labels=["joy", "neutral"])


def test_corpus_save_load_roundtrip(tmp_path) -> None:
    table = build_table(_rows(), order_by="order").drop(columns="order")
    table.loc[0, ["start", "end"]] = [0.5, 1.25]
    table.loc[1, "text"] = ""
    outcomes = StageOutcomes(stage="corpus")
    outcomes.add("b/0", "missing_file", "/x/b0.mp4 not found")
    corpus = Corpus(table=table, labels=["neutral", "joy"], outcomes=outcomes)
    corpus.save(tmp_path / "corpus")
    loaded = Corpus.load(tmp_path / "corpus")
    pd.testing.assert_frame_equal(loaded.table[list(COLUMNS)], table[list(COLUMNS)], check_dtype=False)
    assert loaded.labels == ["neutral", "joy"]
    assert loaded.outcomes.counts() == {"missing_file": 1}
    np.testing.assert_array_equal(loaded.label_ids(), [0, 1, 1, 0, -1, 1])
    assert loaded.keys()[:2] == ["b/0", "b/1"]
    assert np.isnan(loaded.table["start"].iat[2])

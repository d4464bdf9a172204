"""multiemo import-features: a manifest plus one array source per modality; every check names file and
place."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from multiemo.cli import main
from multiemo.data.import_features import import_features

HEADER = "dialogue_id,utterance_id,speaker,text,label,split"
# Dialogue b's rows are interleaved with a's: table order is a0 a1 a2 b0 b1, file order a0 b0 a1 b1 a2.
ROWS = ["a,0,X,hi,joy,train", "b,0,Y,no,anger,train", "a,1,Y,hm,anger,train", "b,1,X,ok,joy,train",
        "a,2,X,yes,joy,train", "c,0,X,bye,joy,test", "d,0,Y,so,anger,train", "e,0,X,la,joy,train"]


def _manifest(tmp_path: Path, rows=ROWS, header=HEADER) -> Path:
    path = tmp_path / "corpus" / "manifest.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _file_order_features(n: int = len(ROWS), d: int = 3) -> np.ndarray:
    """Row i holds i in every column, so the store shows which manifest row it came from."""
    return np.repeat(np.arange(n, dtype=np.float32)[:, None], d, axis=1)


def test_npy_npz_pickle_and_csv_sources_land_on_the_right_utterances(tmp_path):
    manifest = _manifest(tmp_path)
    np.save(tmp_path / "text.npy", _file_order_features())
    dialogues = {"a": np.array([[0.0], [2.0], [4.0]]), "b": np.array([[1.0], [3.0]]), "c": np.array([[5.0]]),
                 "d": np.array([[6.0]]), "e": np.array([[7.0]])}
    np.savez(tmp_path / "audio.npz", **dialogues)
    (tmp_path / "visual.pkl").write_bytes(pickle.dumps({k: v for k, v in dialogues.items() if k != "e"}))
    pd.DataFrame({"dialogue_id": ["a", "b", "a", "b", "a", "c", "d"],
                  "utterance_id": ["0", "0", "1", "1", "2", "0", "0"], "f1": range(7),
                  "f2": range(7)}).to_csv(tmp_path / "other.csv", index=False)
    store = import_features(manifest, {"text": tmp_path / "text.npy", "audio": tmp_path / "audio.npz",
                                       "visual": tmp_path / "visual.pkl", "other": tmp_path / "other.csv"},
                            tmp_path / "store", validation_fraction=0.25, seed=1)
    expected = [0, 2, 4, 1, 3, 5, 6, 7]  # the manifest row of each table row
    assert list(store.table.dialogue_id) == ["a", "a", "a", "b", "b", "c", "d", "e"]
    np.testing.assert_array_equal(store.features("text")[:, 0], expected)
    np.testing.assert_array_equal(store.features("audio")[:, 0], expected)
    # e is absent from the pickle and the CSV: zeros, present = False, counted
    assert store.present("visual").tolist() == [True] * 7 + [False]
    assert store.present("other").tolist() == [True] * 7 + [False]
    np.testing.assert_array_equal(store.features("other")[:7, 1], expected[:7])
    assert store.metadata["missing"] == {"text": 0, "audio": 0, "visual": 1, "other": 1}
    validation = set(store.table[store.table.split == "validation"].dialogue_id)
    assert len(validation) == 1 and validation <= {"a", "b", "d", "e"}
    assert "seeded 25% of training dialogues (seed 1)" in store.metadata["validation_split"]
    again = import_features(manifest, {"text": tmp_path / "text.npy"}, tmp_path / "again",
                            validation_fraction=0.25, seed=1)
    assert set(again.table[again.table.split == "validation"].dialogue_id) == validation


def test_a_position_column_orders_the_dialogue_and_a_consistent_party_column_passes(tmp_path):
    rows = ["a,u,X,hi,joy,train,1,0", "a,v,Y,hm,joy,train,0,1", "b,w,X,no,joy,validation,0,0",
            "c,z,X,ok,joy,test,0,0"]
    manifest = _manifest(tmp_path, rows, HEADER + ",position,party")
    np.save(tmp_path / "t.npy", _file_order_features(4))
    store = import_features(manifest, {"text": tmp_path / "t.npy"}, tmp_path / "s")
    assert list(store.table.utterance_id[:2]) == ["v", "u"] and list(store.table.party[:2]) == [0, 1]
    np.testing.assert_array_equal(store.features("text")[:2, 0], [1, 0])
    assert store.metadata["validation_split"] == "given in the manifest"


TAIL = [row + ",0" for row in ROWS[5:]]  # c, d, e with position/party 0
BAD = [
    # (rows, header, which file gets the features, message)
    (["a,0,X,hi,joy,train,0", "a,1,Y,hm,joy,train,0"] + TAIL, HEADER + ",position", None,
     r"manifest.csv, lines 2 and 3: dialogue 'a' has position 0 twice"),
    (["a,0,X,hi,joy,train,0", "a,1,Y,hm,joy,train,2"] + TAIL, HEADER + ",position", None,
     r"manifest.csv, line 2: dialogue 'a' has 2 rows but no position 1"),
    (["a,0,X,hi,joy,train,0", "a,1,X,hm,joy,train,1"] + TAIL, HEADER + ",party", None,
     r"manifest.csv, line 3: in dialogue 'a' speaker 'X' is party '1' here but '0' on line 2"),
    (["a,0,X,hi,joy,train,0", "a,1,Y,hm,joy,train,0"] + TAIL, HEADER + ",party", None,
     r"manifest.csv, line 3: in dialogue 'a' party '0' is speaker 'Y' here but 'X' on line 2"),
]


@pytest.mark.parametrize(("rows", "header", "source", "match"), BAD)
def test_manifest_checks(tmp_path, rows, header, source, match):
    manifest = _manifest(tmp_path, rows, header)
    np.save(tmp_path / "t.npy", _file_order_features(len(rows)))
    with pytest.raises(ValueError, match=match):
        import_features(manifest, {"text": tmp_path / "t.npy"}, tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_source_checks_name_file_dialogue_and_row(tmp_path):
    manifest = _manifest(tmp_path)
    out = tmp_path / "s"

    def fails(name: str, write, match: str) -> None:
        path = tmp_path / name
        write(path)
        with pytest.raises(ValueError, match=match):
            import_features(manifest, {"text": path}, out)
        assert not out.exists()

    fails("short.npy", lambda p: np.save(p, _file_order_features(7)),
          r"short.npy: shape \(7, 3\), expected \(8, d\): one row per manifest row")
    nan = _file_order_features()
    nan[3, 1] = np.inf
    fails("nan.npy", lambda p: np.save(p, nan), r"nan.npy, array row 3: NaN or infinite value in utterance "
                                                r"b/1")
    fails("len.npz", lambda p: np.savez(p, a=np.zeros((2, 4)), b=np.zeros((2, 4))),
          r"len.npz: dialogue 'a' has features of shape \(2, 4\); the manifest has 3 utterances")
    fails("width.npz", lambda p: np.savez(p, a=np.zeros((3, 4)), b=np.zeros((2, 5))),
          r"width.npz: dialogues must hold \(n_utterances, d\) arrays of one width d; found widths \[4, 5\]")
    fails("nan.npz", lambda p: np.savez(p, a=np.array([[0.0], [np.nan], [0.0]])),
          r"nan.npz, utterance 1 of the dialogue: NaN or infinite value in utterance a/1")
    fails("dup.csv", lambda p: p.write_text("dialogue_id,utterance_id,f\na,0,1\nb,0,2\na,0,3\n"),
          r"dup.csv, lines 2 and 4: utterance \('a', '0'\) appears twice")
    fails("word.csv", lambda p: p.write_text("dialogue_id,utterance_id,f\na,0,1\nb,0,x\n"),
          r"word.csv, line 3, column 'f': 'x' is not a number")
    fails("noid.csv", lambda p: p.write_text("id,f\na,1\n"), "noid.csv: needs an utterance_id column")
    fails("bad.txt", lambda p: p.write_text(""), r"bad.txt: unknown feature file type '.txt'")


def test_no_validation_rows_and_no_fraction_is_one_message(tmp_path):
    manifest = _manifest(tmp_path)
    np.save(tmp_path / "t.npy", _file_order_features())
    with pytest.raises(ValueError, match="the manifest has no validation rows"):
        import_features(manifest, {"text": tmp_path / "t.npy"}, tmp_path / "s", validation_fraction=0.0)


def test_cli_imports_and_reports_missing_features(tmp_path, capsys):
    manifest = _manifest(tmp_path)
    np.save(tmp_path / "t.npy", _file_order_features())
    np.savez(tmp_path / "a.npz", a=np.ones((3, 2)), b=np.ones((2, 2)))
    code = main(["import-features", str(manifest), str(tmp_path / "s"), "--features",
                 f"text={tmp_path / 't.npy'}", "--features", f"audio={tmp_path / 'a.npz'}", "--labels",
                 "joy,anger", "--seed", "2"])
    out = capsys.readouterr().out
    assert code == 0 and "present = False): {'audio': 3}" in out and "seed 2" in out
    code = main(["import-features", str(manifest), str(tmp_path / "t"), "--features", "text"])
    assert code == 1 and "--features 'text': write MODALITY=FILE" in capsys.readouterr().err

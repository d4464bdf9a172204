"""The battery of bad inputs (issue 26) for import, training, evaluation and configuration: each one ends in
one message naming the file or the setting, exit 1, and nothing written that blocks the corrected command.
(The pickles that ask for 2**40 elements or bytes are in tests/test_exit_codes.py; prediction's in
tests/predict/test_bad_inputs.py.)"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from multiemo.cli import EXIT_ERROR, main
from tests.conftest import make_learnable_store
from tests.test_cli import SMALL

MANIFEST = ("dialogue_id,utterance_id,speaker,text,label,split\n"
            "d1,0,A,hi,joy,train\nd1,1,B,ho,anger,train\nd2,0,A,ha,joy,validation\nd3,0,B,he,anger,test\n")


def one_error(capsys) -> str:
    """The one line a handled error prints (the test fails on a traceback or several lines)."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def import_features(tmp_path, source, *extra) -> int:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(MANIFEST, encoding="utf-8")
    return main(["--quiet", "import-features", str(manifest), str(tmp_path / "store"), "--features",
                 f"text={source}", *extra])


def train(store, out, *extra) -> int:
    return main(["--quiet", "train", "--dataset", "meld", "--features", str(store), "--out", str(out), *SMALL,
                 "train.epochs=1", *extra])


def test_a_ragged_list_in_a_feature_pickle_names_the_file_and_dialogue(tmp_path, capsys):
    source = tmp_path / "text.pkl"
    source.write_bytes(pickle.dumps({"d1": [[1.0, 2.0], [3.0]], "d2": [[1.0, 2.0]], "d3": [[1.0, 2.0]]}))
    assert import_features(tmp_path, source) == EXIT_ERROR
    assert f"{source}: dialogue 'd1': not a numeric array" in one_error(capsys)
    assert not (tmp_path / "store").exists()


def test_a_zero_byte_features_csv_names_the_file(tmp_path, capsys):
    source = tmp_path / "text.csv"
    source.write_bytes(b"")
    assert import_features(tmp_path, source) == EXIT_ERROR
    assert f"{source} is empty: a features CSV needs a header" in one_error(capsys)


def test_complex_features_are_refused_not_cut_to_their_real_part(tmp_path, capsys):
    source = tmp_path / "text.npy"
    np.save(source, np.ones((4, 3)) + 1j)
    assert import_features(tmp_path, source) == EXIT_ERROR
    assert f"{source}: complex numbers (dtype complex128); features must be real" in one_error(capsys)


def test_values_beyond_float32_are_called_that_not_nan(tmp_path, capsys):
    source = tmp_path / "text.npy"
    values = np.ones((4, 3))
    values[2, 1] = 1e300
    np.save(source, values)
    assert import_features(tmp_path, source) == EXIT_ERROR
    message = one_error(capsys)
    assert f"{source}: value 1e+300 at index (2, 1) is beyond float32's range" in message and "NaN" not in message


def test_a_label_given_twice_is_refused(tmp_path, capsys):
    source = tmp_path / "text.npy"
    np.save(source, np.ones((4, 3)))
    assert import_features(tmp_path, source, "--labels", "joy,anger,joy") == EXIT_ERROR
    assert "names ['joy'] more than once; give each label once" in one_error(capsys)


@pytest.mark.parametrize("case", ["no columns", "no row matches"])
def test_a_modality_without_features_is_refused_at_import(tmp_path, capsys, case):
    source = tmp_path / "text.csv"
    source.write_text("dialogue_id,utterance_id\nd1,0\n" if case == "no columns" else
                      "dialogue_id,utterance_id,f0\nelsewhere,0,1.0\n", encoding="utf-8")
    assert import_features(tmp_path, source) == EXIT_ERROR
    assert f"{source}: gives text no usable feature" in one_error(capsys)


def test_a_truncated_store_array_names_the_file(tmp_path, capsys):
    store = make_learnable_store(tmp_path / "store")
    array = store.root / "text.npy"
    array.write_bytes(array.read_bytes()[:200])
    assert train(store.root, tmp_path / "run") == EXIT_ERROR
    assert f"{array} is not a readable array" in one_error(capsys)


@pytest.mark.parametrize("content", ["{not json", "[" * 100_000 + "]" * 100_000])
def test_a_store_json_that_is_not_json_names_the_file(tmp_path, capsys, content):
    store = make_learnable_store(tmp_path / "store")
    (store.root / "store.json").write_text(content, encoding="utf-8")
    assert train(store.root, tmp_path / "run") == EXIT_ERROR
    assert f"{store.root / 'store.json'} is not valid JSON" in one_error(capsys)


def test_a_settings_json_that_is_not_json_names_the_file(tmp_path, capsys):
    store = make_learnable_store(tmp_path / "store")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "settings.json").write_text("{truncated", encoding="utf-8")
    assert train(store.root, tmp_path / "run") == EXIT_ERROR
    assert f"{tmp_path / 'run' / 'settings.json'} is not valid JSON" in one_error(capsys)



"""The battery of bad inputs (issue 26) for import, training, evaluation and configuration: each one ends in
one message naming the file or the setting, exit 1, and nothing written that blocks the corrected command.
(The pickles that ask for 2**40 elements or bytes are in tests/test_exit_codes.py; prediction's in
tests/predict/test_bad_inputs.py.)"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from multiemo.cli import EXIT_ERROR, main
from multiemo.data.store import write_store
from multiemo.settings import ConfigError, load_yaml, validate_config
from tests.conftest import REPO, make_learnable_store, make_table
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
    assert f"{source}: value 1e+300 at index (2, 1) is beyond float32's range" in message
    assert "NaN" not in message


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


def test_a_modality_no_training_utterance_has_is_refused_at_training(tmp_path, capsys):
    """A store made elsewhere (the workflow, a legacy import) may hold such a modality: training would see
    only padding for it and report a score as if it had used it."""
    labels = ["neutral", "joy", "anger"]
    table = make_table({"train": [4, 3], "validation": [3], "test": [3]}, labels)
    rng = np.random.default_rng(0)
    features = {m: rng.normal(size=(len(table), 4)).astype(np.float32) for m in ("text", "audio", "visual")}
    present = {m: np.ones(len(table), bool) for m in features}
    present["visual"] = (table["split"] != "train").to_numpy()
    store = write_store(tmp_path / "store", name="toy", table=table, labels=labels, features=features,
                        provenance={m: {"extractor": "synthetic"} for m in features}, present=present)
    assert train(store.root, tmp_path / "run") == EXIT_ERROR
    message = one_error(capsys)
    assert f"store {store.root} has no visual features for any training utterance (none present)" in message
    assert "model.modalities=[text,audio]" in message


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


def test_a_negative_seed_is_a_setting_error_and_leaves_no_run(tmp_path, capsys):
    store = make_learnable_store(tmp_path / "store")
    assert main(["--quiet", "train", "--dataset", "meld", "--features", str(store.root), "--out",
                 str(tmp_path / "seeds"), "--seeds", "1,-1", *SMALL, "train.epochs=1"]) == EXIT_ERROR
    assert "train.seed must be a whole number in [0, 2**32 - 1], got -1" in one_error(capsys)
    assert not (tmp_path / "seeds").exists()  # neither seed_-1/ nor seed_1/


def test_a_refused_learning_rate_leaves_nothing_that_blocks_the_corrected_command(tmp_path, capsys):
    store = make_learnable_store(tmp_path / "store")
    assert train(store.root, tmp_path / "run", "train.lr=nan") == EXIT_ERROR
    assert "train.lr must be a finite number, got nan" in one_error(capsys)
    assert not (tmp_path / "run" / "settings.json").exists()
    assert train(store.root, tmp_path / "run", "train.lr=0.01") == 0


def test_settings_of_a_run_without_a_finished_epoch_do_not_block_other_settings(tmp_path):
    """What a run refused after it recorded its settings (e.g. by a version that checked less) leaves."""
    store = make_learnable_store(tmp_path / "store")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "settings.json").write_text(json.dumps({"model": {}, "train": {"lr": "nan"}}))
    assert train(store.root, tmp_path / "run") == 0
    assert json.loads((tmp_path / "run" / "settings.json").read_text())["train"]["lr"] == 0.01


def test_evaluate_on_a_missing_directory_says_it_does_not_exist(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nowhere")]) == EXIT_ERROR
    message = one_error(capsys)
    assert f"{tmp_path / 'nowhere'} does not exist" in message and "finished epoch" not in message


def test_a_yaml_syntax_error_names_its_line(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("datasets:\n  demo:\n    reader: meld\n   root: x\n", encoding="utf-8")
    assert main(["train", "--config", str(config), "--dataset", "demo", "--features", str(tmp_path),
                 "--out", str(tmp_path / "run")]) == EXIT_ERROR
    assert (f"{config}, line 4, column 4 is not valid YAML: while parsing a block mapping "
            "(started at line 2)" in one_error(capsys))


def test_a_schema_error_names_the_key_in_one_line_not_the_schema():
    schema = load_yaml(REPO / "workflow" / "schemas" / "config.schema.yaml")
    config = load_yaml(REPO / "config.yaml")
    config["datasets"]["demo"]["train"] = {"lr": -1}
    with pytest.raises(ConfigError) as caught:
        validate_config(config, schema, source="config.yaml")
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400
    assert message.startswith("config.yaml, ['datasets']['demo']['train']['lr']: -1 is less than")

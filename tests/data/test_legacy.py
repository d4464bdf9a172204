"""import-legacy on small pickles with exactly the structure of the original release."""

import pickle

import numpy as np
import pytest

from multiemo.cli import main
from multiemo.data.legacy import LegacyFormatError, import_legacy

DIMS = {"TextFeatures.pkl": 768, "AudioFeatures.pkl": 512, "VisualFeatures.pkl": 1000}


def _write_release(root, dataset, train_ids, test_ids, lengths, *, drop=None, short=None):
    rng = np.random.default_rng(0)
    speakers, labels = {}, {}
    for vid in train_ids + test_ids:
        n = lengths[vid]
        if dataset == "meld":
            speakers[vid] = [list(np.eye(9)[i % 3]) for i in range(n)]
        else:
            speakers[vid] = ["M" if i % 2 else "F" for i in range(n)]
        labels[vid] = [int(x) for x in rng.integers(0, 7 if dataset == "meld" else 6, n)]
    size = 10 if dataset == "meld" else 9
    fields = [None] * size
    fields[1], fields[2], fields[7], fields[8] = speakers, labels, train_ids, test_ids
    with open(root / "Speakers.pkl", "wb") as handle:
        pickle.dump(tuple(fields), handle, protocol=2)
    for name, dim in DIMS.items():
        feats = {vid: rng.normal(size=(lengths[vid], dim)).astype(np.float32) for vid in train_ids + test_ids}
        if drop and name == drop[0]:
            del feats[drop[1]]
        if short and name == short[0]:
            feats[short[1]] = feats[short[1]][:-1]
        with open(root / name, "wb") as handle:
            pickle.dump(feats, handle, protocol=2)



def test_meld_dev_dialogues_become_validation(tmp_path):
    train, test = [0, 1, 2, 1039, 1040], [1153, 1154]
    lengths = {v: 2 + v % 4 for v in train + test}
    _write_release(tmp_path, "meld", train, test, lengths)
    store = import_legacy("meld", tmp_path, tmp_path / "store")
    table = store.table
    assert set(table[table.split == "validation"].dialogue_id) == {"1039", "1040"}
    assert set(table[table.split == "test"].dialogue_id) == {"1153", "1154"}
    assert {m: i.dim for m, i in store.modalities.items()} == {"text": 768, "audio": 512, "visual": 1000}
    assert store.labels[0] == "neutral" and store.labels[6] == "anger"
    assert "dev" in store.metadata["validation_split"]
    with open(tmp_path / "TextFeatures.pkl", "rb") as handle:
        original = pickle.load(handle)
    first = table.index[table.dialogue_id == "1039"]
    np.testing.assert_allclose(store.features("text")[first], original[1039])
    assert table.party.max() == 2  # one-hot parties 0,1,2 in order of appearance


def test_iemocap_draws_a_seeded_validation_split(tmp_path):
    train, test = [f"Ses0{s}_{i}" for s in (1, 2) for i in range(10)], ["Ses05_0", "Ses05_1"]
    _write_release(tmp_path, "iemocap", train, test, {v: 4 for v in train + test})
    a = import_legacy("iemocap", tmp_path, tmp_path / "a", seed=3)
    b = import_legacy("iemocap", tmp_path, tmp_path / "b", seed=3)
    val = set(a.table[a.table.split == "validation"].dialogue_id)
    assert len(val) == 2 and val == set(b.table[b.table.split == "validation"].dialogue_id)
    assert set(a.table.speaker) == {"M", "F"} and a.labels[5] == "frustration"


def test_malformed_releases_name_file_and_dialogue(tmp_path):
    train, test = [0, 1], [1153]
    lengths = {v: 3 for v in train + test}
    _write_release(tmp_path, "meld", train, test, lengths, drop=("AudioFeatures.pkl", 1))
    with pytest.raises(LegacyFormatError, match=r"AudioFeatures.pkl: dialogue 1 is missing"):
        import_legacy("meld", tmp_path, tmp_path / "s")
    _write_release(tmp_path, "meld", train, test, lengths, short=("VisualFeatures.pkl", 0))
    with pytest.raises(LegacyFormatError, match=r"VisualFeatures.pkl: dialogue 0 has features of shape \(2, 1000\)"):
        import_legacy("meld", tmp_path, tmp_path / "s")
    with pytest.raises(LegacyFormatError, match="expected a 9-tuple for iemocap"):
        import_legacy("iemocap", tmp_path, tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    code = main(["import-legacy", "--dataset", "meld", str(tmp_path / "nowhere"), str(tmp_path / "out")])
    assert code == 1  # a handled input error (README, "Command line": exit codes)
    err = capsys.readouterr().err
    assert "Speakers.pkl does not exist" in err and "Traceback" not in err

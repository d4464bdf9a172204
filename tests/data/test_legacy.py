"""import-legacy on small pickles with exactly the structure of the original release."""

import pickle

import numpy as np
import pytest

from multiemo.cli import main
from multiemo.data.legacy import IEMOCAP_LABELS, LegacyFormatError, import_legacy
from multiemo.data.pickles import UnsafePickleError, load_pickle

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
    with pytest.raises(LegacyFormatError, match=r"VisualFeatures.pkl: dialogue 0 has features of shape \(2, "
                                                r"1000\)"):
        import_legacy("meld", tmp_path, tmp_path / "s")
    with pytest.raises(LegacyFormatError, match="expected a 9-tuple for multiemo iemocap, got a 10-tuple"):
        import_legacy("iemocap", tmp_path, tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    code = main(["import-legacy", "--dataset", "meld", str(tmp_path / "nowhere"), str(tmp_path / "out")])
    assert code == 1  # a handled input error (README, "Command line": exit codes)
    err = capsys.readouterr().err
    assert "Speakers.pkl does not exist" in err and "Traceback" not in err


# --- the other projects' single-file formats, built with exactly the tuple order of their data loaders ---

def _dialogues(rng, ids, n, dims, *, speakers):
    """Per dialogue: speakers, label indices, sentences and one (n, d) array per entry of ``dims``."""
    out = {"ids": {}, "speakers": {}, "labels": {}, "sentences": {}, **{k: {} for k in dims}}
    for vid in ids:
        out["ids"][vid] = [f"{vid}_u{i}" for i in range(n)]
        out["speakers"][vid] = speakers(n)
        out["labels"][vid] = [int(x) for x in rng.integers(0, 6, n)]
        out["sentences"][vid] = [f"utterance {i} of {vid}" for i in range(n)]
        for key, dim in dims.items():
            out[key][vid] = rng.normal(size=(n, dim)).astype(np.float32)
    return out


def _mf(n):
    return ["M" if i % 2 else "F" for i in range(n)]


def _one_hot(n):
    return [[1.0 if k == i % 2 else 0.0 for k in range(9)] for i in range(n)]


def test_dialoguernn_iemocap_pickle(tmp_path):
    """IEMOCAP_features(_raw).pkl: videoIDs, videoSpeakers, videoLabels, videoText, videoAudio, videoVisual,
    videoSentence, trainVid, testVid (DialogueRNN/DialogueGCN/MMGCN dataloader.py)."""
    train, test = [f"Ses01F_impro0{i}" for i in range(1, 9)], ["Ses05M_script01_1"]
    d = _dialogues(np.random.default_rng(0), train + test, 4, {"t": 100, "a": 100, "v": 512}, speakers=_mf)
    # testVid as a set: protocol 2 names it __builtin__.set, as the Python 2 originals do
    fields = (d["ids"], d["speakers"], d["labels"], d["t"], d["a"], d["v"], d["sentences"], train, set(test))
    path = tmp_path / "IEMOCAP_features.pkl"
    path.write_bytes(pickle.dumps(fields, protocol=2))
    assert b"__builtin__" in path.read_bytes()
    for fmt in ("dialoguernn", "dialoguegcn", "mmgcn"):
        store = import_legacy("iemocap", path, tmp_path / fmt, format=fmt)
        assert {m: i.dim for m, i in store.modalities.items()} == {"text": 100, "audio": 100, "visual": 512}
    table = store.table
    # 1 of 8 dialogues
    assert table.split.value_counts().to_dict() == {"train": 28, "validation": 4, "test": 4}
    row = table.index[(table.dialogue_id == "Ses05M_script01_1") & (table.position == 2)][0]
    np.testing.assert_array_equal(store.features("visual")[row], d["v"]["Ses05M_script01_1"][2])
    assert table.text[row] == "utterance 2 of Ses05M_script01_1" and table.speaker[row] == "F"
    assert table.label[row] == IEMOCAP_LABELS[d["labels"]["Ses05M_script01_1"][2]]


def test_dialoguegcn_and_mmgcn_meld_pickles(tmp_path):
    """MELD_features_raw.pkl (9 fields, no visual; DialogueGCN: ..., videoSentence, trainVid, testVid,
    videoLabelsSentiment) and MMGCN's MELD_features_raw1.pkl (10 fields, videoVisual at 5)."""
    rng = np.random.default_rng(1)
    train, test = [0, 1, 1039], [1153]
    d = _dialogues(rng, train + test, 3, {"t": 600, "a": 300, "v": 342}, speakers=_one_hot)
    sentiment = {v: [0] * 3 for v in train + test}
    gcn = (d["ids"], d["speakers"], d["labels"], d["t"], d["a"], d["sentences"], train, test, sentiment)
    mmgcn = (d["ids"], d["speakers"], d["labels"], d["t"], d["a"], d["v"], d["sentences"], train, test,
             sentiment)
    (tmp_path / "gcn.pkl").write_bytes(pickle.dumps(gcn, protocol=2))
    (tmp_path / "mmgcn.pkl").write_bytes(pickle.dumps(mmgcn, protocol=2))
    a = import_legacy("meld", tmp_path / "gcn.pkl", tmp_path / "a", format="dialoguegcn")
    b = import_legacy("meld", tmp_path / "mmgcn.pkl", tmp_path / "b", format="mmgcn")
    assert sorted(a.modalities) == ["audio", "text"] and sorted(b.modalities) == ["audio", "text", "visual"]
    assert set(b.table[b.table.split == "validation"].dialogue_id) == {"1039"}
    assert list(b.table.party[:3]) == [0, 1, 0] and b.table.speaker[0] == "party0"
    with pytest.raises(LegacyFormatError, match=r"gcn.pkl: expected a 10-tuple for mmgcn meld, got a "
                                                r"9-tuple"):
        import_legacy("meld", tmp_path / "gcn.pkl", tmp_path / "c", format="mmgcn")
    assert not (tmp_path / "c").exists()


def test_cosmic_roberta_pickles_keep_their_validation_split_and_four_layers(tmp_path):
    """iemocap_features_roberta.pkl: speakers, labels, roberta1-4, sentences, trainIds, testIds, validIds;
    meld_features_roberta.pkl has sentiment labels after the emotion labels (COSMIC
    erc-training/dataloader.py). Features are lists of per-utterance vectors."""
    rng = np.random.default_rng(2)
    train, test, valid = ["a", "b", "c"], ["t"], ["v"]
    d = _dialogues(rng, train + test + valid, 2, {f"r{k}": 1024 for k in range(1, 5)}, speakers=_mf)
    layers = [{v: list(d[f"r{k}"][v]) for v in d["ids"]} for k in range(1, 5)]
    fields = (d["speakers"], d["labels"], *layers, d["sentences"], train, test, valid)
    path = tmp_path / "iemocap_features_roberta.pkl"
    path.write_bytes(pickle.dumps(fields, protocol=4))
    store = import_legacy("iemocap", path, tmp_path / "s", format="cosmic")
    assert set(store.table[store.table.split == "validation"].dialogue_id) == {"v"}
    assert "own validation ids" in store.metadata["validation_split"]
    first = store.table.index[store.table.dialogue_id == "v"][0]
    expected = np.mean([d[f"r{k}"]["v"][0] for k in range(1, 5)], axis=0)
    np.testing.assert_allclose(store.features("text")[first], expected, rtol=1e-6)
    np.testing.assert_array_equal(store.features("roberta3")[first], d["r3"]["v"][0])
    sentiment = {v: [1, 1] for v in d["ids"]}
    meld = (d["speakers"], d["labels"], sentiment, *layers, d["sentences"], train, test, valid)
    (tmp_path / "meld.pkl").write_bytes(pickle.dumps(meld, protocol=4))
    assert len(import_legacy("meld", tmp_path / "meld.pkl", tmp_path / "m", format="cosmic")) == 10


def test_nan_in_a_pickle_names_file_dialogue_and_utterance(tmp_path):
    train, test = [f"S{i}" for i in range(3)], ["T"]
    d = _dialogues(np.random.default_rng(3), train + test, 3, {"t": 4, "a": 4, "v": 4}, speakers=_mf)
    d["a"]["S1"][2, 1] = np.nan
    fields = (d["ids"], d["speakers"], d["labels"], d["t"], d["a"], d["v"], d["sentences"], train, test)
    (tmp_path / "f.pkl").write_bytes(pickle.dumps(fields, protocol=2))
    with pytest.raises(LegacyFormatError, match=r"f.pkl \(tuple field 4\): dialogue 'S1', utterance 2 has "
                                                r"NaN"):
        import_legacy("iemocap", tmp_path / "f.pkl", tmp_path / "s", format="dialoguernn")


class _Payload:
    """Unpickling this runs ``exec``, which writes a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def test_a_crafted_pickle_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "marker"
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(_Payload(proof)))  # the payload is real: a plain unpickler runs it
    assert proof.read_text() == "ran"
    train, test = [0, 1], [1153]
    _write_release(tmp_path, "meld", train, test, {v: 3 for v in train + test})
    features = pickle.loads((tmp_path / "AudioFeatures.pkl").read_bytes())
    features[1] = _Payload(marker)  # hidden inside one dialogue's features
    (tmp_path / "AudioFeatures.pkl").write_bytes(pickle.dumps(features, protocol=2))
    code = main(["import-legacy", "--dataset", "meld", str(tmp_path), str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and not marker.exists() and not (tmp_path / "out").exists()
    assert f"{tmp_path / 'AudioFeatures.pkl'}: refused to load: the pickle asks for builtins.exec" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    (tmp_path / "f.pkl").write_bytes(pickle.dumps((_Payload(marker),) * 9, protocol=4))
    code = main(["import-legacy", "--format", "dialoguernn", "--dataset", "iemocap", str(tmp_path / "f.pkl"),
                 str(tmp_path / "out")])
    assert code == 1 and not marker.exists() and "f.pkl: refused to load" in capsys.readouterr().err


def test_pandas_objects_are_refused_too(tmp_path):
    import pandas as pd

    (tmp_path / "frame.pkl").write_bytes(pickle.dumps({"d": pd.DataFrame({"x": [1.0]})}))
    with pytest.raises(UnsafePickleError, match=r"frame.pkl: refused to load: the pickle asks for pandas"):
        load_pickle(tmp_path / "frame.pkl")

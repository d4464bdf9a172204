import json

import numpy as np
import pytest

from multiemo.corpora import seeded_validation
from multiemo.data.store import FeatureStore, StoreError, write_store
from tests.conftest import make_learnable_store, make_table

LABELS = ["neutral", "joy", "anger"]


def test_round_trip_keeps_table_arrays_and_provenance(tmp_path):
    table = make_table({"train": [3, 2], "validation": [2], "test": [2]}, LABELS)
    table.loc[0, "text"] = "“Hé, naïve”"  # non-ASCII text survives
    feats = {"text": np.random.rand(len(table), 5).astype(np.float32)}
    present = {"text": np.arange(len(table)) % 2 == 0}
    store = write_store(tmp_path / "s", name="toy", table=table, labels=LABELS, features=feats,
                        provenance={"text": {"extractor": "x", "dim_note": 5}}, present=present,
                        metadata={"validation_split": "given"})
    again = FeatureStore(tmp_path / "s")
    assert again.modalities["text"].dim == 5
    assert again.modalities["text"].provenance["extractor"] == "x"
    np.testing.assert_array_equal(again.features("text"), feats["text"])
    np.testing.assert_array_equal(again.present("text"), present["text"])
    assert again.table.loc[0, "text"] == "“Hé, naïve”"
    assert list(again.table["dialogue_id"]) == list(table["dialogue_id"])
    assert again.metadata == {"validation_split": "given"}
    assert store.class_counts("train").sum() == 5


def test_unknown_label_and_bad_split_are_rejected(tmp_path):
    table = make_table({"train": [2]}, LABELS)
    table.loc[0, "label"] = "bliss"
    with pytest.raises(StoreError, match=r"labels \['bliss'\]"):
        write_store(tmp_path / "s", name="t", table=table, labels=LABELS, features={})
    table = make_table({"train": [2]}, LABELS)
    table.loc[0, "split"] = "dev"
    with pytest.raises(StoreError, match="unknown split values"):
        write_store(tmp_path / "s", name="t", table=table, labels=LABELS, features={})


def test_shape_mismatch_and_nan_are_rejected(tmp_path):
    table = make_table({"train": [2, 2]}, LABELS)
    with pytest.raises(StoreError, match=r"shape \(3, 2\), expected \(4, D\)"):
        write_store(tmp_path / "s", name="t", table=table, labels=LABELS, features={"text": np.zeros((3, 2))})
    bad = np.zeros((4, 2))
    bad[1, 1] = np.nan
    with pytest.raises(StoreError, match=r"text features of utterance train_0/1 \(row 1\) contain NaN"):
        write_store(tmp_path / "s", name="t", table=table, labels=LABELS, features={"text": bad})
    assert not (tmp_path / "s").exists()
    assert not list(tmp_path.iterdir()), "a failed write must leave nothing behind"


def test_failed_rewrite_keeps_the_old_store(tmp_path):
    make_learnable_store(tmp_path / "s")
    table = make_table({"train": [2]}, LABELS)
    with pytest.raises(StoreError):
        write_store(tmp_path / "s", name="t", table=table, labels=LABELS, features={"text": np.zeros((5, 2))})
    assert FeatureStore(tmp_path / "s").name == "toy"


def test_opening_a_non_store_says_how_to_make_one(tmp_path):
    with pytest.raises(StoreError, match="not a feature store.*import-legacy"):
        FeatureStore(tmp_path)
    (tmp_path / "store.json").write_text(json.dumps({"format": "other", "version": 9}))
    with pytest.raises(StoreError, match="unsupported store format"):
        FeatureStore(tmp_path)


def test_missing_modality_names_what_exists(tmp_path):
    store = make_learnable_store(tmp_path / "s")
    with pytest.raises(StoreError, match=r"no 'face' features; it holds \['audio', 'text', 'visual'\]"):
        store.features("face")


def test_duplicate_and_missing_positions_and_party_clashes_name_the_row(tmp_path):
    def refused(table, match):
        with pytest.raises(StoreError, match=match):
            write_store(tmp_path / "s", name="t", table=table, labels=LABELS, features={})
        assert not (tmp_path / "s").exists()

    table = make_table({"train": [3, 2]}, LABELS)
    table.loc[2, "position"] = 1
    refused(table, r"row 2 \(dialogue 'train_0'\): position 1 appears twice in the dialogue")
    table = make_table({"train": [3, 2]}, LABELS)
    table.loc[2, "position"] = 5
    refused(table, r"row 2 \(dialogue 'train_0'\): position 2 is missing")
    table = make_table({"train": [3, 2]}, LABELS, parties=1)
    table.loc[1, "party"] = 1
    refused(table, r"row 1 \(dialogue 'train_0'\): speaker 'spk\d' is party 0 earlier and party 1 here")
    table = make_table({"train": [3, 2]}, LABELS, parties=1)
    table.loc[1, "speaker"] = "someone"
    refused(table, r"row 1 \(dialogue 'train_0'\): party 0 is speaker 'spk\d' earlier and speaker 'someone' "
                   r"here")


def test_seeded_validation_is_reproducible_and_never_empty_or_total():
    dialogues = [f"d{i}" for i in range(20)]
    a = seeded_validation(dialogues, 0.1, seed=3)
    assert a == seeded_validation(list(reversed(dialogues)), 0.1, seed=3) and len(a) == 2
    assert len(seeded_validation(["x", "y"], 0.1, seed=0)) == 1
    assert len(seeded_validation(["x", "y"], 0.9, seed=0)) == 1
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        seeded_validation(dialogues, 1.0, seed=0)

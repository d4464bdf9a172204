"""COSMIC's MELD and EmoryNLP RoBERTa pickles: every field read from the place its loader reads it.

COSMIC's ``erc-training/dataloader.py`` unpacks ``meld_features_roberta.pkl`` as speakers, emotion labels,
sentiment labels, roberta1-4, sentences, trainIds, testIds, validIds, and ``emorynlp_features_roberta.pkl``
as speakers, emotion labels, roberta1-4, sentences, trainId, testId, validId; its label indices follow
MELD's ``neutral, surprise, fear, sadness, joy, disgust, anger`` and EmoryNLP's ``Joyful, Mad, Peaceful,
Neutral, Sad, Powerful, Scared``. The pickles here give every field values that no other field has (the
emotion indices cover all seven classes, the sentiment ones differ from them everywhere), so a swapped
or shifted field changes what the store holds."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from multiemo.data.legacy import COSMIC_EMORYNLP_LABELS, MELD_LABELS, import_legacy

TRAIN, TEST, VALID = ["d0", "d1", "d2"], ["t0"], ["v0"]
N = 7  # utterances per dialogue: each dialogue holds every emotion index once


def _release(with_sentiment: bool) -> tuple[tuple, dict]:
    rng = np.random.default_rng(3)
    ids = TRAIN + TEST + VALID
    emotions = {v: [int(x) for x in rng.permutation(7)] for v in ids}
    sentiment = {v: [(e + 1) % 3 for e in emotions[v]] for v in ids}  # never the emotion index of its row
    speakers = {v: [[1.0 if k == i % 3 else 0.0 for k in range(9)] for i in range(N)] for v in ids}  # one-hot
    layers = [{v: list(rng.normal(size=(N, 16)).astype(np.float32)) for v in ids} for _ in range(4)]
    sentences = {v: [f"{v} says {i}" for i in range(N)] for v in ids}
    head = (speakers, emotions, sentiment) if with_sentiment else (speakers, emotions)
    fields = (*head, *layers, sentences, list(TRAIN), list(TEST), list(VALID))
    return fields, {"emotions": emotions, "layers": layers, "sentences": sentences}


@pytest.mark.parametrize(("dataset", "labels", "with_sentiment"),
                         [("meld", MELD_LABELS, True), ("emorynlp", COSMIC_EMORYNLP_LABELS, False)])
def test_cosmic_fields_are_read_where_the_loader_reads_them(tmp_path, dataset, labels, with_sentiment):
    fields, truth = _release(with_sentiment)
    assert len(fields) == (11 if with_sentiment else 10)
    path = tmp_path / f"{dataset}_features_roberta.pkl"
    path.write_bytes(pickle.dumps(fields, protocol=4))
    store = import_legacy(dataset, path, tmp_path / "store", format="cosmic")
    table = store.table
    assert store.labels == list(labels)
    for vid in TRAIN + TEST + VALID:
        rows = table.index[table.dialogue_id == vid]
        assert list(table.label[rows]) == [labels[e] for e in truth["emotions"][vid]], vid
        assert list(table.text[rows]) == truth["sentences"][vid]
        assert list(table.party[rows]) == [i % 3 for i in range(N)]
        expected = np.mean([np.stack(layer[vid]) for layer in truth["layers"]], axis=0)
        np.testing.assert_allclose(store.features("text")[rows], expected, rtol=1e-6)
        np.testing.assert_array_equal(store.features("roberta2")[rows], np.stack(truth["layers"][1][vid]))
    splits = table.groupby("dialogue_id").split.first().to_dict()
    assert splits == {**dict.fromkeys(TRAIN, "train"), "t0": "test", "v0": "validation"}

import numpy as np
import torch

from multiemo.data.dialogues import DialogueSet
from tests.conftest import make_learnable_store


def test_batches_are_padded_at_the_end_and_match_the_table(tmp_path):
    store = make_learnable_store(tmp_path / "s")
    data = DialogueSet(store, "train", ["text", "audio"])
    assert len(data) == 8 and data.num_utterances == 40
    text = store.features("text")
    seen = 0
    for batch in data.batches(3):
        b, t = batch.mask.shape
        assert batch.features["text"].shape == (b, t, 12)
        lengths = batch.mask.sum(1)
        assert int(lengths.max()) == t
        for i in range(b):
            n = int(lengths[i])
            assert batch.mask[i, :n].all() and not batch.mask[i, n:].any()
            rows = batch.rows[i, :n].numpy()
            np.testing.assert_allclose(batch.features["text"][i, :n].numpy(), text[rows])
            assert (batch.features["text"][i, n:] == 0).all()
            assert (batch.labels[i, n:] == -1).all() and (batch.rows[i, n:] == -1).all()
            assert not batch.present["audio"][i, n:].any()
            assert list(store.table.iloc[rows]["position"]) == list(range(n))
            assert len(set(store.table.iloc[rows]["dialogue_id"])) == 1
        seen += int(lengths.sum())
    assert seen == data.num_utterances


def test_shuffle_is_seeded(tmp_path):
    store = make_learnable_store(tmp_path / "s")
    data = DialogueSet(store, "train", ["text"])

    def order(seed):
        gen = torch.Generator().manual_seed(seed)
        return [b.rows[:, 0].tolist() for b in data.batches(2, shuffle=True, generator=gen)]

    assert order(3) == order(3)
    assert order(3) != order(4)

"""Text features on the real offline all-MiniLM-L6-v2 (384-d) and the EmoBERTa-style input format."""

import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pandas as pd
import pytest

from multiemo.features.text import MINILM_NAME, TextEncoder, extract_text, format_inputs, load_pretrained


def _table(
    texts: list[str], speakers: list[str] | None = None, dialogues: list[str] | None = None
) -> pd.DataFrame:
    n = len(texts)
    return pd.DataFrame(
        {
            "dialogue_id": dialogues or ["d"] * n,
            "utterance_id": [str(i) for i in range(n)],
            "speaker": speakers or ["Ann", "Bob"] * (n // 2) + ["Ann"] * (n % 2),
            "text": texts,
        }
    )


@pytest.fixture(scope="module")
def minilm() -> TextEncoder:
    return TextEncoder(MINILM_NAME, pooling="cls", max_length=64, batch_size=4, device="cpu")


def test_format_without_tokenizer() -> None:
    table = _table(["Hi.", "Hello!", "", "Bye."], dialogues=["a", "a", "a", "b"])
    inputs = format_inputs(table)
    assert inputs[0] == "</s></s>Ann: Hi.</s></s>Bob: Hello!"  # the empty utterance is not context
    assert inputs[1] == "Ann: Hi.</s></s>Bob: Hello!</s></s>"
    assert inputs[3] == "</s></s>Bob: Bye.</s></s>"  # other dialogues never leak in
    assert format_inputs(table, past=0, future=0, speaker_names=False) == ["Hi.", "Hello!", "", "Bye."]
    assert format_inputs(table, past=1, future=0)[1] == "Ann: Hi.</s></s>Bob: Hello!"
    with pytest.raises(ValueError, match="past must be >= 0"):
        format_inputs(table, past=-1)
    with pytest.raises(ValueError, match="grouped by dialogue"):
        format_inputs(_table(["a", "b", "c"], dialogues=["x", "y", "x"]))


def test_truncation_keeps_target_and_drops_farthest_first(minilm: TextEncoder) -> None:
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
    texts = [f"{w} " * 3 for w in words]
    texts[4] = "the target utterance stays whole " * 2
    words[4] = "target"
    table = _table(texts)
    tokenizer = minilm.tokenizer
    inputs = format_inputs(table, tokenizer=tokenizer, max_length=40)
    target = inputs[4]
    assert "[SEP]" in target and table["text"][4].strip() in target
    assert len(tokenizer(target)["input_ids"]) <= 40
    assert "delta" in target and "foxtrot" in target  # nearest neighbours kept
    assert "alpha" not in target and "india" not in target  # farthest dropped first
    kept = [i for i, w in enumerate(words) if w in target]
    assert (
        kept == list(range(kept[0], kept[-1] + 1)) and kept[0] < 4 < kept[-1]
    )  # contiguous around the target
    past, middle, future = target.split("[SEP]")
    assert "delta" in past and "foxtrot" in future
    assert middle == "Ann: " + table["text"][4].strip()  # the target is the marked middle segment, intact
    assert all(len(ids) <= 40 for ids in tokenizer(inputs)["input_ids"])
    alone = format_inputs(_table(["word " * 60, "short"]), tokenizer=tokenizer, max_length=20)
    assert alone[0] == "[SEP]Ann: " + ("word " * 60).strip() + "[SEP]"  # no room: no context, tail cut later


def test_minilm_features(minilm: TextEncoder) -> None:
    texts = [
        "I am so happy today!",
        "",
        "This is terrible, I hate it.",
        "Okay.",
        "Where were you last night, Ross?",
    ]
    table = _table(texts)
    features = extract_text(table, minilm, past=1, future=1, show_progress=False)
    assert features.values.shape == (5, 384) and features.dim == 384
    assert features.present.tolist() == [True, False, True, True, True]
    assert not features.values[1].any()
    assert features.outcomes.counts() == {"ok": 4, "empty_text": 1}
    assert features.keys[0] == "d/0"
    provenance = features.provenance
    assert provenance["model"] == MINILM_NAME and provenance["pooling"] == "cls" and provenance["past"] == 1
    assert (
        provenance["max_length"] == 64
        and provenance["fine_tuned"] is False
        and provenance["separator"] == "[SEP]"
    )
    assert provenance["transformers"]


def test_pooling_modes_differ_and_order_is_restored(minilm: TextEncoder) -> None:
    texts = ["Hi.", "What on earth were you thinking when you said that to her?", "No way!", "Fine, fine."]
    batched = minilm.encode(texts, show_progress=False)  # batch_size 4: one batch, sorted by length inside
    minilm.batch_size = 1
    try:
        alone = np.stack([minilm.encode([t], show_progress=False)[0] for t in texts])
    finally:
        minilm.batch_size = 4
    np.testing.assert_allclose(batched, alone, atol=1e-4)  # padding does not change a row, rows not shuffled
    minilm.pooling = "mean"
    try:
        mean = minilm.encode(texts, show_progress=False)
    finally:
        minilm.pooling = "cls"
    assert mean.shape == batched.shape
    assert not np.allclose(mean, batched, atol=1e-3)


def test_unknown_model_offline_fails_fast_and_clearly(tmp_path) -> None:
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"'no-such-org/no-such-model' could not be loaded.*local folder"):
        load_pretrained("no-such-org/no-such-model")
    assert time.monotonic() - start < 20
    with pytest.raises(ValueError, match="has no config.json"):
        TextEncoder(str(tmp_path))
    with pytest.raises(ValueError, match="pooling must be one of"):
        TextEncoder(MINILM_NAME, pooling="max")

"""Fine-tuning on a tiny random RoBERTa (byte-level BPE tokenizer, loaded by path) and a slice of real
MELD."""

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from tokenizers import ByteLevelBPETokenizer, processors
from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

from multiemo.corpora import MELD_LABELS, read_meld
from multiemo.features.text import FINETUNE_FILE, TextEncoder, extract_text, format_inputs
from multiemo.features.text_finetune import HEAD_FILE, finetune_text_encoder, length_bucketed_order

MELD_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "meld"


@pytest.fixture(scope="module")
def meld_slice():
    """Three real MELD dialogues per split."""
    if not (MELD_DIR / "train_sent_emo.csv").is_file():
        pytest.skip(
            f"real MELD annotations not found in {MELD_DIR} (the shared/ folder sits beside the repo in CI)"
        )
    table = read_meld(MELD_DIR, require_media=False).table
    keep = table.groupby("split", sort=False)["dialogue_id"].unique().map(lambda ids: list(ids[:3]))
    chosen = [dialogue for ids in keep for dialogue in ids]
    return table[table["dialogue_id"].isin(chosen)].reset_index(drop=True)


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory, meld_slice) -> Path:
    """A 2-layer, 32-d RoBERTa with random weights and a byte-level BPE trained on the slice, saved to a
    folder."""
    folder = tmp_path_factory.mktemp("tiny-roberta")
    bpe = ByteLevelBPETokenizer()
    corpus = [f"{s}: {t}" for s, t in zip(meld_slice["speaker"], meld_slice["text"])]
    bpe.train_from_iterator(
        corpus, vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    )
    bpe._tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tokenizer = RobertaTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        model_max_length=128,
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    RobertaModel(config).save_pretrained(folder)
    return folder


def test_roberta_loaded_by_path(tiny_roberta: Path, meld_slice) -> None:
    encoder = TextEncoder(str(tiny_roberta), pooling="mean", batch_size=8, device="cpu")
    assert encoder.max_length == 128 and encoder.dim == 32  # 130 positions minus RoBERTa's padding offset
    features = extract_text(meld_slice, encoder, past=2, future=1, show_progress=False)
    assert features.values.shape == (len(meld_slice), 32) and features.present.all()
    assert features.provenance["separator"] == "</s></s>" and features.provenance["fine_tuned"] is False


@pytest.mark.slow
def test_finetune_saves_best_and_reloads(tiny_roberta: Path, meld_slice, tmp_path: Path) -> None:
    settings = {
        "labels": list(MELD_LABELS),
        "epochs": 2,
        "lr": 1e-3,
        "batch_size": 8,
        "patience": 1,
        "seed": 3,
        "past": 2,
        "future": 1,
        "class_weighted": True,
        "head_lr": 1e-2,
        "pooling": "mean",
        "show_progress": False,
        "device": "cpu",
    }
    result = finetune_text_encoder(meld_slice, str(tiny_roberta), out_dir=tmp_path / "ft", **settings)
    assert result.path == tmp_path / "ft" and 0.0 <= result.validation_f1 <= 1.0
    assert result.best_epoch in (1, 2) and len(result.history) in (1, 2)
    files = {p.name for p in result.path.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", HEAD_FILE, FINETUNE_FILE} <= files
    assert [p.name for p in tmp_path.iterdir()] == ["ft"]  # no temporary folder left behind
    meta = json.loads((result.path / FINETUNE_FILE).read_text())
    assert meta["validation_weighted_f1"] == pytest.approx(result.validation_f1)
    assert meta["settings"]["past"] == 2 and meta["settings"]["labels"] == list(MELD_LABELS)
    assert (meta["settings"]["lr"], meta["settings"]["head_lr"]) == (1e-3, 1e-2)

    encoder = TextEncoder(str(result.path), batch_size=8, device="cpu")
    assert encoder.pooling == "mean"  # taken from the fine-tuning settings
    features = extract_text(meld_slice, encoder, past=2, future=1, show_progress=False)
    assert features.provenance["fine_tuned"] is True
    assert features.provenance["fine_tune"]["settings"]["seed"] == 3
    original = TextEncoder(str(tiny_roberta), batch_size=8, device="cpu")
    assert not np.allclose(
        features.values, original.encode(_inputs(meld_slice, original), show_progress=False), atol=1e-4
    )  # the weights did change

    again = finetune_text_encoder(meld_slice, str(tiny_roberta), out_dir=tmp_path / "ft2", **settings)
    assert again.validation_f1 == result.validation_f1  # same seed on CPU: same run
    first, second = load_file(result.path / "model.safetensors"), load_file(again.path / "model.safetensors")
    assert all(torch.equal(first[k], second[k]) for k in first)


def _inputs(table, encoder):
    return format_inputs(table, past=2, future=1, tokenizer=encoder.tokenizer, max_length=encoder.max_length)


def test_finetune_needs_validation(tiny_roberta: Path, meld_slice, tmp_path: Path) -> None:
    train_only = meld_slice[meld_slice["split"] == "train"]
    with pytest.raises(ValueError, match="splits train and validation; found \\d+ and 0"):
        finetune_text_encoder(
            train_only,
            str(tiny_roberta),
            labels=list(MELD_LABELS),
            out_dir=tmp_path / "x",
            epochs=1,
            show_progress=False,
        )
    with pytest.raises(ValueError, match="head_lr must be positive, got 0"):
        finetune_text_encoder(
            meld_slice, str(tiny_roberta), labels=list(MELD_LABELS), out_dir=tmp_path / "x", head_lr=0.0
        )
    with pytest.raises(ValueError, match=r"labels \['anger'.* are not among \['joy'\]"):
        finetune_text_encoder(meld_slice, str(tiny_roberta), labels=["joy"], out_dir=tmp_path / "x", epochs=1)


def test_length_bucketed_order_batches_similar_lengths() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 128, size=1000)
    rows = np.flatnonzero(rng.random(1000) < 0.9)  # the training rows: a subset of the table
    order = length_bucketed_order(rows, lengths, 16, torch.Generator().manual_seed(1), pool=10)
    assert sorted(order.tolist()) == rows.tolist()  # every training row once
    batches = [order[i : i + 16] for i in range(0, len(order), 16)]
    assert all(len(b) == 16 for b in batches[:-1])  # only the last batch is partial
    padded = sum(lengths[b].max() * len(b) for b in batches)
    shuffled = rng.permutation(rows)
    padded_random = sum(lengths[shuffled[i : i + 16]].max() * 16 for i in range(0, len(rows), 16))
    assert padded < 1.15 * lengths[rows].sum() < 0.7 * padded_random  # little padding left
    again = length_bucketed_order(rows, lengths, 16, torch.Generator().manual_seed(1), pool=10)
    other = length_bucketed_order(rows, lengths, 16, torch.Generator().manual_seed(2), pool=10)
    assert np.array_equal(order, again) and not np.array_equal(order, other)

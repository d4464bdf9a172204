"""A tiny Whisper with random weights, built offline: no Whisper weights can be downloaded here.

The model is a real ``WhisperForConditionalGeneration`` (1 encoder and 1 decoder layer, width 16). Its
tokenizer is a minimal byte-level BPE made in code: the 256 byte symbols and Whisper's special tokens,
no merges (so every byte is a token); ``WhisperTokenizer`` loads it from ``tokenizer.json`` (in
transformers 5 a tokenizer built from ``vocab.json``/``merges.txt`` arguments silently keeps only its
special tokens). Its transcriptions are random bytes: the tests check the path, not the words.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    GenerationConfig,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperTokenizer,
)
from transformers.convert_slow_tokenizer import bytes_to_unicode

SPECIALS = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|translate|>",
            "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"]


def build_tiny_whisper(folder: Path) -> Path:
    """Write a loadable tiny Whisper (model, tokenizer, feature extractor) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = list(bytes_to_unicode().values())
    vocab = {s: i for i, s in enumerate(symbols)} | {s: len(symbols) + i for i, s in enumerate(SPECIALS)}
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    bpe = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.add_special_tokens(SPECIALS)
    bpe.save(str(folder / "tokenizer.json"))
    end = "<|endoftext|>"
    tokenizer = WhisperTokenizer.from_pretrained(str(folder), unk_token=end, bos_token=end, eos_token=end,
                                                 pad_token=end)
    ids = {s: tokenizer.convert_tokens_to_ids(s) for s in SPECIALS}
    config = WhisperConfig(vocab_size=len(tokenizer), d_model=16, encoder_layers=1, decoder_layers=1,
                           encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                           decoder_ffn_dim=32, num_mel_bins=80, max_source_positions=1500,
                           max_target_positions=64, decoder_start_token_id=ids["<|startoftranscript|>"],
                           bos_token_id=ids[end], eos_token_id=ids[end], pad_token_id=ids[end])
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id, eos_token_id=ids[end], pad_token_id=ids[end],
        max_length=64, no_timestamps_token_id=ids["<|notimestamps|>"], is_multilingual=True,
        lang_to_id={"<|en|>": ids["<|en|>"]},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        begin_suppress_tokens=[], suppress_tokens=[])
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    return folder

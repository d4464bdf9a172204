"""Utterance keys: the one name of an utterance in corpora, shards, stage outcomes, stores and predictions."""

from __future__ import annotations

import pandas as pd


def utterance_key(dialogue_id: object, utterance_id: object) -> str:
    """The key that names one utterance everywhere: ``"{dialogue_id}/{utterance_id}"``."""
    return f"{dialogue_id}/{utterance_id}"


def table_keys(table: pd.DataFrame) -> list[str]:
    """Utterance keys of every row of a checked table, in table order."""
    return [utterance_key(d, u) for d, u in zip(table["dialogue_id"], table["utterance_id"])]

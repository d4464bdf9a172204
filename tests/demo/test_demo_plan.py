"""The demo corpus plan: a pure, deterministic function of its seed that realises the cue design."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from workflow.demo.generator.cues import EMOTIONS, MODALITIES, RELIABILITY, SENTIMENT
from workflow.demo.generator.generate import MELD_COLUMNS, format_timestamp, meld_table
from workflow.demo.generator.plan import CorpusSpec, cue_table, plan_corpus


def test_plan_is_deterministic_for_a_seed():
    first = cue_table(plan_corpus(CorpusSpec(seed=7)))
    second = cue_table(plan_corpus(CorpusSpec(seed=7)))
    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(cue_table(plan_corpus(CorpusSpec(seed=8))))


def test_plan_respects_the_spec():
    spec = CorpusSpec(seed=3)
    table = cue_table(plan_corpus(spec))
    assert table.groupby("split").dialogue_id.nunique().to_dict() == spec.dialogues
    per_dialogue = table.groupby(["split", "dialogue_id"])
    assert per_dialogue.size().between(*spec.utterances).all()
    assert per_dialogue.speaker.nunique().between(*spec.speakers).all()
    # Utterance ids count 0, 1, 2, ... inside each dialogue, and clips follow one another in time.
    assert (per_dialogue.utterance_id.cumcount() == table.utterance_id).all()
    assert (per_dialogue.start_ms.diff().dropna() > 0).all()
    assert table.eval("end_ms - start_ms").between(1000 * spec.duration[0], 1000 * spec.duration[1]).all()
    assert set(table.emotion) == set(EMOTIONS)
    assert (table.sentiment == table.emotion.map(SENTIMENT)).all()
    assert table.fate.value_counts().to_dict() == {"ok": len(table) - 2, "missing": 1, "corrupt": 1}
    assert set(table[table.fate != "ok"].split) == {"train"}


def test_channels_are_on_as_often_as_designed_and_independently():
    spec = CorpusSpec(seed=11, dialogues={"train": 1500, "dev": 1, "test": 1})
    table = cue_table(plan_corpus(spec))
    emotional = table[table.emotion != "neutral"]  # for neutral utterances "off" often looks "on"
    hits = pd.DataFrame({m: emotional[f"{m}_cue"] == emotional.emotion for m in MODALITIES})
    for modality in MODALITIES:
        rel = RELIABILITY[modality]
        assert hits[modality].mean() == pytest.approx(rel.p_true, abs=0.02)
        off = emotional[~hits[modality]][f"{modality}_cue"]
        assert (off == "neutral").mean() == pytest.approx(rel.p_neutral_when_off, abs=0.03)
    # Channels are on independently: all three together as often as the product predicts.
    assert hits.all(axis=1).mean() == pytest.approx(hits.mean().prod(), abs=0.02)


def test_meld_table_has_meld_columns_and_counts_from_one():
    plans = plan_corpus(CorpusSpec(seed=5))
    table = meld_table(plans, "dev")
    assert tuple(table.columns) == MELD_COLUMNS
    assert table["Sr No."].tolist() == list(range(1, len(table) + 1))
    assert len(table) == sum(p.split == "dev" for p in plans)


def test_timestamps_look_like_meld():
    assert format_timestamp(878_127) == "00:14:38,127"
    assert format_timestamp(644_769, short_hour=True) == "0:10:44,769"
    assert format_timestamp(3_600_000 + 5) == "01:00:00,005"


@pytest.mark.parametrize(
    "change",
    [
        {"dialogues": {"train": 1, "dev": 1}},
        {"speakers": (1, 2)},
        {"speakers": (2, 9)},
        {"utterances": (5, 4)},
        {"mood_persistence": 1.5},
    ],
)
def test_spec_rejects_bad_values(change):
    with pytest.raises(ValueError):
        replace(CorpusSpec(), **change)

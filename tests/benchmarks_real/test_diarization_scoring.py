"""The development protocol's scorer on hand-made cases whose scores are worked out by hand (collar 0.5 s:
0.25 s around every reference boundary is not scored)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.speech_dev.scoring import Recording, score_set


def turns(*spans: tuple[float, float, str]) -> tuple[np.ndarray, list[str]]:
    return np.array([(a, b) for a, b, _ in spans], float).reshape(-1, 2), [who for _, _, who in spans]


TWO = turns((0, 10, "A"), (10, 20, "B"))  # scored: A 0.25-9.75, B 10.25-19.75 (19 s)


def test_a_perfect_hypothesis_under_other_names_scores_zero_and_the_baseline_half():
    scored = score_set([Recording("two", TWO, turns((0, 10, "x"), (10, 20, "y")))])
    row = scored["recordings"]["two"]
    assert row["der"] == pytest.approx(0) and row["der_no_overlap"] == pytest.approx(0)
    # One speaker for everything: the 9.5 s of one of them are confused.
    assert row["baseline"] == pytest.approx(9.5 / 19)
    assert row["baseline_no_overlap"] == pytest.approx(9.5 / 19)
    assert (row["speakers"], row["reference_speakers"]) == (2, 2)


def test_missed_false_alarm_and_confusion_in_seconds():
    # B's first half confused, its second missed
    hypothesis = turns((0, 10, "x"), (10, 15, "x"), (22, 25, "y"))
    row = score_set([Recording("two", TWO, hypothesis)])["recordings"]["two"]
    parts = row["overlap"]
    assert parts["confusion"] == pytest.approx(4.75)  # 10.25-15
    assert parts["missed"] == pytest.approx(4.75)  # 15-19.75
    assert parts["false"] == pytest.approx(3.0)  # 22-25, outside any reference turn
    assert row["der"] == pytest.approx((4.75 + 4.75 + 3.0) / 19)


def test_overlap_is_scored_or_left_out():
    reference = turns((0, 10, "A"), (5, 10, "B"))  # B talks over A's second half
    row = score_set([Recording("over", reference, turns((0, 10, "x")))])["recordings"]["over"]
    # Overlap scored: B's 5.25-9.75 is missed, of 9 s (A, less B's start collar) + 4.5 s (B).
    assert row["der"] == pytest.approx(4.5 / 13.5)
    # Not scored: only A's 0.25-4.75 remains, and it is right.
    assert row["der_no_overlap"] == pytest.approx(0)
    assert row["no_overlap"]["total"] == pytest.approx(4.5)


def test_errors_are_summed_over_recordings_not_averaged():
    short = turns((0, 2, "A"))  # 1.5 s scored, all missed
    scored = score_set([Recording("two", TWO, TWO), Recording("short", short, turns())])
    assert scored["recordings"]["short"]["der"] == pytest.approx(1.0)
    assert scored["total"]["der"] == pytest.approx(1.5 / (19 + 1.5))  # not (0 + 1) / 2


def test_speaker_counts_and_recordings_worse_than_one_speaker():
    three = turns((0, 10, "x"), (10, 15, "y"), (15, 20, "z"))  # one speaker too many
    wrong = turns((0, 21, "x"))  # one speaker, and 0.75 s of false alarm past the collar: worse by 3.9 points
    scored = score_set([Recording("three", TWO, three), Recording("wrong", TWO, wrong),
                        Recording("right", TWO, TWO)])
    total = scored["total"]
    assert (total["count_exact"], total["count_within_1"], total["recordings"]) == (1, 3, 3)
    assert scored["recordings"]["wrong"]["der_no_overlap"] == pytest.approx((9.5 + 0.75) / 19)
    assert total["worse_than_baseline"] == []  # 'wrong' is worse, but by less than 10 points
    worse = turns((0, 10, "x"), (10, 20, "x"), (20, 29, "y"))  # all one label, plus 9 s of false alarm
    assert score_set([Recording("worse", TWO, worse)])["total"]["worse_than_baseline"] == ["worse"]

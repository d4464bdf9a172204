import math

import pytest

from multiemo.corpora.fields import clean_text, parse_seconds, parse_timestamp


@pytest.mark.parametrize(
    ("stamp", "seconds"),
    [
        ("00:14:38,127", 14 * 60 + 38.127),
        ("0:10:44,769", 10 * 60 + 44.769),
        ("00:05:11,82", 5 * 60 + 11.82),  # two fraction digits occur in the real MELD test CSV
        ("01:00:00.5", 3600.5),
        ("0:00:07", 7.0),
    ],
)
def test_timestamp_spellings(stamp: str, seconds: float) -> None:
    assert parse_timestamp(stamp) == pytest.approx(seconds)


@pytest.mark.parametrize("stamp", ["", "14:38,127", "00:61:00,000", "0:10:44;769", "abc", "00:00:01,1234"])
def test_malformed_timestamp(stamp: str) -> None:
    with pytest.raises(ValueError, match="time stamp"):
        parse_timestamp(stamp)


def test_seconds_number_stamp_or_empty() -> None:
    assert parse_seconds("12.5") == 12.5
    assert parse_seconds("0:00:12,500") == pytest.approx(12.5)
    assert math.isnan(parse_seconds(" "))
    with pytest.raises(ValueError, match="neither seconds"):
        parse_seconds("twelve")
    with pytest.raises(ValueError, match="finite"):
        parse_seconds("inf")


def test_clean_text_repairs_encoding_damage_and_keeps_unicode() -> None:
    assert clean_text("You must\x92ve had") == "You must’ve had"  # cp1252 byte read as Latin-1
    assert clean_text("Iâ€™m fine â€¦") == "I’m fine …"  # UTF-8 read as cp1252
    assert clean_text("  Café   “quoted”\n— yes ") == "Café “quoted” — yes"
    assert clean_text("naïve") == "naïve"

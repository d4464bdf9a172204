"""Parsing raw annotation fields shared by the readers: file decoding, transcript text, time stamps."""

from __future__ import annotations

import math
import re
import unicodedata
from pathlib import Path

# Characters that betray UTF-8 bytes decoded as cp1252 ("’" read as "â€™", "é" read as "Ã©").
_MOJIBAKE = re.compile(
    "[\u00c2\u00c3\u00e2][\u0080-\u00bf\u2018-\u203a\u20ac\u0152\u0153\u0160\u0161\u017d\u017e\u0178\u02c6\u02dc\u0192]"
)
# C1 control characters: cp1252 punctuation bytes (0x92 = ’) decoded as Latin-1.
_C1 = re.compile("[\u0080-\u009f]")
_SPACES = re.compile(r"\s+")
_TIMESTAMP = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})(?:[,.](\d{1,3}))?\s*$")


def read_text_file(path: str | Path) -> str:
    """Read an annotation file as text: UTF-8 (a BOM is dropped), else cp1252, the encoding of older
    releases."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def clean_text(text: str) -> str:
    """Normalise one transcript: repair encoding damage, keep real non-ASCII characters.

    * UTF-8 read as cp1252 (``"Iâ€™m"``) is decoded back (``"I’m"``);
    * cp1252 punctuation bytes read as Latin-1 (``"I\\x92m"``) become their characters (``"I’m"``);
    * Unicode NFC; runs of whitespace (including newlines and non-breaking spaces) become one space; stripped.

    Typographic quotes, dashes, ellipses and accents are kept: RoBERTa's byte-level tokenizer knows them.
    """
    if _MOJIBAKE.search(text):
        try:
            text = text.encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass  # not mojibake after all (or mixed): keep the text as it is
    text = _C1.sub(_c1_to_cp1252, text)
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _c1_to_cp1252(match: re.Match) -> str:
    try:
        return bytes([ord(match.group())]).decode("cp1252")
    except UnicodeDecodeError:
        return ""  # the five bytes cp1252 leaves undefined carry no text


def parse_timestamp(value: str) -> float:
    """Seconds from a time stamp ``H:MM:SS,mmm`` or ``HH:MM:SS.mmm`` (the fraction may have 1-3 digits).

    MELD writes both ``00:14:38,127`` and ``0:10:44,769``, and a few stamps have two fraction digits
    (``00:05:11,82``): the fraction is read as a decimal fraction of a second (0.82 s).

    Raises:
        ValueError: the stamp has another form (the message quotes it).
    """
    match = _TIMESTAMP.match(value)
    if match is None:
        raise ValueError(f"time stamp {value!r} is not of the form H:MM:SS,mmm")
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) >= 60 or int(seconds) >= 60:
        raise ValueError(f"time stamp {value!r} has minutes or seconds >= 60")
    return (
        int(hours) * 3600 + int(minutes) * 60 + int(seconds) + (float(f"0.{fraction}") if fraction else 0.0)
    )


def parse_seconds(value: str) -> float:
    """Seconds from a plain number (``12.5``) or a time stamp (``0:00:12,500``); "" gives NaN.

    Raises:
        ValueError: neither form (the message quotes the value).
    """
    value = value.strip()
    if not value:
        return float("nan")
    try:
        seconds = float(value)
    except ValueError:
        try:
            return parse_timestamp(value)
        except ValueError:
            raise ValueError(f"{value!r} is neither seconds (12.5) nor a time stamp (0:00:12,500)") from None
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a finite number of seconds")
    return seconds

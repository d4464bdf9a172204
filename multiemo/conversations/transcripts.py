"""Subtitle transcripts (SRT, WebVTT) read into timed, speaker-attributed cues.

The maintained parsers ``srt`` and ``webvtt-py`` read the cues (times, WebVTT header metadata such as
``Kind: captions``, cue settings, NOTE/STYLE/REGION blocks). Before them, each blank-line-separated block
is checked for its timing line, because webvtt-py skips a block it cannot parse without a word: a block
without one, or with a malformed one, is an error quoting that line and its number.

Reading rules, each counted rather than silent:

* Encoding: UTF-8 (a BOM is dropped) or UTF-16 with a BOM; otherwise the file is read as cp1252 (the usual
  encoding of older Windows subtitle files), noted as ``encoding_fallback`` with the number of bytes that
  cp1252 leaves undefined (replaced by U+FFFD), and every cue of it has status ``encoding_fallback`` unless
  it meets a more specific fallback. A file holding NUL bytes outside UTF-16 is not text: error.
* Speaker: a WebVTT voice tag ``<v Name>`` or, at the start of a cue, ``Name: text`` where the name is 1-4
  capitalised words (``Ross``, ``Dr. Green``, ``SPEAKER_01``, ``Speaker 2``; letters, digits and ``.'-_``)
  of at most 32 characters; a cue holding only ``Name:`` is that speaker with empty text. Cues without
  one are spoken by ``unknown``. Other tags (``<i>``, ``{\\an8}``, ``<c.red>``) are removed, entities decoded.
* A cue whose end is not after its start is dropped (``bad_time``); a cue with no text after tags are
  removed is kept with empty text (``empty_text``: its text feature is missing, audio and face still count).
* Rolling captions (YouTube's automatic ones: word timings ``<00:00:01.500><c> word</c>``, payload lines of a
  space): each cue keeps only the lines the cue before it did not show; a cue that shows nothing new is
  dropped (``rolling_repeat``).
* A malformed timing line, or a file without any cue, is an error naming the file and line.

:func:`fit_to_media` then fits the cues to the video (order, overlaps, times beyond its end).
"""

from __future__ import annotations

import html
import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import srt
import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from multiemo.corpora.fields import clean_text
from multiemo.errors import InputError

log = logging.getLogger(__name__)

UNKNOWN_SPEAKER = "unknown"
OK = "ok"
BAD_TIME = "bad_time"
EMPTY_TEXT = "empty_text"
OVERLAP_TRIMMED = "overlap_trimmed"
OVERLAP_KEPT = "overlap_kept"
END_CLIPPED = "end_clipped"
BEYOND_END = "beyond_end"
ENCODING_FALLBACK = "encoding_fallback"
#: Statuses of cues that are not predicted (every other status keeps the cue).
ROLLING_REPEAT = "rolling_repeat"  # a rolling caption's cue that only shows lines of the cues before it

DROPPED = (BAD_TIME, BEYOND_END, ROLLING_REPEAT)

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})(?:[,.](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?$")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>", re.IGNORECASE)
_WORD_TIMING = re.compile(r"<(?:\d+:)?\d{2}:\d{2}\.\d{3}>")
_TAGS = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_SPEAKER = re.compile(r"^-?\s*([^:]{1,32}):(?:\s+(\S.*))?$")
_NAME_CHARS = set(".'-_")


@dataclass(frozen=True)
class Cue:
    """One subtitle cue.

    Attributes:
        number: 1-based order of the cue in the file (names it in messages and utterance ids).
        line: line of the file where its timing line is.
        start, end: seconds from the start of the video.
        speaker: speaker name, ``unknown`` when the cue names none.
        text: cleaned text, "" when the cue holds none.
        status: ``ok`` or one of the module's fallback words.
    """

    number: int
    line: int
    start: float
    end: float
    speaker: str
    text: str
    status: str = OK


@dataclass
class Transcript:
    """The cues of a subtitle file and facts about reading it (``notes``: encoding, counts)."""

    path: str
    cues: list[Cue]
    notes: dict


def read_subtitles(path: str | os.PathLike) -> Transcript:
    """Read an ``.srt`` or ``.vtt`` file (the format is recognised by content, not suffix).

    Returns:
        All cues in file order, dropped ones included (status ``bad_time``), so that callers can count them.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a text file, a malformed timing line, or no cue at all (the message names the file
            and line).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"transcript {path} not found")
    text, notes = _decode(path)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    is_vtt = lines[0].strip().startswith("WEBVTT")
    notes["format"] = "webvtt" if is_vtt else "srt"
    timing_lines = _timing_lines(lines, path, is_vtt)
    raw = _parse_vtt(text, path) if is_vtt else _parse_srt(text, path)
    if len(raw) != len(timing_lines):  # the parser and the block check disagree on what a cue is
        raise InputError(f"{path}: {len(timing_lines)} timing lines but {len(raw)} cues could be read; check "
                         "the blank lines between cues")
    fallback = ENCODING_FALLBACK if "encoding_fallback" in notes else OK
    # Rolling captions (word timings such as <00:00:01.500><c> word</c>): each cue repeats the lines before
    # it.
    rolling = is_vtt and _WORD_TIMING.search(text) is not None
    cues: list[Cue] = []
    shown: list[str] = []  # the previous cue's lines, as displayed
    for line, (start, end, rows) in zip(timing_lines, raw):
        rows = [row for row in rows if row.strip()]
        if rolling:
            plain = [clean_text(_TAGS.sub("", row)) for row in rows]
            repeated = next((i for i, row in enumerate(plain) if row not in shown), len(plain))
            rows, shown = rows[repeated:], plain
        speaker, words = _speaker_and_text(rows)
        status = BAD_TIME if end <= start else (ROLLING_REPEAT if rolling and not rows else
                                                EMPTY_TEXT if not words else fallback)
        cues.append(Cue(len(cues) + 1, line, start, end, speaker, words, status))
    if not cues:
        raise InputError(f"{path} holds no subtitle cues; give an SRT or WebVTT file (or no transcript)")
    bad = [c for c in cues if c.status == BAD_TIME]
    if bad:
        log.warning("%s: %d cue(s) dropped whose end is not after their start, e.g. line %d",
                    path, len(bad), bad[0].line)
    return Transcript(path=str(path), cues=cues, notes=notes)


def _timing_lines(lines: list[str], path: Path, is_vtt: bool) -> list[int]:
    """1-based line number of each cue's timing line; a block without a well-formed one is an error that
    quotes the line where the timing was expected."""
    numbers = []
    blocks = list(_blocks(lines, 1, is_vtt=is_vtt))
    for index, (first, block) in enumerate(blocks):
        if is_vtt and (index == 0 or block[0].split(" ", 1)[0] in ("NOTE", "STYLE", "REGION")):
            continue  # the header block (with metadata lines such as "Kind: captions"), comments, styles
        timing = next((i for i, row in enumerate(block[:2]) if "-->" in row), None)
        if timing is None:
            # The timing line is the first line, or the second after a cue number / identifier.
            at = 1 if len(block) > 1 and (block[0].isdigit() or is_vtt and "-->" not in block[0]
                                          and _looks_like_timing(block[1])) else 0
            raise InputError(
                f"{path}, line {first + at}: expected a timing line like '00:00:01,000 --> 00:00:02,500' "
                f"{'after an optional cue identifier' if is_vtt else 'after the cue number'}, got "
                f"{block[at]!r}"
            )
        _parse_timing(block[timing], path, first + timing)
        numbers.append(first + timing)
    return numbers


def _looks_like_timing(row: str) -> bool:
    return bool(re.match(r"^\s*[\d:.,]+\s*\S*\s*[\d:.,]+", row))


def _parse_srt(text: str, path: Path) -> list[tuple[float, float, list[str]]]:
    try:
        return [(s.start.total_seconds(), s.end.total_seconds(), s.content.split("\n"))
                for s in srt.parse(text)]
    except srt.SRTParseError as error:
        line = text.count("\n", 0, error.expected_start) + 1
        raise InputError(f"{path}, line {line}: not a subtitle cue: "
                         f"{text.split(chr(10))[line - 1]!r}") from None


def _parse_vtt(text: str, path: Path) -> list[tuple[float, float, list[str]]]:
    try:
        captions = webvtt.from_string(text).captions
    except (MalformedFileError, MalformedCaptionError) as error:
        raise InputError(f"{path}: not a WebVTT file ({error})") from None
    return [(c.start_time.in_milliseconds() / 1000, c.end_time.in_milliseconds() / 1000,
             c.raw_text.split("\n"))
            for c in captions]


def fit_to_media(cues: list[Cue], duration: float | None, *, min_duration: float = 0.1) -> list[Cue]:
    """Fit cues to a video: time order, overlaps and times beyond its end, each fallback in ``status``.

    * Cues are sorted by start (stable; the file order of equal starts is kept).
    * A cue starting at or after the video's end is dropped (``beyond_end``); one ending after it is cut at
      the end (``end_clipped``).
    * When a cue starts before the previous one ends, the previous one is cut to end where the next begins
      (``overlap_trimmed``), so each utterance's audio and frames are its own; when that would leave the
      previous cue shorter than ``min_duration`` s, both keep their times (``overlap_kept``).

    Args:
        cues: read cues (dropped ones are passed through unchanged).
        duration: the video's length in seconds (None = unknown: no end check).
        min_duration: shortest cue left after trimming an overlap, in seconds.

    Returns:
        Cues in time order with updated times and statuses; dropped cues last.

    Raises:
        ValueError: no cue lies within the video.
    """
    kept = sorted((c for c in cues if c.status not in DROPPED), key=lambda c: c.start)
    dropped = [c for c in cues if c.status in DROPPED]
    fitted: list[Cue] = []
    for cue in kept:
        if duration is not None and cue.start >= duration:
            dropped.append(replace(cue, status=BEYOND_END))
            continue
        if duration is not None and cue.end > duration:
            cue = replace(cue, end=duration, status=_worse(cue.status, END_CLIPPED))
        if fitted and cue.start < fitted[-1].end:
            previous = fitted[-1]
            if cue.start - previous.start >= min_duration:
                fitted[-1] = replace(previous, end=cue.start, status=_worse(previous.status, OVERLAP_TRIMMED))
            else:
                fitted[-1] = replace(previous, status=_worse(previous.status, OVERLAP_KEPT))
                cue = replace(cue, status=_worse(cue.status, OVERLAP_KEPT))
        fitted.append(cue)
    if not fitted:
        raise InputError(
            f"no subtitle cue starts within the video's {duration:.1f} s (the first starts at "
            f"{min(c.start for c in cues):.1f} s); is the transcript the one of this video?"
        )
    beyond = [c for c in dropped if c.status == BEYOND_END]
    if beyond:
        log.warning("%d cue(s) start after the video's end (%.1f s) and are dropped, e.g. cue %d",
                    len(beyond), duration, beyond[0].number)
    return fitted + dropped


def _worse(current: str, new: str) -> str:
    """Keep the first fallback a cue met (empty text stays visible), else the new one; the file-wide
    encoding fallback gives way to a cue's own (the JSON's notes keep the encoding)."""
    return new if current in (OK, ENCODING_FALLBACK) else current


def _decode(path: Path) -> tuple[str, dict]:
    data = path.read_bytes()
    notes: dict = {}
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        notes["encoding"] = "utf-16"
        return data.decode("utf-16"), notes
    if b"\x00" in data:
        raise InputError(f"{path} is not a text file (it holds NUL bytes); give an SRT or WebVTT subtitle "
                         "file")
    try:
        notes["encoding"] = "utf-8"
        return data.decode("utf-8-sig"), notes
    except UnicodeDecodeError as error:
        text = data.decode("cp1252", errors="replace")
        notes["encoding"] = "cp1252"
        notes["encoding_fallback"] = {
            "reason": f"not valid UTF-8 (byte {error.start})",
            "undefined_bytes_replaced": text.count("\ufffd"),
        }
        log.warning("%s is not valid UTF-8 (byte %d); read as cp1252", path, error.start)
        return text, notes


def _blocks(lines: list[str], first_line: int, *, is_vtt: bool = False):
    """(1-based line number, non-empty lines) of each blank-line-separated block. In WebVTT only an empty line
    ends a block: a payload line of spaces (YouTube's rolling captions write one) belongs to its cue."""
    block: list[str] = []
    start = first_line
    for number, row in enumerate(lines, start=first_line):
        if row.strip():
            if not block:
                start = number
            block.append(row.strip())
        elif block and not (is_vtt and row):
            yield start, block
            block = []
    if block:
        yield start, block


def _parse_timing(row: str, path: Path, line: int) -> tuple[float, float]:
    match = _TIMING.match(row)
    if match is None:
        raise InputError(
            f"{path}, line {line}: malformed timing line {row!r}; expected '00:00:01,000 --> 00:00:02,500'"
        )
    groups = match.groups()
    times = []
    for h, m, s, frac in (groups[:4], groups[4:]):
        if int(s) >= 60 or (h is not None and int(m) >= 60):
            raise InputError(f"{path}, line {line}: minutes or seconds >= 60 in {row!r}")
        times.append(int(h or 0) * 3600 + int(m) * 60 + int(s) + (float(f"0.{frac}") if frac else 0.0))
    return times[0], times[1]


def _speaker_and_text(rows: list[str]) -> tuple[str, str]:
    raw = "\n".join(rows)
    voice = _VOICE.search(raw)
    text = clean_text(html.unescape(_TAGS.sub("", raw)))
    if voice is not None:
        return clean_text(voice.group(1)) or UNKNOWN_SPEAKER, text
    match = _SPEAKER.match(text)
    if match is not None and _is_name(match.group(1)):
        return match.group(1), (match.group(2) or "").strip()
    return UNKNOWN_SPEAKER, text


def _is_name(candidate: str) -> bool:
    """1-4 capitalised words ("Ross", "Dr. Green", "SPEAKER_01", "Speaker 2"), not a clause ("I think")."""
    words = candidate.split(" ")
    if not 1 <= len(words) <= 4 or not words[0][:1].isalpha():
        return False
    for word in words:
        if not word or not (word[0].isupper() or word[0].isdigit()):
            return False
        if not all(ch.isalnum() or ch in _NAME_CHARS for ch in word):
            return False
    return True

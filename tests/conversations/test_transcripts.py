"""Subtitle reading: SRT and WebVTT, speakers, tags, encodings, malformed files, fitting cues to a video."""

from __future__ import annotations

import pytest

from multiemo.conversations.transcripts import (
    BAD_TIME,
    BEYOND_END,
    EMPTY_TEXT,
    END_CLIPPED,
    OK,
    OVERLAP_KEPT,
    OVERLAP_TRIMMED,
    ROLLING_REPEAT,
    UNKNOWN_SPEAKER,
    Cue,
    fit_to_media,
    read_subtitles,
)

SRT = """1
00:00:01,000 --> 00:00:02,500
Ross: Hi, how are you?

2
00:00:03,000 --> 00:00:04,000
<i>I'm fine</i>, thanks &amp; you?
Really.

3
00:00:05,000 --> 00:00:05,000
Zero length.
"""

VTT = """WEBVTT - a header line

NOTE this is a comment
spanning lines

intro
00:01.000 --> 00:02.500 align:start position:10%
<v Rachel Green>We were on a break!

00:00:03.000 --> 00:00:04.000
<c.red>I think: no.</c>
"""


def test_srt_cues_with_speakers_tags_and_entities(tmp_path):
    path = tmp_path / "a.srt"
    path.write_text(SRT, encoding="utf-8")
    read = read_subtitles(path)
    assert read.notes == {"encoding": "utf-8", "format": "srt"}
    first, second, third = read.cues
    assert (first.start, first.end, first.speaker, first.text) == (1.0, 2.5, "Ross", "Hi, how are you?")
    assert (second.speaker, second.text) == (UNKNOWN_SPEAKER, "I'm fine, thanks & you? Really.")
    assert third.status == BAD_TIME and first.status == second.status == OK


def test_webvtt_header_notes_settings_and_voice_tags(tmp_path):
    path = tmp_path / "a.vtt"
    path.write_text(VTT, encoding="utf-8")
    read = read_subtitles(path)
    assert read.notes["format"] == "webvtt"
    assert [(c.start, c.end, c.speaker, c.text) for c in read.cues] == [
        (1.0, 2.5, "Rachel Green", "We were on a break!"),
        (3.0, 4.0, UNKNOWN_SPEAKER, "I think: no."),  # a clause before a colon is not a speaker
    ]


def test_non_utf8_file_is_read_as_cp1252_and_counted(tmp_path):
    path = tmp_path / "latin.srt"
    path.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nJoey: Caf\xe9 \x93ok\x94\n".encode("latin-1"))
    read = read_subtitles(path)
    assert read.cues[0].text == "Café “ok”"
    assert read.notes["encoding"] == "cp1252"
    assert read.notes["encoding_fallback"]["undefined_bytes_replaced"] == 0


def test_utf16_with_bom_and_crlf(tmp_path):
    path = tmp_path / "u16.srt"
    path.write_bytes("1\r\n00:00:01,000 --> 00:00:02,000\r\nMonica: Hé\r\n".encode("utf-16"))
    cue = read_subtitles(path).cues[0]
    assert (cue.speaker, cue.text) == ("Monica", "Hé")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "holds no subtitle cues"),
        (b"\n\n", "holds no subtitle cues"),
        # the message quotes the timing line (line 2), not the cue number's line above it
        (b"1\n00:00:01,000 -> 00:00:02,000\nHi\n",
         ("line 2: expected a timing line .* got '00:00:01,000 -> "
          "00:00:02,000'")),
        (b"1\n00:00:01,000 --> 00:00:02,000\nHi\n\n2\n00:00:03 --> 00:00:x4,000\nYo\n",
         "line 6: malformed timing"),
        (b"1\n00:00:61,000 --> 00:01:02,000\nHi\n", "seconds >= 60"),
        (b"\x00\x00\x01\x02ftypmp42" * 10, "not a text file"),
    ],
)
def test_malformed_files_give_one_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.srt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        read_subtitles(path)
    assert str(path) in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.srt not found"):
        read_subtitles(tmp_path / "nope.srt")


def cue(number, start, end, text="hi", status=OK):
    return Cue(number, number, start, end, "A", text, status)


def test_fit_trims_overlaps_clips_end_and_drops_cues_beyond_the_video():
    cues = [cue(1, 0.0, 2.0), cue(2, 1.5, 3.0), cue(3, 1.55, 2.5), cue(4, 4.0, 6.5), cue(5, 7.0, 8.0),
            cue(6, 5.0, 5.0, status=BAD_TIME), cue(7, 6.3, 6.4, text="", status=EMPTY_TEXT)]
    fitted = {c.number: c for c in fit_to_media(cues, 6.1)}
    assert (fitted[1].end, fitted[1].status) == (1.5, OVERLAP_TRIMMED)
    # Cue 3 starts 0.05 s after cue 2: trimming would leave cue 2 too short, so both keep their times.
    assert fitted[2].status == fitted[3].status == OVERLAP_KEPT and fitted[2].end == 3.0
    assert (fitted[4].end, fitted[4].status) == (6.1, END_CLIPPED)
    assert fitted[5].status == BEYOND_END and fitted[6].status == BAD_TIME
    assert fitted[7].status == BEYOND_END


def test_fit_sorts_by_start_and_keeps_empty_text_cues():
    fitted = fit_to_media([cue(1, 3.0, 4.0), cue(2, 1.0, 2.0, text="", status=EMPTY_TEXT)], None)
    assert [c.number for c in fitted] == [2, 1] and fitted[0].status == EMPTY_TEXT


def test_transcript_of_another_video_is_an_error():
    with pytest.raises(ValueError, match="no subtitle cue starts within the video's 5.0 s"):
        fit_to_media([cue(1, 60.0, 62.0), cue(2, 63.0, 64.0)], 5.0)


def test_webvtt_header_metadata_as_youtube_writes_it(tmp_path):
    path = tmp_path / "yt.vtt"
    path.write_text("WEBVTT\nKind: captions\nLanguage: en\n\n00:00:01.000 --> 00:00:02.500 align:start "
                    "position:0%\nRoss: hello there\n\n00:00:03.000 --> 00:00:04.000\n<v Rachel>hi</v>\n",
                    encoding="utf-8")
    read = read_subtitles(path)
    assert [(c.speaker, c.text, c.start, c.end, c.line) for c in read.cues] == [
        ("Ross", "hello there", 1.0, 2.5, 5), ("Rachel", "hi", 3.0, 4.0, 8)]


def test_malformed_webvtt_timing_quotes_the_timing_line_after_an_identifier(tmp_path):
    path = tmp_path / "bad.vtt"
    path.write_text("WEBVTT\n\nintro\n00:00:01.000 -> 00:00:02.000\nHi\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 4: expected a timing line .* got '00:00:01.000 -> "
                                         "00:00:02.000'"):
        read_subtitles(path)


def test_a_name_with_nothing_after_it_is_the_speaker_of_an_empty_cue(tmp_path):
    path = tmp_path / "empty.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nPhoebe:\n\n2\n00:00:03,000 --> 00:00:04,000\nJoey: "
                    "ok\n",
                    encoding="utf-8")
    first, second = read_subtitles(path).cues
    assert (first.speaker, first.text, first.status) == ("Phoebe", "", "empty_text")
    assert (second.speaker, second.text, second.status) == ("Joey", "ok", "ok")


def test_cp1252_fallback_is_a_status_of_every_cue(tmp_path):
    path = tmp_path / "win.srt"
    path.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nMonica: caf\u00e9 \u2019s\n\n2\n00:00:01,500 --> "
                     "00:00:03,000\nRoss: hi\n".encode("cp1252"))
    read = read_subtitles(path)
    assert read.notes["encoding"] == "cp1252"
    assert [c.status for c in read.cues] == ["encoding_fallback", "encoding_fallback"]
    assert read.cues[0].text == "caf\u00e9 \u2019s"
    fitted = fit_to_media(read.cues, 10.0)
    assert [c.status for c in fitted] == ["overlap_trimmed", "encoding_fallback"]  # a cue's own fallback wins


YOUTUBE = """WEBVTT
Kind: captions
Language: en

00:00:00.320 --> 00:00:02.270 align:start position:0%
 
so<00:00:00.640><c> I</c><00:00:00.960><c> finally</c><00:00:01.280><c> got</c>\
<00:00:01.600><c> the</c><00:00:01.760><c> job</c>

00:00:02.270 --> 00:00:02.280 align:start position:0%
so I finally got the job
 

00:00:02.280 --> 00:00:04.950 align:start position:0%
so I finally got the job
and<00:00:02.600><c> I</c><00:00:02.880><c> could</c><00:00:03.200><c> not</c>\
<00:00:03.520><c> be</c><00:00:03.840><c> happier</c>

00:00:04.950 --> 00:00:04.960 align:start position:0%
and I could not be happier
 
"""


def test_youtube_rolling_captions_are_read_once_each(tmp_path):
    path = tmp_path / "auto.en.vtt"
    path.write_text(YOUTUBE, encoding="utf-8")
    cues = read_subtitles(path).cues
    kept = [c for c in cues if c.status != ROLLING_REPEAT]
    assert [(c.start, c.end, c.text) for c in kept] == [
        (0.32, 2.27, "so I finally got the job"), (2.28, 4.95, "and I could not be happier")]
    assert [c.status for c in cues].count(ROLLING_REPEAT) == 2  # the 10 ms cues that only repeat, counted

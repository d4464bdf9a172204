"""predictions.html in a real browser: headless Chromium loads the page and its media, a screenshot is taken,
the timeline holds one mark per utterance, clicking a mark seeks the media to its utterance, the playhead
follows the media while it plays, and transcript text meant to inject code stays text."""

from __future__ import annotations

import json
import re
import struct

import numpy as np
import pandas as pd
import pytest

from multiemo.predict.page import embed_json, write_page
from multiemo.predict.predictor import Predictions
from tests.browser import FLAGS, ensure_chromium
from tests.clips import write_clip
from tests.conversations.conftest import FPS, SR, talk_audio
from tests.features.conftest import astronaut_frame

LABELS = ["neutral", "joy", "anger"]
ATTACK = "</script><script>window.pwned = 1</script><!-- & \u2028"
#: (start, end, speaker, text, emotion) of a generated 7-second conversation.
UTTERANCES = [
    (0.5, 2.0, "Ross", "I feel joy about this, really.", "joy"),
    (2.6, 4.1, '<img src=x onerror="window.pwned=2">', ATTACK, "anger"),
    (4.7, 6.2, "Ross", "I feel neutral about this.", "neutral"),
    (6.3, 6.9, "Monica", "", "neutral"),
]


def predictions(video) -> Predictions:
    confidence = np.array([0.8, 0.45, 0.6, 0.9])  # the second is below the 0.5 threshold
    probs = np.repeat(((1 - confidence) / (len(LABELS) - 1))[:, None], len(LABELS), axis=1)
    probs[np.arange(len(UTTERANCES)), [LABELS.index(u[4]) for u in UTTERANCES]] = confidence
    table = pd.DataFrame({
        "dialogue_id": "talk", "utterance_id": [str(i) for i in range(len(UTTERANCES))],
        "start": [u[0] for u in UTTERANCES], "end": [u[1] for u in UTTERANCES],
        "speaker": [u[2] for u in UTTERANCES], "text": [u[3] for u in UTTERANCES],
        "emotion": [LABELS[i] for i in probs.argmax(1)], "confidence": probs.max(1),
    })
    for i, label in enumerate(LABELS):
        table[f"p_{label}"] = probs[:, i]
    table["low_confidence"] = table["confidence"] < 0.5
    info = {"video": str(video), "duration": 7.0, "has_video": True, "has_audio": True,
            "calibration": {"method": "temperature", "temperature": 1.5},
            "low_confidence": {"threshold": 0.5, "utterances": int(table["low_confidence"].sum())}}
    return Predictions(table=table, labels=LABELS, counts={}, info=info)


def test_embedded_json_cannot_end_its_script_element():
    data = {"text": ATTACK, "speaker": "<b>&amp;</b>"}
    embedded = embed_json(data)
    assert not re.search(r"[<>&\u2028\u2029]", embedded)
    assert json.loads(embedded) == data


def test_page_is_one_file_that_references_its_media_and_escapes_user_text(tmp_path):
    video = write_clip(tmp_path / "media" / "talk.mp4", frames=np.stack([astronaut_frame()] * 4), fps=FPS)
    page = tmp_path / "out" / "predictions.html"
    write_page(page, predictions(video))
    text = page.read_text(encoding="utf-8")
    assert "../media/talk.mp4" in text  # by relative path, not embedded
    assert text.count("</script>") == 2 and "<script>window.pwned" not in text and "<img src=x" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing fetched from a network
    sound = predictions(tmp_path / "media" / "talk.wav")
    sound.info["has_video"] = False
    write_page(page, sound)
    # an audio player for a recording without video
    assert '"kind": "audio"' in page.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser():
    chromium = ensure_chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True, args=FLAGS)
        yield browser
        browser.close()


def test_page_in_a_real_browser_shows_the_timeline_and_seeks(browser, tmp_path):
    video = write_clip(tmp_path / "talk.mp4", frames=(astronaut_frame() for _ in range(7 * FPS)), fps=FPS,
                       audio=talk_audio(7.0, UTTERANCES), sample_rate=SR)
    page_path = tmp_path / "out" / "predictions.html"
    write_page(page_path, predictions(video))
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_path.as_uri())
    # Functions, not expression strings: Playwright evaluates a string predicate with eval, which the page's
    # Content-Security-Policy forbids.
    page.wait_for_function("() => document.querySelector('video') "
                           "&& document.querySelector('video').readyState >= 1",
                           timeout=15000)
    assert page.evaluate("document.querySelector('video').duration") == pytest.approx(7.0, abs=0.2)

    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    png = shot.read_bytes()
    width, height = struct.unpack(">II", png[16:24])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and width >= 1000 and height >= 300 and len(png) > 20000

    marks = page.locator(".mark")
    assert marks.count() == len(UTTERANCES)
    assert page.locator(".row").count() == len({u[2] for u in UTTERANCES})  # one row per speaker
    for i in (2, 0, 3, 1):
        page.locator(f'.mark[data-index="{i}"]').click()
        page.wait_for_function("() => document.querySelector('video').seeking === false")
        assert page.evaluate("document.querySelector('video').currentTime") == pytest.approx(UTTERANCES[i][0])
        assert UTTERANCES[i][2] in page.locator("#now").inner_text()
    title = page.locator('.mark[data-index="1"]').get_attribute("title")
    assert "anger" in title and "%" in title and ATTACK.split("\u2028")[0] in title  # probabilities on hover

    # The attack text is shown as text and ran nothing; the page fetched only itself and its video.
    assert page.evaluate("window.pwned") is None
    assert "</script><script>window.pwned = 1</script>" in page.locator("#now").inner_text()
    assert all(url.startswith("file://") for url in requests), requests
    assert not problems, problems
    page.close()


def test_the_playhead_moves_while_the_media_plays(browser, tmp_path):
    """Playing the media (nothing clicked) moves the playhead across the tracks and shows the utterance
    being played: the page follows playback, not only clicks."""
    video = write_clip(tmp_path / "talk.mp4", frames=(astronaut_frame() for _ in range(7 * FPS)), fps=FPS,
                       audio=talk_audio(7.0, UTTERANCES), sample_rate=SR)
    page_path = tmp_path / "out" / "predictions.html"
    write_page(page_path, predictions(video))
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    page.goto(page_path.as_uri())
    page.wait_for_function("() => document.querySelector('video') "
                           "&& document.querySelector('video').readyState >= 2",
                           timeout=15000)
    head = page.locator(".playhead")
    assert head.count() == 1 and head.evaluate("h => h.style.left") == "140px"  # at 0 s before playing
    # Muted media may play without a user gesture under Chromium's autoplay policy.
    page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0.8", timeout=15000)
    early = head.evaluate("h => parseFloat(h.style.left)")
    page.wait_for_function("() => document.querySelector('video').currentTime > 2.9", timeout=15000)
    page.evaluate("() => document.querySelector('video').pause()")
    page.wait_for_timeout(100)  # a last animation frame may still be queued
    t, left, width = page.evaluate("""() => [document.querySelector('video').currentTime,
        parseFloat(document.querySelector('.playhead').style.left),
        document.querySelector('.lanes').clientWidth - 140]""")
    assert 140 < early < left
    assert left == pytest.approx(140 + width * t / 7.0, abs=3)  # the page's span: the 7 s duration
    assert 2.6 <= t < 4.1 and "anger" in page.locator("#now").inner_text()  # utterance 1, shown while playing
    assert page.locator('.mark[data-index="1"]').evaluate("m => m.classList.contains('active')")
    page.close()

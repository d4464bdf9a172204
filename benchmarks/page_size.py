"""Size, writing time and browser load time of ``predictions.html`` for a one-hour conversation.

The page depends only on the predictions table, not on the model: this makes the table of an hour of
conversation (``--utterances`` utterances evenly spread over ``--minutes``, three speakers, random
probabilities, transcript lines of 60 characters), writes the page with
:func:`multiemo.predict.page.write_page` beside a referenced (not created) video, and, when Debian's Chromium
and Playwright are installed, loads it headless and times until every mark is drawn.

    python -m benchmarks.page_size --minutes 60 --utterances 1800
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from multiemo.predict.page import write_page
from multiemo.predict.predictor import Predictions

LABELS = ["neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"]


def hour_of_predictions(minutes: float, n: int, video: Path) -> Predictions:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(len(LABELS)) * 0.5, size=n)
    start = np.linspace(0, minutes * 60, n, endpoint=False)
    table = pd.DataFrame({
        "dialogue_id": video.stem, "utterance_id": [str(i) for i in range(n)], "start": start,
        "end": start + 0.8 * minutes * 60 / n, "speaker": [f"SPEAKER_{i % 3:02d}" for i in range(n)],
        "text": ["words of an utterance, sixty characters long in all, so...."] * n,
        "emotion": [LABELS[i] for i in probs.argmax(1)], "confidence": probs.max(1),
    })
    for i, label in enumerate(LABELS):
        table[f"p_{label}"] = probs[:, i]
    table["low_confidence"] = table["confidence"] < 0.5
    info = {"video": str(video), "duration": minutes * 60, "has_video": True,
            "calibration": {"method": "temperature", "temperature": 1.3},
            "low_confidence": {"threshold": 0.5, "utterances": int(table["low_confidence"].sum())}}
    return Predictions(table=table, labels=LABELS, counts={}, info=info)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--utterances", type=int, default=1800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        predictions = hour_of_predictions(args.minutes, args.utterances, root / "hour.mp4")
        page = root / "out" / "predictions.html"
        tracemalloc.start()
        tic = time.perf_counter()
        write_page(page, predictions)
        seconds = time.perf_counter() - tic
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        report = {"minutes": args.minutes, "utterances": args.utterances,
                  "page_kib": round(page.stat().st_size / 1024, 1), "write_seconds": round(seconds, 3),
                  "traced_peak_mib_while_writing": round(traced, 1), "machine": platform.platform()}
        report.update(browser_load(page, args.utterances))
    print(json.dumps(report, indent=2))


def browser_load(page: Path, utterances: int) -> dict:
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"browser": "playwright not installed"}
    if not chromium.is_file():
        return {"browser": f"{chromium} absent"}
    from tests.browser import FLAGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=FLAGS)
        tab = browser.new_page(viewport={"width": 1200, "height": 800})
        tic = time.perf_counter()
        tab.goto(page.as_uri())
        tab.wait_for_function(f"() => document.querySelectorAll('.mark').length === {utterances}")
        seconds = time.perf_counter() - tic
        browser.close()
    return {"browser_load_seconds": round(seconds, 2)}


if __name__ == "__main__":
    main()

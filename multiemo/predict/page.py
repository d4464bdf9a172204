"""``predictions.html``: one self-contained page with the recording's player and the emotion timeline.

The page holds its CSS, its script and the predictions (as JSON) inline, and fetches nothing. The media is
referenced by its path relative to the page, never embedded: a one-hour video would make a page of gigabytes.
Open the page where it was written, or move it together with the media keeping their relative place.

Every text that comes from the user (transcript, speaker names, file names) reaches the page only as JSON
inside ``<script type="application/json">`` (with ``<``, ``>``, ``&`` and the JavaScript line separators
escaped, so no ``</script>`` can end it) and is put into the page by the script as text (``textContent``,
``title``), never as HTML. A Content-Security-Policy lets only the page's own script run (by its hash) and
forbids every connection.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import os
from pathlib import Path
from urllib.parse import quote

from matplotlib import colormaps
from matplotlib.colors import to_hex

from multiemo.io import atomic_path
from multiemo.predict.predictor import Predictions

PAGE = "predictions.html"


def write_page(path: str | os.PathLike, predictions: Predictions) -> None:
    """Write the page for ``predictions`` to ``path`` (atomically); its media is
    ``predictions.info["video"]``."""
    path = Path(path)
    data = page_data(predictions, path.parent)
    script = _SCRIPT.strip()
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    policy = (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
              "media-src * file: data: blob:; img-src data:")
    page = (_TEMPLATE.replace("@POLICY@", policy)
            .replace("@TITLE@", html.escape(f"Emotions: {data['title']}"))
            .replace("@DATA@", embed_json(data))
            .replace("@SCRIPT@", script))
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")


def embed_json(obj: object) -> str:
    """``obj`` as JSON safe inside an HTML ``<script>`` element: no ``<``, ``>`` or ``&`` characters remain
    (escaped as ``\\u003c`` etc., which JSON.parse reads back), nor U+2028/U+2029."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    for char in ("<", ">", "&", "\u2028", "\u2029"):
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def page_data(predictions: Predictions, page_dir: Path) -> dict:
    """What the page's script draws: labels and colours, the media, and one record per utterance."""
    info = predictions.info
    palette = colormaps["tab10"].colors  # the colours of timeline.png
    colours = {label: to_hex(palette[i % len(palette)]) for i, label in enumerate(predictions.labels)}
    media = None
    if info.get("video"):
        media = {"src": _relative_url(Path(info["video"]), page_dir),
                 "kind": "video" if info.get("has_video", True) else "audio",
                 "name": Path(info["video"]).name}
    table = predictions.table
    probabilities = table[[f"p_{label}" for label in predictions.labels]].to_numpy(dtype=float)
    utterances = [
        {
            "dialogue": str(row.dialogue_id),
            "id": str(row.utterance_id),
            "speaker": str(row.speaker),
            "start": _number(row.start),
            "end": _number(row.end),
            "text": "" if not isinstance(row.text, str) else row.text,
            "emotion": str(row.emotion),
            "confidence": _number(row.confidence),
            "low": bool(getattr(row, "low_confidence", False)),
            "p": [round(float(p), 4) for p in probs],
        }
        for row, probs in zip(table.itertuples(index=False), probabilities)
    ]
    calibration = info.get("calibration") or {"method": "none"}
    low = info.get("low_confidence") or {}
    return {
        "title": media["name"] if media else Path(str(info.get("manifest", "predictions"))).name,
        "labels": list(predictions.labels),
        "colours": colours,
        "media": media,
        "duration": _number(info.get("duration")),
        "calibration": (f"temperature {calibration['temperature']:.3f}"
                        if calibration.get("method") == "temperature"
                        else "none (uncalibrated softmax)"),
        "threshold": low.get("threshold"),
        "utterances": utterances,
    }


def _relative_url(media: Path, page_dir: Path) -> str:
    try:
        relative = os.path.relpath(media.resolve(), page_dir.resolve())
    except ValueError:  # another drive (Windows): only an absolute address can reach it
        return media.resolve().as_uri()
    return quote(Path(relative).as_posix())


def _number(value: object) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else round(value, 3)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="@POLICY@">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@TITLE@</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #222; }
h1 { font-size: 18px; margin: 0 0 4px; }
#summary { color: #555; margin-bottom: 10px; }
video, audio { max-width: 100%; max-height: 45vh; display: block; background: #000; }
audio { width: 100%; background: none; }
#now { min-height: 2.8em; margin: 8px 0; padding: 6px 10px; border-left: 6px solid #ccc;
       background: #f6f6f6; }
#legend span { display: inline-block; margin: 0 12px 4px 0; }
#legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
.dialogue { margin: 10px 0 16px; }
.dialogue h2 { font-size: 14px; margin: 6px 0; }
.row { display: flex; align-items: center; height: 26px; }
.speaker { width: 140px; flex: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
           padding-right: 8px; }
.track { position: relative; flex: 1; height: 20px; background: #f0f0f0; }
.mark { position: absolute; top: 1px; height: 18px; min-width: 3px; box-sizing: border-box; cursor: pointer; }
.mark.low {
  background-image: repeating-linear-gradient(45deg, transparent 0 4px, rgba(255,255,255,.6) 4px 7px);
}
.mark.active { outline: 2px solid #000; z-index: 1; }
.playhead { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px; background: #d00;
            pointer-events: none; z-index: 2; }
.lanes { position: relative; }
.axis { margin-left: 140px; display: flex; justify-content: space-between; color: #777; font-size: 12px; }
</style>
</head>
<body>
<h1 id="title"></h1>
<div id="summary"></div>
<div id="player"></div>
<div id="now">Click a mark to jump there; hover a mark for its probabilities.</div>
<div id="legend"></div>
<div id="timeline"></div>
<script id="multiemo-data" type="application/json">@DATA@</script>
<script>@SCRIPT@</script>
</body>
</html>
"""

_SCRIPT = r"""
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("multiemo-data").textContent);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const fmt = (t) => (t === null ? "?" : t.toFixed(2) + " s");
  const utts = data.utterances;
  document.getElementById("title").textContent = "Emotions: " + data.title;
  const low = utts.filter((u) => u.low).length;
  document.getElementById("summary").textContent = utts.length + " utterances; calibration: " +
    data.calibration + (data.threshold === null ? "" : "; " + low + " below confidence " + data.threshold +
    " (hatched)");
  let media = null;
  if (data.media) {
    media = document.createElement(data.media.kind === "audio" ? "audio" : "video");
    media.controls = true;
    media.preload = "metadata";
    media.src = data.media.src;
    document.getElementById("player").appendChild(media);
  }
  const legend = document.getElementById("legend");
  for (const label of data.labels) {
    const item = el("span", "", label);
    const chip = el("i");
    chip.style.background = data.colours[label];
    item.prepend(chip);
    legend.appendChild(item);
  }
  const now = document.getElementById("now");
  const marks = [];
  const playheads = [];
  let active = null;
  const show = (i) => {
    const u = utts[i];
    if (active !== null) marks[active].classList.remove("active");
    active = i;
    marks[i].classList.add("active");
    now.textContent = "";
    now.style.borderLeftColor = data.colours[u.emotion] || "#ccc";
    const head = el("b", "", u.speaker + " — " + u.emotion + " " + (100 * u.confidence).toFixed(0) + "%" +
      (u.low ? " (low confidence)" : "") + " [" + fmt(u.start) + " – " + fmt(u.end) + "]");
    now.appendChild(head);
    if (u.text) now.appendChild(el("div", "", u.text));
  };
  const byName = new Map();
  for (let i = 0; i < utts.length; i++) {
    if (!byName.has(utts[i].dialogue)) byName.set(utts[i].dialogue, { name: utts[i].dialogue, rows: [] });
    byName.get(utts[i].dialogue).rows.push(i);
  }
  const dialogues = [...byName.values()];
  const timeline = document.getElementById("timeline");
  for (const d of dialogues) {
    const timed = d.rows.every((i) => utts[i].start !== null && utts[i].end !== null);
    const slot = new Map(d.rows.map((i, k) => [i, k]));
    const from = (i) => (timed ? utts[i].start : slot.get(i));
    const to = (i) => (timed ? utts[i].end : slot.get(i) + 0.9);
    let span = Math.max(...d.rows.map(to), 1e-3);
    if (timed && dialogues.length === 1 && data.duration) span = Math.max(span, data.duration);
    const box = el("div", "dialogue");
    box.appendChild(el("h2", "", d.name + (timed ? "" : " (no times: one slot per utterance)")));
    const lanes = el("div", "lanes");
    const speakers = [];
    for (const i of d.rows) if (!speakers.includes(utts[i].speaker)) speakers.push(utts[i].speaker);
    for (const speaker of speakers) {
      const row = el("div", "row");
      const name = el("div", "speaker", speaker);
      name.title = speaker;
      row.appendChild(name);
      const track = el("div", "track");
      for (const i of d.rows.filter((k) => utts[k].speaker === speaker)) {
        const u = utts[i];
        const mark = el("div", "mark" + (u.low ? " low" : ""));
        mark.style.left = (100 * from(i) / span) + "%";
        mark.style.width = (100 * (to(i) - from(i)) / span) + "%";
        mark.style.backgroundColor = data.colours[u.emotion] || "#888";
        mark.style.opacity = String(0.35 + 0.65 * (u.confidence || 0));
        mark.dataset.index = String(i);
        mark.title = u.speaker + ", " + fmt(u.start) + " – " + fmt(u.end) + "\n" + data.labels.map(
          (label, k) => label + ": " + (100 * u.p[k]).toFixed(1) + "%").join("\n") +
          (u.low ? "\n(low confidence)" : "") + (u.text ? "\n\u201c" + u.text + "\u201d" : "");
        mark.addEventListener("click", () => {
          if (media && timed && u.start !== null) media.currentTime = u.start;
          show(i);
        });
        marks[i] = mark;
        track.appendChild(mark);
      }
      row.appendChild(track);
      lanes.appendChild(row);
    }
    box.appendChild(lanes);
    const axis = el("div", "axis");
    axis.appendChild(el("span", "", timed ? "0 s" : "1"));
    axis.appendChild(el("span", "", timed ? span.toFixed(1) + " s" : String(d.rows.length)));
    box.appendChild(axis);
    if (media && timed && dialogues.length === 1) {
      // The playhead spans all speaker rows, over the tracks only (after the 140 px name column).
      const head = el("div", "playhead");
      head.style.left = "140px";
      lanes.appendChild(head);
      playheads.push({ head, lanes, span, rows: d.rows });
    }
    timeline.appendChild(box);
  }
  if (media) {
    const follow = () => {
      const t = media.currentTime;
      for (const p of playheads) {
        const width = p.lanes.clientWidth - 140;
        p.head.style.left = (140 + width * Math.min(t / p.span, 1)) + "px";
        const hit = p.rows.find((i) => utts[i].start <= t && t < utts[i].end);
        if (hit !== undefined && hit !== active) show(hit);
      }
    };
    const loop = () => { follow(); if (!media.paused) requestAnimationFrame(loop); };
    media.addEventListener("timeupdate", follow);
    media.addEventListener("seeked", follow);
    media.addEventListener("play", () => requestAnimationFrame(loop));
    window.addEventListener("resize", follow);
  }
})();
"""

"""Prediction files: ``predictions.csv``, ``predictions.json``, ``timeline.png`` and ``predictions.html``
(:mod:`multiemo.predict.page`), each written atomically."""

from __future__ import annotations

import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from multiemo.io import OutputKind, atomic_path, write_json
from multiemo.predict.page import PAGE, write_page
from multiemo.predict.predictor import Predictions

FILES = ("predictions.csv", "predictions.json", "timeline.png", PAGE)
#: A folder holding nothing but prediction files (and the temporary files of their atomic writes).
PREDICTIONS_FOLDER = OutputKind("prediction folder", None, (*FILES, ".*.tmp"))
#: Dialogues drawn in the timeline; the CSV and JSON always hold every utterance.
MAX_PANELS = 12


def write_predictions(out_dir: str | os.PathLike, predictions: Predictions) -> dict[str, Path]:
    """Write the four prediction files into ``out_dir`` (created); returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in FILES}
    with atomic_path(paths["predictions.csv"]) as tmp:
        predictions.table.to_csv(tmp, index=False, encoding="utf-8")
    write_json(paths["predictions.json"], to_json(predictions))
    plot_timeline(predictions, paths["timeline.png"])
    write_page(paths[PAGE], predictions)
    return paths


def to_json(predictions: Predictions) -> dict:
    """The JSON document: run and input facts, fallback counts, and one record per utterance."""
    table = predictions.table
    modalities = [c[: -len("_present")] for c in table.columns if c.endswith("_present")]
    records = []
    for row in table.to_dict(orient="records"):
        records.append({
            "dialogue_id": row["dialogue_id"],
            "utterance_id": row["utterance_id"],
            "start": _seconds(row["start"]),
            "end": _seconds(row["end"]),
            "speaker": row["speaker"],
            "text": row["text"],
            "emotion": row["emotion"],
            "confidence": row["confidence"],
            "probabilities": {label: row[f"p_{label}"] for label in predictions.labels},
            "modalities": {m: {"present": bool(row[f"{m}_present"]), "status": row[f"{m}_status"]}
                           for m in modalities},
            "input_status": row["input_status"],
            "low_confidence": bool(row["low_confidence"]),
            "speaker_source": row["speaker_source"],
            "speaker_status": row["speaker_status"],
        })
    return {
        "labels": predictions.labels,
        **predictions.info,
        "counts": predictions.counts,
        "utterances": records,
    }


def _seconds(value: float) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), 3)


def plot_timeline(predictions: Predictions, path: str | os.PathLike) -> None:
    """Emotion of every utterance over time, one row per speaker, one panel per dialogue.

    Bars span each utterance (its position when it has no times); colour = predicted emotion, opacity =
    confidence. Dialogues beyond the first ``MAX_PANELS`` are left out of the figure.
    """
    table = predictions.table
    colours = dict(zip(predictions.labels, plt.get_cmap("tab10").colors))
    dialogues = list(pd.unique(table["dialogue_id"]))
    shown = dialogues[:MAX_PANELS]
    speakers_per = [table.loc[table["dialogue_id"] == d, "speaker"].nunique() for d in shown]
    heights = [0.6 + 0.45 * s for s in speakers_per]
    fig, axes = plt.subplots(len(shown), 1, figsize=(12, 1.0 + sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, dialogue in zip(axes[:, 0], shown):
        rows = table[table["dialogue_id"] == dialogue]
        timed = bool(np.isfinite(rows["start"].to_numpy(dtype=float)).all())
        start = rows["start"].to_numpy(float) if timed else np.arange(len(rows), dtype=float)
        end = rows["end"].to_numpy(float) if timed else start + 0.9
        speakers = list(pd.unique(rows["speaker"]))
        for y, speaker in enumerate(speakers):
            mine = (rows["speaker"] == speaker).to_numpy()
            ax.broken_barh(
                list(zip(start[mine], end[mine] - start[mine])), (y - 0.4, 0.8),
                facecolors=[(*colours[e], 0.25 + 0.75 * c)
                            for e, c in zip(rows["emotion"][mine], rows["confidence"][mine])],
            )
        ax.set_yticks(range(len(speakers)), labels=speakers)
        ax.set_ylim(len(speakers) - 0.4, -0.6)  # first speaker on top
        ax.set_xlim(0, max(float(end.max()), 1e-3))
        ax.set_xlabel("time (s)" if timed else "utterance")
        ax.set_title(str(dialogue), loc="left", fontsize=10)
    handles = [Patch(color=colours[label], label=label) for label in predictions.labels]
    fig.legend(handles=handles, loc="upper right", ncol=min(len(handles), 7), fontsize=8, frameon=False)
    note = f" (first {MAX_PANELS} of {len(dialogues)} dialogues)" if len(dialogues) > MAX_PANELS else ""
    fig.suptitle(f"Predicted emotions per speaker{note}; opacity = confidence", x=0.01, ha="left",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)

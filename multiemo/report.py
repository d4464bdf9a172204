"""The results report: scores (mean ± std over seeds), ablation table, confusion matrix, curves,
extraction stats."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import markdown
import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt
import numpy as np

from multiemo.errors import InputError
from multiemo.evaluation.summary import summarise_runs
from multiemo.io import atomic_path, write_json
from multiemo.outcomes import StageOutcomes
from multiemo.runs.history import read_history


def write_report(
    out_dir: str | os.PathLike,
    *,
    title: str,
    variants: Mapping[str, Sequence[str | os.PathLike]],
    main_variant: str,
    stage_outcomes: Sequence[str | os.PathLike] = (),
) -> dict:
    """Write ``results.md``, ``summary.json``, ``ablation.csv``, ``confusion_matrix.png``, ``curves.png``,
    ``reliability.png``.

    ``results.html``, ``ablation.html`` and ``extraction.html`` hold the same tables as standalone HTML pages:
    Snakemake's HTML report shows images and HTML inline but offers Markdown and CSV only as downloads.

    Args:
        out_dir: report directory (created).
        title: heading of the report, e.g. the dataset name.
        variants: variant name → run directories (one per seed) holding ``metrics.json``.
        main_variant: the variant whose confusion matrix, curves and per-class scores are shown.
        stage_outcomes: ``{stage}.json`` files of :class:`~multiemo.outcomes.StageOutcomes` (corpus,
            features).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if main_variant not in variants:
        raise InputError(f"main variant {main_variant!r} is not among the variants {sorted(variants)}")
    summaries = {name: summarise_runs(runs) for name, runs in variants.items()}
    stages = [StageOutcomes.read(p) for p in stage_outcomes]
    extraction = {r.stage: {"counts": r.counts(), "problems": r.problems()} for r in stages}
    main = summaries[main_variant]
    labels = main["labels"]
    metrics = [json.loads((Path(d) / "metrics.json").read_text(encoding="utf-8"))
               for d in variants[main_variant]]
    confusion = np.sum([m["test"]["confusion_matrix"] for m in metrics], axis=0)
    _plot_confusion(out / "confusion_matrix.png", confusion, labels,
                    f"{title}: {main_variant}, test, all seeds")
    _plot_curves(out / "curves.png", variants[main_variant], f"{title}: {main_variant}")
    _plot_reliability(out / "reliability.png", metrics, f"{title}: {main_variant}, test, all seeds")

    rows = []
    for name, summary in summaries.items():
        t = summary["test"]
        rows.append((name, t["weighted_f1"]["mean"], t["weighted_f1"]["std"], t["accuracy"]["mean"],
                     t["accuracy"]["std"], summary["validation"]["weighted_f1"]["mean"],
                     t["weighted_f1"]["n"]))
    with atomic_path(out / "ablation.csv") as tmp:
        tmp.write_text(",".join(ABLATION_COLUMNS) + "\n"
                       + "".join(",".join(_ablation_cells(r)) + "\n" for r in rows),
                       encoding="utf-8")
    md = [
        f"# {title}",
        "",
        (
            f"Main variant: **{main_variant}**; scores on the test split of the epoch chosen on validation "
            f"weighted-F1, mean ± std over seeds {main['seeds']}."
        ),
        "",
        "| variant | test weighted-F1 | test accuracy | validation weighted-F1 |",
        "|---|---|---|---|",
    ]
    md += [f"| {r[0]} | {r[1]:.2f} ± {r[2]:.2f} | {r[3]:.2f} ± {r[4]:.2f} | {r[5]:.2f} |" for r in rows]
    md += ["", "## Per-class F1 (test, main variant)", "", "| label | F1 |", "|---|---|"]
    md += [f"| {label} | {s['mean']:.2f} ± {s['std']:.2f} |"
           for label, s in main["test"]["per_class_f1"].items()]
    oracle = main["oracle_test_weighted_f1"]
    md += ["", ("Oracle test weighted-F1 (epoch picked on test, as the original paper did; **not a valid "
                f"estimate**): {oracle['mean']:.2f} ± {oracle['std']:.2f}")]
    md += _calibration_lines(main["test"].get("calibration") or {})
    counts = ["## Feature extraction", "", "| stage | outcome counts |", "|---|---|"]
    counts += [f"| {stage} | {', '.join(f'{k}: {v}' for k, v in info['counts'].items())} |"
               for stage, info in extraction.items()]
    if extraction:
        md += ["", *counts]
    md += ["", "![confusion matrix](confusion_matrix.png)", "", "![training curves](curves.png)", "",
           "![reliability diagram](reliability.png)", ""]
    with atomic_path(out / "results.md") as tmp:
        tmp.write_text("\n".join(md), encoding="utf-8")
    # The figures are report items of their own; a relative image link would not resolve inside the HTML
    # report.
    _write_html(out / "results.html", title, "\n".join(line for line in md if not line.startswith("![")))
    table = ["| " + " | ".join(ABLATION_COLUMNS) + " |", "|" + "---|" * len(ABLATION_COLUMNS)]
    table += ["| " + " | ".join(_ablation_cells(r)) + " |" for r in rows]
    _write_html(out / "ablation.html", f"{title}: ablation", f"# {title}: ablation\n\n" + "\n".join(table))
    _write_html(out / "extraction.html", f"{title}: feature extraction",
                "\n".join(counts) if extraction else "## Feature extraction\n\nNo stage outcomes were given.")
    result = {"title": title, "main_variant": main_variant, "variants": summaries, "extraction": extraction}
    write_json(out / "summary.json", result)
    return result


ABLATION_COLUMNS = ("variant", "test_weighted_f1_mean", "test_weighted_f1_std", "test_accuracy_mean",
                    "test_accuracy_std", "validation_weighted_f1_mean", "seeds")


def _ablation_cells(row: tuple) -> list[str]:
    name, *scores, seeds = row
    return [name, *(f"{v:.2f}" for v in scores), str(seeds)]


def _write_html(path: Path, title: str, text: str) -> None:
    """A standalone HTML page of Markdown ``text`` (tables rendered; raw HTML in ``text`` is escaped, not
    run)."""
    body = markdown.markdown(html.escape(text, quote=False), extensions=["tables"], output_format="html")
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:0.8em 0}"
        "th,td{border:1px solid #bbb;padding:0.25em 0.6em;text-align:left}th{background:#eee}</style>"
        f"</head><body>\n{body}\n</body></html>\n"
    )
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")


def _calibration_lines(calibration: Mapping) -> list[str]:
    """The report's calibration section: test ECE/Brier/NLL before and after temperature scaling."""
    if not calibration:
        return []
    stages = [s for s in ("before", "after") if s in calibration]
    lines = ["", "## Calibration (test, main variant)", "",
             ("ECE: expected calibration error over 15 equal-width confidence bins, in percent; Brier: "
              "multi-class Brier score (0 best, 2 worst); NLL: mean negative log-likelihood. *After* divides "
              "the logits by the temperature fitted on each run's validation split (`calibration.json`); "
              "predictions, hence accuracy and F1, do not change."), "",
             "| | " + " | ".join(stages) + " |", "|---|" + "---|" * len(stages)]
    for key, name in (("ece", "ECE (%)"), ("brier", "Brier"), ("nll", "NLL")):
        lines.append(f"| {name} | " + " | ".join(
            f"{calibration[s][key]['mean']:.3f} ± {calibration[s][key]['std']:.3f}" for s in stages) + " |")
    if "temperature" in calibration:
        temps = ", ".join(f"{t:.3f}" for t in calibration["temperature"]["values"])
        lines += ["", f"Temperature per seed: {temps}."]
    return lines


def _plot_reliability(path: Path, metrics: Sequence[Mapping], title: str) -> None:
    """Accuracy against confidence per bin, test utterances of all seeds pooled, before and after
    calibration."""
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="perfect calibration")
    found = [m["test"]["calibration"] for m in metrics if "calibration" in m["test"]]
    for offset, (stage, colour) in enumerate((("before", "tab:red"), ("after", "tab:blue"))):
        runs = [c[stage]["bins"] for c in found if stage in c]
        if not runs or len(runs) < len(metrics):
            continue
        count = np.sum([[b["count"] for b in bins] for bins in runs], axis=0)
        correct = np.sum([[(b["accuracy"] or 0.0) * b["count"] for b in bins] for bins in runs], axis=0)
        lower = np.array([b["lower"] for b in runs[0]])
        width = lower[1] - lower[0] if len(lower) > 1 else 1.0
        accuracy = np.divide(correct, count, out=np.zeros(len(count)), where=count > 0)
        ece = np.mean([c[stage]["ece"] for c in found])
        ax.bar(lower + offset * width / 2, np.where(count > 0, accuracy, 0.0), width=width / 2, align="edge",
               color=colour, alpha=0.7, label=f"{stage} calibration (ECE {ece:.1f}%)")
    if not found:
        ax.text(0.5, 0.5, "runs report no calibration", ha="center", va="center")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top probability)", ylabel="accuracy")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    _save_figure(fig, path)


def _plot_confusion(path: Path, matrix: np.ndarray, labels: Sequence[str], title: str) -> None:
    shown = [i for i in range(len(labels)) if matrix[i].sum() or matrix[:, i].sum()]
    matrix = matrix[np.ix_(shown, shown)]
    names = [labels[i] for i in shown]
    rates = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(names), 1.0 + 0.8 * len(names)))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{matrix[i, j]}\n{rates[i, j]:.0%}", ha="center", va="center", fontsize=8,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    _save_figure(fig, path)


def _plot_curves(path: Path, run_dirs: Sequence[str | os.PathLike], title: str) -> None:
    fig, (loss_ax, f1_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    for run in run_dirs:
        history = read_history(Path(run) / "history.jsonl")
        epochs = [r["epoch"] for r in history]
        name = Path(run).name
        loss_ax.plot(epochs, [r["train_loss"] for r in history], label=f"{name} train")
        loss_ax.plot(epochs, [r["validation_loss"] for r in history], "--", label=f"{name} validation")
        f1_ax.plot(epochs, [r["validation_weighted_f1"] for r in history], label=f"{name} validation")
    loss_ax.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
    f1_ax.set(xlabel="epoch", ylabel="weighted-F1 (%)", title=f"{title}: validation weighted-F1")
    loss_ax.legend(fontsize=7)
    f1_ax.legend(fontsize=7)
    _save_figure(fig, path)


def _save_figure(fig, path: Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)

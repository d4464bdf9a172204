"""Paired difference of test scores between two sets of runs of the same seeds (e.g. two commits).

Reads the JSON summaries that ``benchmarks/precision_parity.py`` prints last (one precision each), pairs
the runs by seed and prints each side's mean ± std, the per-seed differences (after − before), their mean
and its standard error. A redesign that must not change what the model learns is judged by whether that
mean is within about two standard errors of zero.

    python benchmarks/precision_parity.py --dataset demo --store S --seeds 1,2,3,4,5 \\
        --precisions fp32 > a.json
    (same command at the other commit) > b.json
    python benchmarks/paired_scores.py a.json b.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def read_runs(path: Path, precision: str) -> dict[int, dict]:
    """seed -> run record from the summary at the end of a precision_parity.py output file."""
    text = path.read_text(encoding="utf-8")
    start = 0 if text.startswith("{\n") else text.index("\n{\n") + 1  # the summary: a line "{" and on
    summary = json.loads(text[start:])
    return {run["seed"]: run for run in summary["runs"][precision]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args()
    before, after = read_runs(args.before, args.precision), read_runs(args.after, args.precision)
    seeds = sorted(set(before) & set(after))
    if not seeds:
        raise SystemExit(f"{args.before} and {args.after} share no seed")
    out = {"seeds": seeds}
    for key in ("weighted_f1", "accuracy"):
        a = np.array([before[s][key] for s in seeds])
        b = np.array([after[s][key] for s in seeds])
        diff = b - a
        out[key] = {
            "before": [round(float(a.mean()), 2), round(float(a.std(ddof=1)), 2)],
            "after": [round(float(b.mean()), 2), round(float(b.std(ddof=1)), 2)],
            "per_seed_diff": diff.round(2).tolist(),
            "mean_diff": round(float(diff.mean()), 2),
            "standard_error": round(float(diff.std(ddof=1) / np.sqrt(len(diff))), 2),
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

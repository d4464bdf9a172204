"""Two checkouts side by side: whole-process ``multiemo train`` epoch seconds and peak RSS, alternating.

How a user meets training speed: a whole process, imports, store loading, checkpoints, history and the
end-of-training evaluation included. Each process's epoch cost is measured as

    epoch seconds = (wall seconds of a 3-epoch run - wall seconds of a 1-epoch run) / 2

so everything paid once per run cancels, and everything paid per epoch (the passes, history, checkpoints,
calibration bookkeeping) stays in. Peak RSS is the whole process's (``wait4``'s ``ru_maxrss``),
end-of-training evaluation included. The stores are the paper-shaped synthetic ones of
``benchmarks/train_speed.py`` (MELD's dialogue structure from its CSVs; an IEMOCAP-like one), written once and
read by both sides.

Each round runs, per preset, the two sides one after the other, in alternating order (A B, then B A), so a
change of machine load hits both sides alike; the summary gives medians, the median of the per-round ratios
B / A, and the spread. A side is a checkout directory or a commit (checked out detached into a temporary git
worktree of this repository and removed afterwards). Both run with the same Python (``--python``, default this
one) and ``PYTHONPATH`` set to their checkout; each process reports the ``multiemo`` it imported, and a side
that imported another checkout's stops the benchmark.

    python -m benchmarks.compare_commits --before 4c4268a --after . --rounds 5 --out compare.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.train_speed import DIMS, IEMOCAP_LABELS, MELD_LABELS, iemocap_like_table, meld_table
from multiemo.data.store import write_store

REPO = Path(__file__).resolve().parents[1]
# The child: report which multiemo it imported, then run the CLI exactly as a user's `multiemo` does.
CHILD = ("import sys, multiemo; print('MULTIEMO_FILE=' + multiemo.__file__, file=sys.stderr, flush=True); "
         "from multiemo.cli import main; sys.exit(main(sys.argv[1:]))")


def make_stores(root: Path, presets: list[str], meld_dir: Path) -> dict[str, Path]:
    """The synthetic stores of train_speed.py (same seeds), one per preset."""
    stores = {}
    for preset in presets:
        if preset == "meld":
            table, labels = meld_table(meld_dir), MELD_LABELS
        else:
            table, labels = iemocap_like_table(), IEMOCAP_LABELS
        rng = np.random.default_rng(0)
        features = {m: rng.standard_normal((len(table), d), dtype=np.float32) for m, d in DIMS.items()}
        stores[preset] = write_store(root / f"store_{preset}", name=preset, table=table, labels=labels,
                                     features=features).root
    return stores


def run_train(python: str, checkout: Path, preset: str, store: Path, run_dir: Path, epochs: int,
              threads: int, overrides: list[str]) -> dict:
    """One whole `multiemo train` process: wall seconds and peak RSS (GiB)."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    cmd = [python, "-c", CHILD, "--quiet", "train", "--config", str(checkout / "config.yaml"),
           "--dataset", preset, "--features", str(store), "--out", str(run_dir),
           f"train.epochs={epochs}", "train.device=cpu", *overrides]
    with tempfile.TemporaryFile() as err:
        tic = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - tic
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} (in {checkout}) exited {child.returncode}:\n{stderr[-3000:]}")
    imported = next(line.split("=", 1)[1] for line in stderr.splitlines()
                    if line.startswith("MULTIEMO_FILE="))
    if not Path(imported).resolve().is_relative_to(checkout.resolve()):
        raise SystemExit(f"the side {checkout} imported multiemo from {imported}: PYTHONPATH did not take")
    return {"wall_s": wall, "peak_rss_gb": usage.ru_maxrss / 1024**2}


@contextlib.contextmanager
def checkout_of(side: str, scratch: Path):
    """A directory for ``side``: itself if it is one, else a temporary detached worktree of that commit."""
    if Path(side).is_dir():
        yield Path(side).resolve()
        return
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{side}^{{commit}}"],
                            capture_output=True, text=True, check=True).stdout.strip()
    path = scratch / f"checkout_{commit[:10]}"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), commit],
                   capture_output=True, check=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
                       check=False, capture_output=True)


def describe(checkout: Path) -> str:
    """Commit of a checkout, with '+changes' when its tracked files differ from it."""
    head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
                          check=True, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"],
                           check=True, capture_output=True, text=True).stdout.strip()
    return head + ("+changes" if dirty else "")


def summarise(rounds: list[dict], preset: str) -> dict:
    """Medians per side, per-round ratios after / before, and the spread."""
    def epochs(side: str) -> list[float]:
        return [r[preset][side]["epoch_s"] for r in rounds]

    def peaks(side: str) -> list[float]:
        return [max(r[preset][side]["runs"][k]["peak_rss_gb"] for k in ("long", "short")) for r in rounds]

    before, after = epochs("before"), epochs("after")
    ratios = [a / b for a, b in zip(after, before)]
    return {
        "epoch_s": {"before": [round(x, 2) for x in before], "after": [round(x, 2) for x in after]},
        "median_epoch_s": {"before": round(statistics.median(before), 2),
                           "after": round(statistics.median(after), 2)},
        "ratios": [round(x, 3) for x in ratios],
        "median_ratio": round(statistics.median(ratios), 3),
        "ratio_of_medians": round(statistics.median(after) / statistics.median(before), 3),
        "peak_rss_gb": {"before": [round(x, 3) for x in peaks("before")],
                        "after": [round(x, 3) for x in peaks("after")]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="checkout directory or commit (the reference)")
    parser.add_argument("--after", default=str(REPO), help="checkout directory or commit (default: this one)")
    parser.add_argument("--presets", default="meld,iemocap", help="comma-separated: meld, iemocap")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--long-epochs", type=int, default=3)
    parser.add_argument("--short-epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS of each training process")
    parser.add_argument("--python", default=sys.executable, help="the interpreter both sides run with")
    parser.add_argument("--meld-dir", type=Path, default=REPO / ".." / "shared/data/meld")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for both sides")
    parser.add_argument("--out", type=Path, help="also write the JSON result here (rewritten after each "
                                                 "round)")
    args = parser.parse_args()
    presets = args.presets.split(",")
    if "meld" in presets and not args.meld_dir.is_dir():
        raise SystemExit(f"MELD annotations not found at {args.meld_dir}; pass --meld-dir")
    span = args.long_epochs - args.short_epochs

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        scratch = Path(tmp)
        sides = {"before": stack.enter_context(checkout_of(args.before, scratch)),
                 "after": stack.enter_context(checkout_of(args.after, scratch))}
        stores = make_stores(scratch, presets, args.meld_dir)
        result = {"sides": {k: {"path": str(v), "commit": describe(v)} for k, v in sides.items()},
                  "python": args.python, "threads": args.threads, "overrides": args.set,
                  "epochs": [args.short_epochs, args.long_epochs], "rounds": [], "load_average": []}
        for i in range(args.rounds):
            order = ["before", "after"] if i % 2 == 0 else ["after", "before"]
            record = {"order": order}
            for preset in presets:
                record[preset] = {}
                for side in order:
                    runs = {}
                    for key, epochs in (("long", args.long_epochs), ("short", args.short_epochs)):
                        run_dir = scratch / f"run_{side}_{preset}_{i}_{key}"
                        runs[key] = run_train(args.python, sides[side], preset, stores[preset], run_dir,
                                              epochs, args.threads, args.set)
                        subprocess.run(["rm", "-rf", str(run_dir)], check=True)
                    epoch_s = (runs["long"]["wall_s"] - runs["short"]["wall_s"]) / span
                    record[preset][side] = {"epoch_s": epoch_s, "runs": runs}
                    print(f"round {i + 1} {preset} {side}: epoch {epoch_s:.2f} s, peak "
                          f"{runs['long']['peak_rss_gb']:.3f} GB, load {os.getloadavg()[0]:.1f}",
                          file=sys.stderr, flush=True)
            result["rounds"].append(record)
            result["load_average"].append([round(x, 2) for x in os.getloadavg()])
            result["summary"] = {p: summarise(result["rounds"], p) for p in presets}
            if args.out:
                args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result["summary"], indent=2))


if __name__ == "__main__":
    main()

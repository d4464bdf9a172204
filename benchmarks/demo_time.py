"""Wall time of the demo workflow (what `make demo` runs) for two trees of the code, alternating.

Each tree is an exported checkout (``git archive COMMIT | tar -x -C DIR``); every round copies it to a
fresh folder (empty ``results/``) and runs `snakemake --cores 2 --profile workflow/profiles/local` from its
root with that tree's ``multiemo`` first on PYTHONPATH, so both run their own library and rules.

    python benchmarks/demo_time.py --before /tmp/before-tree --after /tmp/after-tree --rounds 2

With ``--keep DIR`` each run's ``results/`` is kept as ``DIR/{before,after}-{round}``: both trees run from
the same folder, so their ``settings.json`` files can be compared byte for byte (a run records its store's
absolute path).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_demo(tree: Path, scratch: Path, keep: Path | None = None) -> float:
    """Seconds of one demo run of a fresh copy of ``tree``; its ``results/`` copied to ``keep`` if given."""
    copy = scratch / "tree"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(tree, copy)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(copy)}
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--profile", "workflow/profiles/local"]
    tic = time.perf_counter()
    proc = subprocess.run(cmd, cwd=copy, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - tic
    if proc.returncode != 0:
        raise RuntimeError(f"demo of {tree} failed:\n{proc.stderr[-4000:]}")
    if keep is not None:
        shutil.copytree(copy / "results", keep)
    shutil.rmtree(copy)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--start-with", choices=["before", "after"], default="before",
                        help="the tree of the first round's first run (the next round starts with the other)")
    parser.add_argument("--keep", type=Path, help="keep each run's results/ here, as {before,after}-{round}")
    args = parser.parse_args()
    times = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.rounds):
            first = round_ % 2 == (0 if args.start_with == "before" else 1)
            order = ("before", "after") if first else ("after", "before")
            for name in order:
                load = os.getloadavg()[0]
                keep = args.keep / f"{name}-{round_ + 1}" if args.keep else None
                seconds = run_demo(getattr(args, name).resolve(), Path(scratch), keep)
                times[name].append(seconds)
                print(f"round {round_ + 1} {name}: {seconds:.1f} s (load average at start {load:.1f})",
                      flush=True)
    for name, values in times.items():
        print(f"{name}: median {statistics.median(values):.1f} s ({', '.join(f'{v:.1f}' for v in values)})")
    print(f"after / before: {statistics.median(times['after']) / statistics.median(times['before']):.3f}")


if __name__ == "__main__":
    main()

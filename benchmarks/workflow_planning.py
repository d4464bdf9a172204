"""Planning time of the workflow at MELD scale: `snakemake -n` over a generated MELD-layout corpus.

The layout has MELD's three annotation CSVs (the real ones from ``--annotations``, by default
../shared/data/meld, when present, else generated rows in MELD's numbers: 9,989 train, 1,109 dev, 2,610 test
utterances) and one empty clip file per utterance (13,708), so every clip is declared as an input of its
shard's audio and visual jobs. Each round times a dry run from an empty results folder (every job planned)
and, with ``--before TREE`` (an exported checkout of another commit, run with its own ``multiemo`` on
PYTHONPATH), the same dry run of that tree, alternating. ``--demo`` plans the committed demo corpus instead
(the overhead each `make demo` pays).

    python benchmarks/workflow_planning.py --rounds 3 --before /tmp/before-tree \\
        --annotations /work/shared/data/meld
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED_MELD = REPO.parent / "shared" / "data" / "meld"
PARTS = {"train": ("train_sent_emo.csv", "train_splits", 9989),
         "dev": ("dev_sent_emo.csv", "dev_splits_complete", 1109),
         "test": ("test_sent_emo.csv", "output_repeated_splits_test", 2610)}
COLUMNS = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID", "Season",
           "Episode", "StartTime", "EndTime"]


def make_layout(root: Path, annotations: Path) -> int:
    """MELD layout under ``root``: annotation CSVs and one empty clip per row; returns the clip count."""
    clips = 0
    for csv_name, folder, count in PARTS.values():
        (root / folder).mkdir(parents=True)
        if (annotations / csv_name).is_file():
            shutil.copyfile(annotations / csv_name, root / csv_name)
        else:
            with open(root / csv_name, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(COLUMNS)
                for i in range(count):  # dialogues of ten utterances, as MELD's 9.6 on average
                    writer.writerow([i + 1, f"utterance {i}", "Ross", "neutral", "neutral", i // 10, i % 10,
                                     1, 1, "00:00:01,000", "00:00:02,000"])
        with open(root / csv_name, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                clip = f"dia{row['Dialogue_ID'].strip()}_utt{row['Utterance_ID'].strip()}.mp4"
                (root / folder / clip).touch()
                clips += 1
    return clips


def write_config(workdir: Path, layout: Path | None) -> None:
    """The repository's config with a MELD-sized dataset as the default target (None: the demo's, as is)."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    if layout is None:
        config["datasets"]["demo"]["root"] = str(REPO / config["datasets"]["demo"]["root"])
    else:
        config["dataset"] = "meld_plan"
        config["datasets"]["meld_plan"] = {"reader": "meld", "root": str(layout),
                                           "modalities": ["text", "audio", "visual"], "preset": "meld"}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def dry_run(tree: Path, workdir: Path) -> tuple[float, float, str]:
    """Wall and CPU (user + system) seconds of one `snakemake -n` of ``tree``'s workflow in ``workdir``, and
    its job count line. On a shared machine the CPU time is the figure that does not depend on the load."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(tree / "workflow" / "Snakefile"), "-d", str(workdir),
           "-n", "--cores", "2", "--quiet", "rules"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    tic = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - tic
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if proc.returncode != 0:
        raise RuntimeError(f"dry run of {tree} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    total = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("total")]
    return seconds, cpu, total[0] if total else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, help="an exported tree of the commit to compare with")
    parser.add_argument("--annotations", type=Path, default=SHARED_MELD,
                        help="folder of MELD's real *_sent_emo.csv")
    parser.add_argument("--demo", action="store_true", help="plan the committed demo corpus instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        layout = None if args.demo else tmp / "MELD.Raw"
        if layout is not None:
            tic = time.perf_counter()
            clips = make_layout(layout, args.annotations)
            print(f"layout: {clips} empty clips in {time.perf_counter() - tic:.1f} s ("
                  f"{'real' if (args.annotations / 'train_sent_emo.csv').is_file() else 'generated'} "
                  "annotation CSVs)")
        trees = {"after": REPO} | ({"before": args.before.resolve()} if args.before else {})
        times = {name: {"wall": [], "cpu": []} for name in trees}
        for round_ in range(args.rounds):
            for name, tree in (trees.items() if round_ % 2 == 0 else reversed(trees.items())):
                workdir = tmp / f"{name}_{round_}"
                workdir.mkdir()
                write_config(workdir, layout)
                load = os.getloadavg()[0]
                wall, cpu, jobs = dry_run(tree, workdir)
                times[name]["wall"].append(wall)
                times[name]["cpu"].append(cpu)
                print(f"round {round_ + 1} {name}: {wall:.2f} s wall, {cpu:.2f} s CPU ({jobs.split()[-1]} "
                      f"jobs planned; load average {load:.1f})", flush=True)
        for name, values in times.items():
            print(f"{name}: median {statistics.median(values['wall']):.2f} s wall, "
                  f"{statistics.median(values['cpu']):.2f} s CPU over {args.rounds} rounds")
        if "before" in times:
            for kind in ("wall", "cpu"):
                ratio = statistics.median(times["after"][kind]) / statistics.median(times["before"][kind])
                print(f"after / before ({kind}): {ratio:.2f}")


if __name__ == "__main__":
    main()

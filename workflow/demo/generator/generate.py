"""Generate the demo corpus in MELD's raw-release layout.

Run from the repository root: ``python -m workflow.demo.generator.generate OUT_DIR``.

Writes ``{train,dev,test}_sent_emo.csv``, the clip folders, ``demo_cues.csv`` (what every channel of every
utterance shows) and a README. The whole folder is built beside OUT_DIR and renamed into place at the end.
Needs espeak-ng; the committed corpus under ``workflow/demo/meld_layout`` is what ``make demo`` reads.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from multiemo.io import atomic_path

from .plan import (
    MELD_SPLITS,
    SHORT_HOUR_DIALOGUE,
    CorpusSpec,
    UtterancePlan,
    cue_table,
    plan_corpus,
)
from .readme import corpus_readme
from .render import espeak_version, render_clip

log = logging.getLogger(__name__)

MELD_COLUMNS: tuple[str, ...] = (
    "Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID",
    "Season", "Episode", "StartTime", "EndTime",
)  # fmt: skip
CUES_FILE = "demo_cues.csv"


def meld_table(plans: list[UtterancePlan], split: str) -> pd.DataFrame:
    """One split's annotation table, exactly MELD's columns, ``Sr No.`` counting from 1."""
    rows = []
    for plan in (p for p in plans if p.split == split):
        short = (plan.split, plan.dialogue_id) == SHORT_HOUR_DIALOGUE
        rows.append(
            {
                "Utterance": plan.text,
                "Speaker": plan.speaker,
                "Emotion": plan.emotion,
                "Sentiment": plan.sentiment,
                "Dialogue_ID": plan.dialogue_id,
                "Utterance_ID": plan.utterance_id,
                "Season": plan.season,
                "Episode": plan.episode,
                "StartTime": format_timestamp(plan.start_ms, short_hour=short),
                "EndTime": format_timestamp(plan.end_ms, short_hour=short),
            }
        )
    table = pd.DataFrame(rows)
    table.insert(0, "Sr No.", np.arange(1, len(table) + 1))
    return table[list(MELD_COLUMNS)]


def format_timestamp(ms: int, *, short_hour: bool = False) -> str:
    """``HH:MM:SS,mmm`` as in MELD's CSVs (``H:MM:SS,mmm`` when ``short_hour``)."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:{'' if short_hour else '02'}d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def corrupt_bytes(seed: int) -> bytes:
    """The content of the deliberately corrupt clip: 64 random bytes, not a container."""
    return np.random.default_rng([seed, 1]).bytes(64)


def write_corpus(out_dir: str | Path, spec: CorpusSpec | None = None) -> pd.DataFrame:
    """Plan, render and write the corpus to ``out_dir``, replacing it atomically.

    Returns:
        The cue table (also written as ``demo_cues.csv``).
    """
    spec = spec or CorpusSpec()
    plans = plan_corpus(spec)
    version = espeak_version()  # fails early, with an install hint, when espeak-ng is absent
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for split, (csv_name, clip_dir) in MELD_SPLITS.items():
            (tmp / clip_dir).mkdir()
            meld_table(plans, split).to_csv(tmp / csv_name, index=False, lineterminator="\r\n")
        for plan in tqdm(plans, desc="rendering clips", unit="clip", disable=None):
            if plan.fate == "ok":
                render_clip(plan, tmp / plan.clip, fps=spec.fps)
            elif plan.fate == "corrupt":
                (tmp / plan.clip).write_bytes(corrupt_bytes(spec.seed))
        table = cue_table(plans)
        table.to_csv(tmp / CUES_FILE, index=False)
        (tmp / "README.md").write_text(corpus_readme(spec, table, espeak=version), encoding="utf-8")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workflow.demo.generator.generate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("out_dir", type=Path, help="folder to (re)create, e.g. workflow/demo/meld_layout")
    parser.add_argument(
        "--seed", type=int, default=CorpusSpec.seed, help="seed of the plan (default %(default)s)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    started = time.perf_counter()
    try:
        table = write_corpus(args.out_dir, CorpusSpec(seed=args.seed))
    except RuntimeError as err:  # espeak-ng missing or failing: one message, no traceback
        log.error("%s", err)
        return 1
    log.info(
        "wrote %d utterances (%s) to %s in %.0f s",
        len(table), table.groupby("split").size().to_dict(), args.out_dir, time.perf_counter() - started,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

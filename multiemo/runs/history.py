"""A run's ``history.jsonl``: one JSON line per finished epoch, appended atomically."""

from __future__ import annotations

import json
from pathlib import Path

from multiemo.io import atomic_path


def read_history(path: Path) -> list[dict]:
    """The records of ``history.jsonl``, one per finished epoch ([] if there is none)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def truncate_history(path: Path, epoch: int) -> None:
    """Drop history lines past the checkpointed epoch (written before an interruption)."""
    kept = [r for r in read_history(path) if r["epoch"] <= epoch]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")


def append_history(path: Path, record: dict) -> None:
    """Add one epoch's line; the file is rewritten atomically, so a failed write leaves no half line."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    with atomic_path(path) as tmp:
        tmp.write_text(text + json.dumps(record) + "\n", encoding="utf-8")

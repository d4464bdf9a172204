"""Send a stage's logging (and warnings) to a log file, e.g. a workflow rule's ``log:`` file."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def log_to_file(path: str | os.PathLike, level: int = logging.INFO) -> Iterator[logging.Logger]:
    """Log everything under ``multiemo`` (and warnings) to ``path`` for the duration of the block.

    An exception raised in the block is logged with its traceback before it propagates, so the log
    says why a stage failed.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    logger = logging.getLogger("multiemo")
    try:
        yield logger
    except BaseException:
        logger.exception("stage failed")
        print(f"error: see {path}", file=sys.stderr)
        raise
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()

"""Bounds on oneDNN's per-shape kernel caches, set before the process first uses oneDNN.

On a CPU, PyTorch runs bfloat16 matrix products through oneDNN, which compiles a kernel for every
new combination of tensor shapes and keeps it in two caches of 1024 entries each: oneDNN's own
primitive cache (``ONEDNN_PRIMITIVE_CACHE_CAPACITY``, about 0.45 MB per entry here) and that of
ideep, PyTorch's wrapper around oneDNN (``LRU_CACHE_CAPACITY``). Dialogue batches have a different
number of utterances every time, so training hits few entries and both caches keep filling; their
entries land between the large short-lived activation buffers, so the heap fragments too. Over
20 IEMOCAP-like epochs in bfloat16 the peak RSS rose from 2.3 GB to 3.9 GB and was still rising;
with both caches capped at :data:`CACHE_CAPACITY` entries it stays at or below 2.6 GB over 50 epochs,
and epochs are as fast (BENCHMARKS.md).

Both libraries read these variables once, when they first build a kernel, so the bounds must be in
the environment before the first bfloat16 product of the process. Importing :mod:`multiemo` changes
nothing in the environment: the entry points that train, predict or extract (``multiemo`` on the
command line, the workflow's scripts, the benchmarks) call :func:`bound_kernel_caches` first. A value
the user set (including oneDNN's older ``DNNL_`` spelling) is left alone.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

CACHE_CAPACITY = 32


def bound_kernel_caches(
    environ: MutableMapping[str, str] = os.environ, capacity: int = CACHE_CAPACITY
) -> None:
    """Set both cache capacities to ``capacity`` in ``environ`` where the user has not set them.

    Call it at the start of a program, before its first oneDNN (bfloat16) product.
    """
    if "ONEDNN_PRIMITIVE_CACHE_CAPACITY" not in environ and "DNNL_PRIMITIVE_CACHE_CAPACITY" not in environ:
        environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = str(capacity)
    environ.setdefault("LRU_CACHE_CAPACITY", str(capacity))

"""Compute precision: float32 throughout, or bfloat16 matrix products with float32 state ("mixed").

With ``"bf16"``, :class:`~multiemo.models.MultiEMO` runs its forward pass under :func:`torch.autocast`:
linear maps and other matrix products take bfloat16 inputs and accumulate in float32, while
normalisation, softmax, the recurrent states, the small output head ("fc" and the classifier) and the
losses stay in float32 (on a CPU the attention too, see
:class:`~multiemo.models.multiattn.CrossAttention`). On CPUs with AVX512-BF16 or AMX, and on recent
GPUs, bfloat16 products run 2-2.5x faster than float32 ones, and the inputs autograd keeps for the
backward pass of a product take half the memory. Results differ from float32 ones by
rounding (about 3 significant digits per product), like mixed precision on GPUs.

Without hardware bfloat16 arithmetic, bfloat16 products are emulated and slower than float32 ones, so
``"auto"`` (:func:`resolve_precision`) picks bfloat16 only where the device has it.

Modules with hand-written kernels ask :func:`autocast_dtype` which dtype their products should use.
"""

from __future__ import annotations

import functools
import platform
import sys

import torch

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}


def compute_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype of a precision name (None for float32 throughout); ValueError if unknown."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
    return PRECISIONS[precision]


def autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype matrix products use under the current autocast state on ``device_type`` (None: off)."""
    return torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else None


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"fp32"`` or ``"bf16"`` for a setting that may be ``"auto"``.

    ``"auto"`` is ``"bf16"`` on a CUDA device with native bfloat16 (compute capability 8.0 and newer) or
    a Linux CPU with bfloat16 instructions (x86 AVX512-BF16 or AMX-BF16, Arm BF16), else ``"fp32"``.
    An explicit ``"bf16"`` is a ValueError on a CUDA device without bfloat16 support (on a CPU it is
    emulated where need be).
    """
    if precision != "auto":
        compute_dtype(precision)  # ValueError if unknown
        if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ValueError(
                f"precision bf16, but {torch.cuda.get_device_name(device)} has no bfloat16 support; "
                "use fp32 or auto"
            )
        return precision
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported(including_emulation=False)
    else:
        native = device.type == "cpu" and cpu_has_bf16()
    return "bf16" if native else "fp32"


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this (Linux) CPU multiplies bfloat16 in hardware, from the flags in /proc/cpuinfo."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            lines = [line for line in info if line.lower().startswith(("flags", "features"))]
        flags = {word for line in lines for word in line.split()}
    except OSError:
        return False
    wanted = {"avx512_bf16", "amx_bf16"} if platform.machine() in ("x86_64", "AMD64") else {"bf16"}
    return bool(flags & wanted)

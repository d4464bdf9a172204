"""The trainer's choice of compute precision (``train.precision``): float32, or bfloat16 products.

Without hardware bfloat16 arithmetic bfloat16 products are emulated and slower than float32 ones, so
``"auto"`` picks bfloat16 only where the device has it. The run records the resolved choice in
``settings.json``; its forward passes, here and in every reader of the run, apply it with
:func:`multiemo.runs.precision.autocast`.
"""

from __future__ import annotations

import functools
import platform
import sys

import torch

from multiemo.settings import ConfigError


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"fp32"`` or ``"bf16"`` for a setting that may be ``"auto"``.

    ``"auto"`` is ``"bf16"`` on a CUDA device with native bfloat16 (compute capability 8.0 and newer) or
    a Linux CPU with bfloat16 instructions (x86 AVX512-BF16 or AMX-BF16, Arm BF16), else ``"fp32"``.
    An explicit ``"bf16"`` is a ValueError on a CUDA device without bfloat16 support (on a CPU it is
    emulated where need be).
    """
    if precision != "auto":
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32', 'bf16' or 'auto', got {precision!r}")
        if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError(
                f"train.precision=bf16, but {torch.cuda.get_device_name(device)} has no bfloat16 support; "
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

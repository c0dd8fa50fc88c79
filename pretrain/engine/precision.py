"""bf16 only where the hardware makes it fast: the ``auto`` precision, resolved once per run.

bf16 autocast pays on CUDA GPUs with native bf16 and on CPUs with AVX512-BF16 or
AMX; elsewhere PyTorch emulates bf16 matmuls, and on this project's 2-core AMD
EPYC without AVX-512 they ran at about a tenth of the fp32 rate (0.4 against
4.3 GFLOP/s, 512x512 matmuls, measured side by side). ``auto`` therefore picks
bf16 only on hardware that has it, and every run records the precision it used.
"""

from __future__ import annotations

import functools
from pathlib import Path

from harnesskit.errors import HarnessError

PRECISIONS = ("auto", "fp32", "bf16")
FAST_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def cpu_has_fast_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU has native bf16 matmul instructions (AVX512-BF16 or AMX)."""
    try:
        flags = set(Path(cpuinfo).read_text(errors="replace").split())
    except OSError:  # not Linux: no way to tell, so do not bet on bf16
        return False
    return any(f in flags for f in FAST_BF16_CPU_FLAGS)


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """``fp32`` or ``bf16`` for ``precision`` (``auto`` decided by the hardware of ``device``)."""
    if precision not in PRECISIONS:
        raise HarnessError(f"unknown precision {precision!r}",
                           hint=f"use one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        import torch  # lazy: only a CUDA device asks, and torch is loaded by then anyway

        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_fast_bf16() else "fp32"

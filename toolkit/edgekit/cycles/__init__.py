"""Cycle estimate from the executed instruction mix (docs/ARCHITECTURE.md, cycles).

QEMU counts instructions, not cycles. This stage runs a program under QEMU with its
translation-block log (trace.py), classifies each executed instruction (isa.py) and prices the
mix with the core's documented timings, one table per core as data (timings/<core>.yaml, each
citing its Technical Reference Manual section), plus the flash wait states of the profile's
part (model.py). The result is "cycles (estimated from the executed instruction mix)".
"""

from __future__ import annotations

from pathlib import Path

from edgekit.cycles.model import UNIT, BlockCost, CycleEstimate, available_cores, call_blocks, estimate, timing
from edgekit.cycles.trace import TraceMix, parse_log, trace_elf

WINDOW = "ek_model_invoke"

__all__ = ["UNIT", "WINDOW", "BlockCost", "CycleEstimate", "TraceMix", "available_cores", "call_blocks", "estimate",
           "estimate_elf",
           "parse_log", "supported", "timing", "trace_elf", "trace_target_elf"]


def supported(target) -> bool:
    """True when the target runs on QEMU and its core has a timing table."""
    from edgekit.devices.kinds.qemu import Qemu

    return target.core is not None and Qemu().emulates(target) and timing(target.core.cpu) is not None


def trace_target_elf(elf: Path, target, window: str = WINDOW, timeout_s: float = 900) -> TraceMix:
    """Trace a semihosted program (it calls `window` and exits) on the target's QEMU board."""
    from edgekit.devices.kinds.qemu import qemu_base_args
    from edgekit.firmware import ICOUNT_SHIFT

    return trace_elf(qemu_base_args(target, Path(elf), ICOUNT_SHIFT), window, timeout_s)


def estimate_elf(elf: Path, target, window: str = WINDOW, timeout_s: float = 900) -> CycleEstimate:
    """trace_target_elf, then the cycles per call of `window` on the target's core."""
    mix = trace_target_elf(elf, target, window, timeout_s)
    return estimate(mix, target.core.cpu, target.core.flash_wait_states, target.core.flash_accelerator)

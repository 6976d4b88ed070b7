"""The one table of edgekit-micro's kernel variants: which core feature each needs and which C
defines select it in firmware/runtime (see docs/ARCHITECTURE.md, "Adding a kernel variant").

The target schema (runtime.kernels), build (--kernels), firmware.kernel_defines, the selftest
and the tests all read this table. Adding a variant is a row here plus its code inside the
kernel files (firmware/runtime/src/kernels/<family>.c) behind its define.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from edgekit.errors import UserError


@dataclass(frozen=True)
class Variant:
    name: str
    feature: Optional[str]          # the core.features entry it needs (None: any core)
    defines: tuple[tuple[str, str], ...]
    what: str


VARIANTS: tuple[Variant, ...] = (
    Variant("reference", None, (("EK_KERNELS_DSP", "0"), ("EK_KERNELS_MVE", "0")),
            "portable C loops, TFLite Micro's reference arithmetic"),
    Variant("dsp", "dsp", (("EK_KERNELS_DSP", "1"), ("EK_KERNELS_MVE", "0")),
            "dual 16-bit MACs (SMLAD/SXTB16) for conv, depthwise conv and fully connected"),
    # Helium keeps the DSP kernels for the ops it has no Helium version of.
    Variant("mve", "mve", (("EK_KERNELS_DSP", "1"), ("EK_KERNELS_MVE", "1")),
            "Helium (MVE) for conv and depthwise conv, the DSP kernels for the rest"),
)
NAMES: tuple[str, ...] = tuple(v.name for v in VARIANTS)


def get(name: str) -> Variant:
    for v in VARIANTS:
        if v.name == name:
            return v
    raise UserError(f"--kernels {name}: use {', '.join(repr(n) for n in NAMES[:-1])} or {NAMES[-1]!r}")


def defines(name: str) -> dict[str, str]:
    """The C defines that select variant `name` of firmware/runtime."""
    return dict(get(name).defines)


def available(features: Iterable[str]) -> list[str]:
    """The variants a core with these features can run, reference first."""
    fs = set(features)
    return [v.name for v in VARIANTS if v.feature is None or v.feature in fs]

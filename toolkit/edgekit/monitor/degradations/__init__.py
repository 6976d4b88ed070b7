"""Sensor degradations a fleet simulation can apply to raw inputs, registered by kind (one
module each; adding one = a file + one line in _KINDS). docs/ARCHITECTURE.md, monitor.

A degradation is `make(level) -> fn(raw, rng) -> raw` with level in (0, 1]: how far the
sensor has worn; the raw sample keeps its dtype and shape.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable

import numpy as np

Degradation = Callable[[np.ndarray, np.random.Generator], np.ndarray]

_KINDS = {
    "mic-wear": "edgekit.monitor.degradations.mic_wear",
}


def kinds() -> list[str]:
    return sorted(_KINDS)


def make(kind: str, level: float) -> Degradation:
    if kind not in _KINDS:
        raise KeyError(kind)
    return import_module(_KINDS[kind]).make(level)

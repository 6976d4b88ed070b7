"""Firmware outputs vs the tflite-micro interpreter, bit for bit, on a dataset split.

    r = verify_against_tflm(spec, target, elf, tflite, split="test", limit=None)
    r.samples, r.mismatched_samples, r.max_abs_diff

Inputs are the reference preprocessing's features quantized with the model's input scale
(the same int8 tensors go to both); on QEMU they are preloaded in batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from edgekit.errors import UserError


@dataclass
class VerifyResult:
    split: str
    samples: int
    mismatched_samples: int
    max_abs_diff: int
    mismatched_ids: list[str] = field(default_factory=list)
    instructions_min: int = 0
    instructions_max: int = 0
    unit: str = ""

    @property
    def bit_exact(self) -> bool:
        return self.samples > 0 and self.mismatched_samples == 0


def quantize_inputs(x: np.ndarray, tflite: Path) -> np.ndarray:
    from edgekit.interpreters import io_quant

    q_in, _ = io_quant(Path(tflite))
    if q_in.dtype != "int8":
        raise UserError(f"{tflite}: input is {q_in.dtype}; expected a full-int8 model")
    q = np.round(np.asarray(x, dtype=np.float32) / q_in.scale) + q_in.zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def verify_against_tflm(spec, target, elf: Path, tflite: Path, split: str = "test", limit: Optional[int] = None,
                        device: str = "qemu", chunk: int = 256,
                        progress: Optional[Callable[[str, int, int], None]] = None) -> VerifyResult:
    from edgekit.data import split_arrays
    from edgekit.devices import open_device
    from edgekit.interpreters import run_tflm

    x, _, records = split_arrays(spec, split, limit=limit)
    xq = quantize_inputs(x, tflite)
    n = len(xq)
    mism, max_diff, ids = 0, 0, []
    counts: list[int] = []
    unit = ""
    with open_device(device, target, elf) as dev:
        for start in range(0, n, chunk):
            part = xq[start : start + chunk]
            ref = np.asarray(run_tflm(Path(tflite), part)).reshape(len(part), -1)
            got = dev.infer_batch([row.tobytes() for row in part], "features")
            out = np.stack([np.frombuffer(r.output, dtype=ref.dtype) for r in got])
            diff = np.abs(out.astype(np.int32) - ref.astype(np.int32)).max(axis=1)
            bad = np.nonzero(diff)[0]
            mism += len(bad)
            ids += [records[start + int(i)].id for i in bad[:20]]
            max_diff = max(max_diff, int(diff.max()) if len(diff) else 0)
            counts += [r.model_count for r in got]
            unit = got[0].unit
            if progress:
                progress(f"verify {split}", min(start + chunk, n), n)
    return VerifyResult(split, n, mism, max_diff, ids[:20], min(counts) if counts else 0,
                        max(counts) if counts else 0, unit)

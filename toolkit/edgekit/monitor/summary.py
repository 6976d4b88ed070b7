"""The device summary: what a deployed device can afford to report about what it saw.

A constant-size sketch of the inferences since the last read (docs/ARCHITECTURE.md, monitor):

- count: inferences summarised;
- class_hist[c]: inferences whose top-1 class was c;
- conf_hist[b]: inferences whose top-1 output value q fell in bin b of CONF_BINS equal bins
  of the output's integer range, in output-quantization steps: b = (q - qmin) * CONF_BINS / 256
  (for a softmax output with scale 1/256 and zero point -128, bin b holds confidences in
  [b/16, (b+1)/16));
- per input feature (the last axis of the model input of size > 1: MFCC coefficient for
  audio, colour channel for images) the exact integer sum and sum of squares of the int8
  model input over every element of that feature: running mean and variance in fixed point
  (mean = sum / n, var = sumsq / n - mean^2 in int8 input steps), mergeable across windows.

This module is the Python side (phones, Linux boards, tests); firmware/app/ek_summary.c is
the device side and computes the identical integers (tests/monitor hold them equal on QEMU).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

CONF_BINS = 16
# Bounds the firmware sketch has too (ek_summary.h): constant size on the device.
MAX_CLASSES = 64
MAX_FEATURES = 16


def feature_layout(input_shape: Sequence[int]) -> tuple[int, int]:
    """(features, inner): the feature axis is the last axis of size > 1; element i of the
    flattened input belongs to feature (i // inner) % features."""
    dims = [int(d) for d in input_shape]
    for axis in range(len(dims) - 1, -1, -1):
        if dims[axis] > 1:
            inner = int(np.prod(dims[axis + 1:], dtype=np.int64)) if axis + 1 < len(dims) else 1
            return dims[axis], inner
    return 1, 1


def conf_bin(q_top: np.ndarray, dtype: str = "int8") -> np.ndarray:
    """The confidence bin of top-1 output values, in output-quantization steps."""
    info = np.iinfo(np.dtype(dtype))
    span = int(info.max) - int(info.min) + 1
    return ((np.asarray(q_top, np.int64) - int(info.min)) * CONF_BINS // span).astype(np.int64)


@dataclass
class DeviceSummary:
    """The summary of one window of inferences (integers only, exactly what the device keeps)."""

    count: int
    class_hist: list[int]
    conf_hist: list[int]
    feature_sum: list[int]
    feature_sumsq: list[int]
    feature_elements: int          # elements per feature per inference (positions)
    extra: dict = field(default_factory=dict)

    @property
    def feature_n(self) -> int:
        return self.count * self.feature_elements

    def feature_mean(self) -> list[float]:
        n = self.feature_n
        return [s / n if n else 0.0 for s in self.feature_sum]

    def feature_var(self) -> list[float]:
        n = self.feature_n
        if not n:
            return [0.0] * len(self.feature_sum)
        return [max(sq / n - (s / n) ** 2, 0.0) for s, sq in zip(self.feature_sum, self.feature_sumsq)]


@dataclass(frozen=True)
class PerSample:
    """Per-inference parts of a summary, so windows are sums over samples (fleet simulation
    caches these once per model and input path)."""

    pred: np.ndarray          # [N] top-1 class
    conf_bin: np.ndarray      # [N]
    feature_sum: np.ndarray   # [N, F] int64
    feature_sumsq: np.ndarray # [N, F] int64
    feature_elements: int


def per_sample(inputs_q: np.ndarray, outputs_q: np.ndarray, output_dtype: str = "int8") -> PerSample:
    """inputs_q: [N, *input_shape] int8 model inputs; outputs_q: [N, classes] int8 outputs."""
    x = np.asarray(inputs_q)
    n = x.shape[0]
    out = np.asarray(outputs_q).reshape(n, -1)
    if out.shape[1] > MAX_CLASSES:
        raise ValueError(f"{out.shape[1]} classes: the device summary keeps at most {MAX_CLASSES}")
    features, inner = feature_layout(x.shape[1:])
    if features > MAX_FEATURES:
        raise ValueError(f"{features} input features: the device summary keeps at most {MAX_FEATURES}")
    flat = x.reshape(n, -1).astype(np.int64)
    per_feature = flat.reshape(n, -1, features, inner)   # [N, outer, F, inner]
    fsum = per_feature.sum(axis=(1, 3))
    fsq = (per_feature * per_feature).sum(axis=(1, 3))
    pred = out.argmax(axis=1)  # first maximum, as the firmware's strict > scan
    top = out[np.arange(n), pred]
    return PerSample(pred=pred.astype(np.int64), conf_bin=conf_bin(top, output_dtype),
                     feature_sum=fsum, feature_sumsq=fsq, feature_elements=flat.shape[1] // features)


def summarize(inputs_q: np.ndarray, outputs_q: np.ndarray, output_dtype: str = "int8") -> DeviceSummary:
    """The summary of a window from logged int8 model inputs and outputs: what the firmware's
    ek_summary computes for the same inferences, integer for integer."""
    out = np.asarray(outputs_q)
    classes = out.reshape(out.shape[0], -1).shape[1] if out.size else 0
    ps = per_sample(inputs_q, outputs_q, output_dtype)
    return window_of(ps, np.arange(len(ps.pred)), classes)


def window_of(ps: PerSample, idx: np.ndarray, classes: int) -> DeviceSummary:
    """The summary of the inferences `idx` (indices into ps, repeats allowed)."""
    idx = np.asarray(idx, np.int64)
    return DeviceSummary(
        count=int(idx.size),
        class_hist=np.bincount(ps.pred[idx], minlength=classes).astype(int).tolist(),
        conf_hist=np.bincount(ps.conf_bin[idx], minlength=CONF_BINS).astype(int).tolist(),
        feature_sum=ps.feature_sum[idx].sum(axis=0).astype(int).tolist(),
        feature_sumsq=ps.feature_sumsq[idx].sum(axis=0).astype(int).tolist(),
        feature_elements=ps.feature_elements)

"""Quantization parameters as TFLite Micro's Prepare() computes them, on the host.

The C kernels only see the results (multipliers, shifts, offsets, activation ranges), so
these must reproduce TFLM's float32/double mix exactly: e.g. FULLY_CONNECTED multiplies the
two float32 scales in float32 before widening, CONV_2D widens each scale first.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from edgekit.errors import UserError

ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6 = 0, 1, 2, 3

I16_MAX = 32767
# int32 accumulators: 255 * 128 * depth must not overflow (TFLM has the same limit, silently).
MAX_ACCUM_DEPTH = 65000


def round_half_away(x: float) -> int:
    """std::round / TfLiteRound: halves away from zero (Python's round() is banker's)."""
    if not math.isfinite(x) or abs(x) > 2**31:
        raise UserError(f"quantization parameters give {x} where an int32 is needed; check the "
                        f"model's scales (absurdly large or small)")
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: m = q * 2^(shift - 31), q in [2^30, 2^31)."""
    if not math.isfinite(m) or m < 0:
        raise UserError(f"quantization scales give an effective multiplier of {m}; "
                        f"scales must be finite and > 0")
    if m == 0.0:
        return 0, 0
    frac, shift = math.frexp(m)
    q = round_half_away(frac * (1 << 31))
    if q == (1 << 31):
        q //= 2
        shift += 1
    if shift < -31:
        shift, q = 0, 0
    if shift > 30:
        raise UserError(f"quantization scales give an effective multiplier of {m:g} (> 2^30), "
                        f"which int32 requantization cannot represent; check the model's scales")
    return q, shift


def f32(x: float) -> float:
    return float(np.float32(x))


def activation_range(act: int, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8 (quantize(f) = zp + round(f / scale) in float32)."""
    qmin, qmax = -128, 127

    def q(f: float) -> int:
        return zero_point + round_half_away(float(np.float32(f) / np.float32(scale)))

    if act == ACT_NONE:
        return qmin, qmax
    if act == ACT_RELU:
        return max(qmin, q(0.0)), qmax
    if act == ACT_RELU6:
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if act == ACT_RELU_N1_TO_1:
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise ValueError(act)


def conv_multipliers(input_scale: float, filter_scales: list[float], output_scale: float,
                     channels: int) -> tuple[list[int], list[int]]:
    """PopulateConvolutionQuantizationParams: per channel (per-tensor scales broadcast)."""
    mult, shift = [], []
    for c in range(channels):
        fs = filter_scales[c] if len(filter_scales) > 1 else filter_scales[0]
        q, s = quantize_multiplier(f32(input_scale) * f32(fs) / f32(output_scale))
        mult.append(q)
        shift.append(s)
    return mult, shift


def fc_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """GetQuantizedConvolutionMultipler: the scale product is taken in float32."""
    prod = float(np.float32(input_scale) * np.float32(filter_scale))
    return quantize_multiplier(prod / f32(output_scale))


def add_params(s1: float, s2: float, so: float) -> dict:
    left_shift = 20
    twice_max = 2.0 * float(max(np.float32(s1), np.float32(s2)))
    m1, sh1 = quantize_multiplier(f32(s1) / twice_max)
    m2, sh2 = quantize_multiplier(f32(s2) / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * f32(so)))
    return {"left_shift": left_shift, "input1_multiplier": m1, "input1_shift": sh1,
            "input2_multiplier": m2, "input2_shift": sh2,
            "output_multiplier": mo, "output_shift": sho}


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling + CalculateInputRadius with 5 integer bits."""
    integer_bits = 5
    real = min(f32(beta) * f32(input_scale) * (1 << (31 - integer_bits)), float((1 << 31) - 1))
    q, left_shift = quantize_multiplier(real)
    radius = ((1 << integer_bits) - 1) * (1 << (31 - integer_bits)) / (1 << left_shift)
    diff_min = -int(math.floor(radius))
    return q, left_shift, diff_min


def q4_input_params(input_scale: float) -> Optional[tuple[int, int, int]]:
    """(multiplier, left shift, input range radius) of TFLM's int8 LOGISTIC and TANH Prepare:
    the input rescaled to Q4.27 (frexp of scale * 2^27, the mantissa rounded half away) and the
    radius beyond which the output saturates (CalculateInputRadius, 4 integer bits); None when
    the scale is outside what that fixed point can hold."""
    integer_bits = 4
    q, left_shift = math.frexp(f32(input_scale) * float(1 << (31 - integer_bits)))
    mult = round_half_away(q * (1 << 31))
    if not 0 <= left_shift <= 31 or mult >= (1 << 31):
        return None
    radius = math.floor(((1 << integer_bits) - 1) * (1 << (31 - integer_bits)) / (1 << left_shift))
    return mult, left_shift, radius


def compute_padding(padding: int, in_size: int, filter_size: int, stride: int,
                    dilation: int) -> tuple[int, int]:
    """(output size, leading pad) as ComputePaddingHeightWidth; padding 0 = SAME, 1 = VALID."""
    eff = (filter_size - 1) * dilation + 1
    if padding == 0:
        out = (in_size + stride - 1) // stride
    else:
        out = (in_size + stride - eff) // stride
    total = max((out - 1) * stride + eff - in_size, 0)
    return out, total // 2

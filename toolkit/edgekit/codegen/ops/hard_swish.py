"""HARD_SWISH (int8), kernel ek_hard_swish_s8 in firmware/runtime/src/kernels/activations.c: TFLM's
16-bit fixed-point reference, its multipliers computed here as HardSwishPrepare does (float32
scales, QuantizeMultiplier, then rounded down to 16 bits)."""

from __future__ import annotations

import numpy as np

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register


def int16_multiplier(m32: int) -> int:
    """DownScaleInt32ToInt16Multiplier."""
    if m32 >= (1 << 31) - 1 - (1 << 15):
        return 32767
    return (m32 + (1 << 15)) >> 16


@register("HARD_SWISH", 117, types=("int8",), kernels=("activations.c",))
def lower_hard_swish(lw, op) -> None:
    x, y = lw.unary(op)
    xs, xz = lw.per_tensor(op, x.index, "input")
    ys, yz = lw.per_tensor(op, y.index, "output")
    f32 = np.float32
    hires = f32(1.0 / 128.0) * f32(xs)
    out_m, out_e = Q.quantize_multiplier(float(f32(hires / f32(ys))))
    relu_m, relu_e = Q.quantize_multiplier(float(f32(hires / f32(3.0 / 32768.0))))
    if out_e > 0:
        lw.fail(op, f"input scale {xs} / output scale {ys} needs a left shift",
                "TFLite Micro refuses this HARD_SWISH too (output_multiplier_exponent > 0)")
    if not -15 <= relu_e <= 15 or out_e < -15:
        lw.fail(op, f"input scale {xs} and output scale {ys} are out of HARD_SWISH's 16-bit range")
    params = lw.params("ek_hard_swish_params_t", f"ek_p{op.index}", input_zero_point=xz,
                       output_zero_point=yz, reluish_multiplier_fixedpoint_int16=int16_multiplier(relu_m),
                       reluish_multiplier_exponent=relu_e,
                       output_multiplier_fixedpoint_int16=int16_multiplier(out_m),
                       output_multiplier_exponent=out_e)
    lw.step(op, f"ek_hard_swish_s8({params}, {x.numel}, {lw.ptr(x.index)}, {lw.ptr(y.index)});")

"""MUL (int8, with broadcasting), kernel ek_mul_s8 in firmware/runtime/src/kernels/elementwise.c:
(x1 + offset1) * (x2 + offset2) requantized by s1 * s2 / s_out (TFLM's MulElementwise)."""

from __future__ import annotations

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register
from edgekit.codegen.ops.broadcast import broadcast_decl, operands


@register("MUL", 18, types=("int8",), weights=("int8",), kernels=("elementwise.c",),
          options=((0, "activation", "<b", 0),), options_type="MulOptions", inplace=True)
def lower_mul(lw, op) -> None:
    a, b, y = operands(lw, op)
    bc = broadcast_decl(lw, op, a, b, y)
    # TFLM widens each float32 scale to double before multiplying and dividing.
    m, s = Q.quantize_multiplier(Q.f32(a.quant.scale[0]) * Q.f32(b.quant.scale[0]) / Q.f32(y.quant.scale[0]))
    lo, hi = lw.activation(op, y)
    params = lw.params("ek_mul_params_t", f"ek_p{op.index}", input1_offset=-a.quant.zero_point[0],
                       input2_offset=-b.quant.zero_point[0], output_offset=y.quant.zero_point[0],
                       output_multiplier=m, output_shift=s, act_min=lo, act_max=hi)
    lw.step(op, f"ek_mul_s8({params}, {bc}, {lw.ptr(a.index)}, {lw.ptr(b.index)}, {lw.ptr(y.index)});")

"""What the int8 activations that gemmlowp computes from a Q4.27 input share (LOGISTIC, TANH):
TFLM's Prepare (input multiplier, left shift and range radius, codegen.quant.q4_input_params),
the output quantization their kernels assume, and the kernel call on ek_<op>_params_t. Not an
op: nothing is registered here. See docs/ARCHITECTURE.md, "Adding an op"."""

from __future__ import annotations

import numpy as np

from edgekit.codegen import quant as Q


def lower(lw, op, kernel: str, params_type: str, output_denominator: int, output_zero_point: int) -> None:
    """Lower `op` to `kernel(params, size, input, output)`; its output must be quantized with
    scale 1/output_denominator and output_zero_point (what the kernel's fixed point produces)."""
    x, y = lw.unary(op)
    xs, xz = lw.per_tensor(op, x.index, "input")
    ys, yz = y.quant.scale[0], y.quant.zero_point[0]
    if yz != output_zero_point or np.float32(ys) != np.float32(1.0 / output_denominator):
        lw.fail(op, f"output quantization (scale {ys}, zero point {yz}) must be 1/{output_denominator} "
                f"and {output_zero_point}", f"the TFLite converter produces this for int8 {op.name}")
    fixed = Q.q4_input_params(xs)
    if fixed is None:
        lw.fail(op, f"input scale {xs} is out of {op.name}'s fixed-point range")
    mult, left_shift, radius = fixed
    params = lw.params(params_type, f"ek_p{op.index}", input_zero_point=xz, input_range_radius=radius,
                       input_multiplier=mult, input_left_shift=left_shift)
    lw.step(op, f"{kernel}({params}, {x.numel}, {lw.ptr(x.index)}, {lw.ptr(y.index)});")

"""TANH (int8 -> int8, output scale 1/128 and zero point 0), kernel ek_tanh_s8 in
firmware/runtime/src/kernels/tanh.c: TFLM's integer reference (reference_integer_ops::Tanh), its
input multiplier, left shift and radius computed as TanhPrepare does
(codegen/ops/q4_activation.py)."""

from __future__ import annotations

from edgekit.codegen.ops import q4_activation, register


@register("TANH", 28, types=("int8",), kernels=("tanh.c",))
def lower_tanh(lw, op) -> None:
    q4_activation.lower(lw, op, "ek_tanh_s8", "ek_tanh_params_t", 128, 0)

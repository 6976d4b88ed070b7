"""LOGISTIC (int8 -> int8, output scale 1/256 and zero point -128), kernel ek_logistic_s8 in
firmware/runtime/src/kernels/activations.c: TFLM's integer reference, its input multiplier and
radius computed as LogisticPrepare does (codegen/ops/q4_activation.py)."""

from __future__ import annotations

from edgekit.codegen.ops import q4_activation, register


@register("LOGISTIC", 14, types=("int8",), kernels=("activations.c",))
def lower_logistic(lw, op) -> None:
    q4_activation.lower(lw, op, "ek_logistic_s8", "ek_logistic_params_t", 256, -128)

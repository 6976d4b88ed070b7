"""ADD (int8), kernel firmware/runtime/src/kernels/elementwise.c."""

from __future__ import annotations

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register
from edgekit.codegen.tflite_reader import INT8


@register("ADD", 0, types=("int8",), kernels=("elementwise.c",),
          options=((0, "activation", "<b", 0),), options_type="AddOptions", inplace=True)
def lower_add(lw, op) -> None:
    ins = lw.inputs(op, 2, 2)
    a, b = lw.t(ins[0]), lw.t(ins[1])
    y = lw.act(op, op.outputs[0], "output")
    for t in (a, b):
        if t.type != INT8:
            lw.fail(op, f"input {lw.tname(t.index)} is {t.type_name}, expected int8")
        lw.per_tensor(op, t.index, "input")
    if list(a.shape) != list(b.shape) or list(a.shape) != list(y.shape):
        lw.fail(op, f"shapes {a.shape} + {b.shape} -> {y.shape} need broadcasting",
                "edgekit-micro's ADD takes equal shapes")
    p = Q.add_params(a.quant.scale[0], b.quant.scale[0], y.quant.scale[0])
    lo, hi = lw.activation(op, y)
    params = lw.params("ek_add_params_t", f"ek_p{op.index}", input1_offset=-a.quant.zero_point[0],
                       input2_offset=-b.quant.zero_point[0], output_offset=y.quant.zero_point[0],
                       **p, act_min=lo, act_max=hi)
    lw.step(op, f"ek_add_s8({params}, {y.numel}, {lw.ptr(a.index)}, {lw.ptr(b.index)}, "
                f"{lw.ptr(y.index)});")

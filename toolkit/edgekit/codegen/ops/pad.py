"""PAD and PADV2 (int8), kernel firmware/runtime/src/kernels/reshape.c."""

from __future__ import annotations

import numpy as np

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register
from edgekit.codegen.tflite_reader import INT8, INT32


def lower_pad(lw, op, v2: bool) -> None:
    ins = lw.inputs(op, 2, 3 if v2 else 2)
    x = lw.act(op, ins[0], "input")
    pads = lw.const(op, ins[1], INT32, "paddings")
    y = lw.act(op, op.outputs[0], "output")
    r = len(x.shape)
    if pads.shape != [r, 2]:
        lw.fail(op, f"paddings shape {pads.shape}, expected [{r}, 2]")
    pv = pads.data.reshape(r, 2).astype(np.int64)
    if (pv < 0).any() or (pv > Q.I16_MAX).any():
        lw.fail(op, f"paddings {pv.tolist()} must be in [0, {Q.I16_MAX}]")
    want = [int(d + a + b) for d, (a, b) in zip(x.shape, pv)]
    if want != list(y.shape):
        lw.fail(op, f"output shape {y.shape}, but padding gives {want}")
    lw.same_quant(op, x, y)
    value = y.quant.zero_point[0]
    if v2 and len(ins) > 2 and ins[2] >= 0:
        cv = lw.const(op, ins[2], INT8, "constant_values")
        value = int(cv.data.reshape(-1)[0])
    pads4 = [[0, 0]] * (4 - r) + pv.tolist()
    k = op.index
    lw.decls.append(f"static const int32_t ek_pads{k}[8] = "
                    f"{{{', '.join(str(int(v)) for p in pads4 for v in p)}}};")
    ish = lw.shape_decl(f"ek_is{k}", x.shape)
    osh = lw.shape_decl(f"ek_os{k}", y.shape)
    lw.step(op, f"ek_pad_s8({ish}, {lw.ptr(x.index)}, ek_pads{k}, {value}, {osh}, "
                f"{lw.ptr(y.index)});")


@register("PAD", 34, types=("int8",), weights=("int32",), kernels=("reshape.c",))
def lower_pad_v1(lw, op) -> None:
    lower_pad(lw, op, v2=False)


@register("PADV2", 60, types=("int8",), weights=("int32", "int8"), kernels=("reshape.c",))
def lower_pad_v2(lw, op) -> None:
    lower_pad(lw, op, v2=True)

"""What the broadcasting element-wise ops (ADD, SUB, MUL, MAXIMUM, MINIMUM) share: operand
checks and the ek_broadcast_t of their kernels (firmware/runtime/src/kernels/elementwise.c).
Not an op: nothing is registered here."""

from __future__ import annotations

from edgekit.codegen.tflite_reader import INT8


def _shape4(shape: list[int]) -> list[int]:
    return [1] * (4 - len(shape)) + list(shape)


def operands(lw, op):
    """The two int8 inputs (activations or constants, per-tensor quantized) and the output."""
    ins = lw.inputs(op, 2, 2)
    a, b = lw.t(ins[0]), lw.t(ins[1])
    y = lw.act(op, op.outputs[0], "output")
    for t in (a, b):
        if t.type != INT8:
            lw.fail(op, f"input {lw.tname(t.index)} is {t.type_name}, expected int8")
        lw.per_tensor(op, t.index, "input")
    return a, b, y


def broadcast_decl(lw, op, a, b, y) -> str:
    """The ek_broadcast_t of a -op- b -> y (numpy rules over NHWC, shapes right-aligned), as a
    static const with designated initializers; returns &name. Fails unless y has the
    broadcast shape."""
    sa, sb, so = _shape4(a.shape), _shape4(b.shape), _shape4(y.shape)
    want = []
    for da, db in zip(sa, sb):
        if da != db and 1 not in (da, db):
            lw.fail(op, f"shapes {a.shape} and {b.shape} do not broadcast",
                    "each dimension must be equal or 1")
        want.append(max(da, db))
    if want != so:
        lw.fail(op, f"output {lw.tname(y.index)} has shape {y.shape}, but {a.shape} and {b.shape} "
                f"broadcast to {want[4 - max(len(a.shape), len(b.shape), 1):]}")

    def strides(s: list[int]) -> str:
        dense = [s[1] * s[2] * s[3], s[2] * s[3], s[3], 1]
        return ", ".join(f".{f} = {0 if d == 1 and o > 1 else st}"
                         for f, d, o, st in zip("nhwc", s, so, dense))

    name = f"ek_bc{op.index}"
    lw.decls.append(f"static const ek_broadcast_t {name} = {{.out = {{{', '.join(map(str, so))}}}, "
                    f".stride1 = {{{strides(sa)}}}, .stride2 = {{{strides(sb)}}}}};")
    return f"&{name}"


def add_sub_params(lw, op, a, b, y) -> str:
    """ek_add_params_t of ADD/SUB (TFLM: left shift 20, both inputs rescaled to twice the larger
    input scale)."""
    from edgekit.codegen import quant as Q

    p = Q.add_params(a.quant.scale[0], b.quant.scale[0], y.quant.scale[0])
    lo, hi = lw.activation(op, y)
    return lw.params("ek_add_params_t", f"ek_p{op.index}", input1_offset=-a.quant.zero_point[0],
                     input2_offset=-b.quant.zero_point[0], output_offset=y.quant.zero_point[0],
                     **p, act_min=lo, act_max=hi)

"""FULLY_CONNECTED (int8, per-tensor or per-channel weights), kernel
firmware/runtime/src/kernels/fully_connected.c."""

from __future__ import annotations

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register
from edgekit.codegen.tflite_reader import INT8, INT32


def scratch_bytes(depth: int) -> int:
    """Arena scratch of ek_fully_connected_s8: the DSP kernel's int16 copy of one input row."""
    return 2 * depth


@register("FULLY_CONNECTED", 9, types=("int8",), weights=("int8", "int32"),
          kernels=("fully_connected.c",),
          options=((0, "activation", "<b", 0), (1, "weights_format", "<b", 0),
                   (2, "keep_num_dims", "<B", 0)), options_type="FullyConnectedOptions")
def lower_fully_connected(lw, op) -> None:
    ins = lw.inputs(op, 2, 3)
    x = lw.act(op, ins[0], "input")
    w = lw.const(op, ins[1], INT8, "weights")
    b = lw.const(op, ins[2], INT32, "bias") if len(ins) > 2 and ins[2] >= 0 else None
    y = lw.act(op, op.outputs[0], "output")
    lw.opt(op, "weights_format", 0, 0)   # only DEFAULT (not shuffled) weights
    if len(w.shape) != 2:
        lw.fail(op, f"weights {lw.tname(w.index)} have shape {w.shape}, expected 2-D")
    units, depth = w.shape
    if x.numel % depth:
        lw.fail(op, f"input of {x.numel} values is not a multiple of the weights' depth {depth}")
    rows = x.numel // depth
    if depth > Q.MAX_ACCUM_DEPTH:
        lw.fail(op, f"accumulation depth {depth} exceeds {Q.MAX_ACCUM_DEPTH}")
    if y.numel != rows * units or y.shape[-1] != units:
        lw.fail(op, f"output {lw.tname(y.index)} has shape {y.shape}, expected "
                f"{rows * units} values ending in {units}")
    if b is not None and b.numel != units:
        lw.fail(op, f"bias {lw.tname(b.index)} has {b.numel} values for {units} units")
    xs, xz = lw.per_tensor(op, x.index, "input")
    ys, yz = lw.per_tensor(op, y.index, "output")
    wq = w.quant
    if wq is None or len(wq.scale) not in (1, units) or (len(wq.scale) > 1 and wq.quantized_dimension != 0):
        lw.fail(op, f"weights {lw.tname(w.index)} need 1 or {units} scales")
    per_channel = len(wq.scale) > 1
    if per_channel:
        if any(z != 0 for z in wq.zero_point):
            lw.fail(op, "per-channel weights must have zero point 0")
        mult, shift = Q.conv_multipliers(xs, wq.scale, ys, units)
        filter_offset = 0
    else:
        m, s = Q.fc_multiplier(xs, wq.scale[0], ys)
        mult, shift = [m], [s]
        filter_offset = -wq.zero_point[0]
    lo, hi = lw.activation(op, y)
    k = op.index
    m_name, s_name, w_name, b_name = lw.weight_arrays(k, mult, shift, w, b)
    params = lw.params("ek_fc_params_t", f"ek_p{k}", input_offset=-xz, filter_offset=filter_offset,
                       output_offset=yz, output_multiplier=0, output_shift=0, act_min=lo, act_max=hi)
    lw.scratch[k] = scratch_bytes(depth)
    call = (f"ek_fully_connected_s8({params}, {m_name}, {s_name}, {int(per_channel)}, {rows}, "
            f"{depth}, {units}, {lw.ptr(x.index)}, {w_name}, {b_name}, {lw.ptr(y.index)}, "
            f"EK_SCRATCH(ek_arena + @{{s{k}}}));")
    lw.step(op, call, rows * units * depth,
            w.nbytes + (b.nbytes if b is not None else 0) + 4 * len(mult))

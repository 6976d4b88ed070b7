"""TRANSPOSE_CONV (per-channel int8), kernel ek_transpose_conv_s8 in
firmware/runtime/src/kernels/transpose_conv.c: TFLM's scatter into an int32 accumulator image (in
the arena scratch), then bias and per-channel requantization. Padding is computed from the
output size, as TFLM's Prepare does."""

from __future__ import annotations

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register
from edgekit.codegen.ops.conv_2d import per_channel_quant
from edgekit.codegen.tflite_reader import INT8, INT32


@register("TRANSPOSE_CONV", 67, types=("int8",), weights=("int32", "int8"), kernels=("transpose_conv.c",),
          options=((0, "padding", "<b", 0), (1, "stride_w", "<i", 0), (2, "stride_h", "<i", 0),
                   (3, "activation", "<b", 0)),
          options_type="TransposeConvOptions")
def lower_transpose_conv(lw, op) -> None:
    ins = lw.inputs(op, 3, 4)
    out_shape = lw.const(op, ins[0], INT32, "output_shape")
    w = lw.const(op, ins[1], INT8, "filter")
    x = lw.act(op, ins[2], "input")
    b = lw.const(op, ins[3], INT32, "bias") if len(ins) > 3 and ins[3] >= 0 else None
    y = lw.act(op, op.outputs[0], "output")
    if len(x.shape) != 4 or len(w.shape) != 4 or len(y.shape) != 4:
        lw.fail(op, f"needs 4-D input, filter and output, got {x.shape}, {w.shape}, {y.shape}")
    if [int(v) for v in out_shape.data.reshape(-1)] != list(y.shape):
        lw.fail(op, f"output_shape {out_shape.data.reshape(-1).tolist()} disagrees with the output "
                f"tensor's shape {y.shape}")
    n, ih, iw, ic = x.shape
    oc, kh, kw, wc = w.shape
    if wc != ic or y.shape[0] != n or y.shape[3] != oc:
        lw.fail(op, f"filter {w.shape} does not map input {x.shape} to output {y.shape}")
    sh = lw.opt(op, "stride_h", 1, Q.I16_MAX)
    sw = lw.opt(op, "stride_w", 1, Q.I16_MAX)
    pad = lw.opt(op, "padding", 0, 1)
    _, oh, ow, _ = y.shape
    back_h, ph = Q.compute_padding(pad, oh, kh, sh, 1)
    back_w, pw = Q.compute_padding(pad, ow, kw, sw, 1)
    if (back_h, back_w) != (ih, iw):
        lw.fail(op, f"output {y.shape} is not what stride {sh}x{sw} and filter {kh}x{kw} make of "
                f"input {x.shape}")
    if kh * kw * ic > Q.MAX_ACCUM_DEPTH:
        lw.fail(op, f"accumulates up to {kh * kw * ic} products per output, more than {Q.MAX_ACCUM_DEPTH}")
    xz, yz, mult, shift = per_channel_quant(lw, op, x, w, b, y, oc, 0)
    lo, hi = lw.activation(op, y)
    k = op.index
    m_name, s_name, w_name, b_name = lw.weight_arrays(k, mult, shift, w, b)
    params = lw.params("ek_conv_params_t", f"ek_p{k}", stride_h=sh, stride_w=sw, dilation_h=1,
                       dilation_w=1, pad_h=ph, pad_w=pw, depth_multiplier=1, input_offset=-xz,
                       output_offset=yz, act_min=lo, act_max=hi)
    ish = lw.shape_decl(f"ek_is{k}", x.shape)
    fsh = lw.shape_decl(f"ek_fs{k}", w.shape)
    osh = lw.shape_decl(f"ek_os{k}", y.shape)
    lw.scratch[k] = 4 * y.numel   # the int32 accumulator image, in every kernel variant
    lw.step(op, f"ek_transpose_conv_s8({params}, {m_name}, {s_name}, {ish}, {lw.ptr(x.index)}, {fsh}, "
                f"{w_name}, {b_name}, {osh}, {lw.ptr(y.index)}, (int32_t *)(ek_arena + @{{s{k}}}));",
            n * ih * iw * ic * kh * kw * oc, w.nbytes + (b.nbytes if b is not None else 0) + 8 * oc)

"""AVERAGE_POOL_2D and MAX_POOL_2D (int8), kernels in firmware/runtime/src/kernels/pooling.c."""

from __future__ import annotations

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register

POOL_OPTIONS = ((0, "padding", "<b", 0), (1, "stride_w", "<i", 0), (2, "stride_h", "<i", 0),
                (3, "filter_w", "<i", 0), (4, "filter_h", "<i", 0), (5, "activation", "<b", 0))


def lower_pool(lw, op, fn: str) -> None:
    ins = lw.inputs(op, 1, 1)
    x = lw.act(op, ins[0], "input")
    y = lw.act(op, op.outputs[0], "output")
    if len(x.shape) != 4 or len(y.shape) != 4:
        lw.fail(op, f"pooling needs 4-D tensors, got {x.shape} -> {y.shape}")
    lw.same_quant(op, x, y, "int8 pooling keeps its input's scale and zero point")
    n, ih, iw, c = x.shape
    sh = lw.opt(op, "stride_h", 1, Q.I16_MAX)
    sw = lw.opt(op, "stride_w", 1, Q.I16_MAX)
    fh = lw.opt(op, "filter_h", 1, Q.I16_MAX)
    fw = lw.opt(op, "filter_w", 1, Q.I16_MAX)
    pad = lw.opt(op, "padding", 0, 1)
    oh, ph = Q.compute_padding(pad, ih, fh, sh, 1)
    ow, pw = Q.compute_padding(pad, iw, fw, sw, 1)
    if [n, oh, ow, c] != list(y.shape) or oh < 1 or ow < 1:
        lw.fail(op, f"output shape {y.shape}, but the op computes {[n, oh, ow, c]}")
    if max(ph, pw) > Q.I16_MAX or fh * fw > Q.MAX_ACCUM_DEPTH:
        lw.fail(op, f"pooling window {fh}x{fw} is absurd")
    lo, hi = lw.activation(op, y)
    k = op.index
    params = lw.params("ek_pool_params_t", f"ek_p{k}", stride_h=sh, stride_w=sw, filter_h=fh,
                       filter_w=fw, pad_h=ph, pad_w=pw, act_min=lo, act_max=hi)
    ish = lw.shape_decl(f"ek_is{k}", x.shape)
    osh = lw.shape_decl(f"ek_os{k}", y.shape)
    lw.step(op, f"{fn}({params}, {ish}, {lw.ptr(x.index)}, {osh}, {lw.ptr(y.index)});")


@register("AVERAGE_POOL_2D", 1, types=("int8",), kernels=("pooling.c",), options=POOL_OPTIONS,
          options_type="Pool2DOptions")
def lower_average_pool_2d(lw, op) -> None:
    lower_pool(lw, op, "ek_avg_pool_s8")


@register("MAX_POOL_2D", 17, types=("int8",), kernels=("pooling.c",), options=POOL_OPTIONS,
          options_type="Pool2DOptions")
def lower_max_pool_2d(lw, op) -> None:
    lower_pool(lw, op, "ek_max_pool_s8")

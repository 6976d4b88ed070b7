"""CONV_2D (per-channel int8), kernels in firmware/runtime/src/kernels/conv.c (and schedule.c for the
in-place and fused memory schedules codegen.planner chooses). The lowering is shared with
DEPTHWISE_CONV_2D (ops/depthwise_conv_2d.py)."""

from __future__ import annotations

import numpy as np

from edgekit.codegen import planner as P
from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register
from edgekit.codegen.tflite_reader import INT8, INT32

CONV_OPTIONS = ((0, "padding", "<b", 0), (1, "stride_w", "<i", 0), (2, "stride_h", "<i", 0),
                (3, "activation", "<b", 0), (4, "dilation_w", "<i", 1), (5, "dilation_h", "<i", 1))


def padded_channels(out_channels: int) -> int:
    """The dsp conv kernel computes output channels three at a time (conv.c, mac_block)."""
    return -(-out_channels // 3) * 3


def scratch_bytes(kdepth: int, out_channels: int, window: bool, ring_bytes: int = 0) -> int:
    """Arena scratch of ek_conv2d_s8: the DSP kernel's interleaved int16 im2col rows of two
    pixels (each padded to a multiple of four), their int32 accumulators (output channels
    padded to a multiple of three) and, for a window wider than 1x1, one pixel's staged int8
    inputs and the ring of widened rows if it has one; or the Helium kernel's int8 row plus the
    int32 weight sums of the output channels, whichever is larger (the one formula; the C side
    only uses the space)."""
    k4 = (kdepth + 3) & ~3
    return max(4 * k4 + 8 * padded_channels(out_channels) + (k4 if window else 0) + ring_bytes,
               k4 + 4 * out_channels)


# The ring of widened input rows (conv.c, conv2d_dsp_ring): at most this many rows and bytes.
RING_MAX_ROWS = 16
RING_BUDGET = 8192


def ring_geometry(kh: int, kw: int, cin: int, sh: int, sw: int, dh: int, dw: int, ow: int) -> tuple[int, int]:
    """(rows, bytes) of the dsp conv's ring of widened input rows, (0, 0) where the layer keeps
    the staged im2col: a 1x1 window, dilation, an odd stride_w * cin (half the windows would
    start at an odd int16), a filter row of one word (im2col_rows4 reads it in place), or a
    ring over budget (and, decided by the caller, a batch other than 1 or an in-place or fused
    schedule). The ring holds a window's rows, and the next output row's as well where a
    pixel pair can straddle two rows (odd output width)."""
    if kh * kw == 1 or (dh, dw) != (1, 1) or (sw * cin) % 2 or kw * cin == 4:
        return 0, 0
    rows = kh + (sh if ow % 2 else 0)
    length = ((((ow - 1) * sw + kw) * cin) + 1) & ~1     # int16 a row: columns -pad_w on
    if rows > RING_MAX_ROWS or 2 * rows * length > RING_BUDGET:
        return 0, 0
    return rows, 2 * rows * length


def ring_tap_order(kh: int, kw: int, cin: int) -> np.ndarray:
    """The ring path's tap order (conv.c, ring_slot) as the K positions pack_filter_dsp takes,
    -1 for a zero: per filter row its kw*cin taps as consecutive pairs, then the odd rows' last
    taps paired across rows, then zero pairs up to K padded to a multiple of four. Tap pair t is
    (x0, x2) of its group of four for even t, (x1, x3) for odd t (SXTB16_LANES)."""
    run = kw * cin
    pairs = [(fy * run + 2 * j, fy * run + 2 * j + 1) for fy in range(kh) for j in range(run // 2)]
    if run % 2:
        last = [fy * run + run - 1 for fy in range(kh)] + ([-1] if kh % 2 else [])
        pairs += list(zip(last[0::2], last[1::2]))
    k4 = (kh * run + 3) & ~3
    pairs += [(-1, -1)] * (k4 // 2 - len(pairs))
    order = np.full(k4, -1, np.int64)
    for t, (a, b) in enumerate(pairs):
        at = 4 * (t // 2) + t % 2
        order[at], order[at + 2] = a, b
    return order


# Within each group of four taps the dsp kernels keep SXTB16's lane order: x0 x2 x1 x3, that is
# the tap pairs (x0, x2) and (x1, x3), one int16 pair each.
SXTB16_LANES = [0, 2, 1, 3]


def pack_filter_dsp(w: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """The dsp conv kernel's filter: int16, K = kh*kw*cin padded with zeros to a multiple of 4,
    output channels padded with zeros to a multiple of 3; per triple of output channels and
    tap pair, the three channels' two weights of that pair (SXTB16 lane order). The inner loop
    then reads one triple's weights sequentially and feeds them to SMLAD as loaded. `order`
    (ring_tap_order) puts the taps in another order first."""
    oc = w.shape[0]
    if order is not None:
        flat = np.concatenate([w.reshape(oc, -1), np.zeros((oc, 1), w.dtype)], axis=1)
        w = flat[:, order].reshape(oc, 1, 1, len(order))    # -1 picks the zero column
    K = int(np.prod(w.shape[1:]))
    k4, oc3 = (K + 3) & ~3, padded_channels(oc)
    f = np.zeros((oc3, k4), np.int16)
    f[:oc, :K] = w.reshape(oc, K)
    f = f.reshape(oc3, k4 // 4, 4)[:, :, SXTB16_LANES]
    return f.reshape(oc3 // 3, 3, k4 // 2, 2).transpose(0, 2, 1, 3).reshape(-1)


def fold_bias_dsp(bias: np.ndarray | None, w: np.ndarray, input_offset: int) -> np.ndarray:
    """bias + input_offset * sum(w) per output channel (padded to a multiple of 3), wrapped to
    int32 as the kernel's int32 accumulators wrap: sum w * (x + offset) = that + sum w * x, so
    the dsp kernel multiplies the raw int8 inputs (padding taps enter as the input zero point)."""
    oc = w.shape[0]
    acc = np.zeros(padded_channels(oc), np.int64)
    acc[:oc] = input_offset * w.reshape(oc, -1).astype(np.int64).sum(axis=1)
    if bias is not None:
        acc[:oc] += bias.astype(np.int64)
    return ((acc + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)


def pack_stream_dsp(packed: np.ndarray, folded_bias: np.ndarray, rq: np.ndarray) -> np.ndarray:
    """The dsp conv kernel's triple stream for a layer with short requantization (conv.c,
    mac_stream_rq): per triple of output channels, in the order the MAC loop's one pointer
    reads them, the three folded biases, the triple's weight words (pack_filter_dsp's, two
    int16 a word, the first in the low half) and the three channels' {M, h, r}. Bias, weights
    and requantization data then need no pointer of their own in the loop."""
    triples = len(folded_bias) // 3
    weights = np.ascontiguousarray(packed.astype("<i2")).view("<i4").reshape(triples, -1)
    rq_padded = np.zeros(3 * len(folded_bias), np.int64)
    rq_padded[:len(rq)] = rq
    return np.concatenate([folded_bias.reshape(triples, 3).astype(np.int64), weights.astype(np.int64),
                           rq_padded.reshape(triples, 9)], axis=1).reshape(-1).astype(np.int32)


def dsp_packed_arrays(lw, k: int, w, folded_bias: np.ndarray, w_name: str, b_name: str,
                      rq: np.ndarray | None = None, order: np.ndarray | None = None) -> tuple[str, str, str | None]:
    """The filter and bias arguments of a conv-like call k: the plain arrays, or the dsp
    build's packed filter and folded bias (picked by EK_DSP_PACKED_FILTER/EK_DSP_FOLDED_BIAS,
    kernels/conv.h: the dsp (not Helium) build reads them, every other build the plain arrays);
    and with `rq` (requant_short_params' data) the name of the triple stream (pack_stream_dsp)
    that replaces both, weights and bias doubled, so the kernel's accumulators are the 2 acc
    that requant_short takes (conv.c), with no shift per output.
    `order`: the filter's tap order (ring_tap_order), if not the im2col's."""
    if rq is None:
        wp = lw.const_array(pack_filter_dsp(w.data, order), "int16", name=f"ek_wp{k}", variant="dsp")
        bf = lw.const_array(folded_bias, "int32", name=f"ek_bf{k}", variant="dsp")
        return f"EK_DSP_PACKED_FILTER({w_name}, {wp})", f"EK_DSP_FOLDED_BIAS({b_name}, {bf})", None
    stream = pack_stream_dsp(2 * pack_filter_dsp(w.data, order), (2 * folded_bias.astype(np.int64)).astype(np.int32), rq)
    rs = lw.const_array(stream, "int32", name=f"ek_rs{k}", variant="dsp")
    return f"EK_DSP_PACKED_FILTER({w_name}, {rs})", f"EK_DSP_FOLDED_BIAS({b_name}, {rs})", rs


# The dsp conv kernel's products: |w * x| <= 128 * 128 for int8 weights and raw int8 inputs.
PRODUCT_BOUND_LOG2 = 14
SHORT_MAX_RIGHT_SHIFT = 22


def requant_short_params(folded_bias: np.ndarray, mult, shift, k4: int, output_zp: int,
                         act_min: int, act_max: int) -> np.ndarray | None:
    """The dsp conv kernel's one-SMMLAR requantization data, per output channel
    {M, 2^(r-1) + output_zp * 2^r, r} with r = -shift (conv.c, requant_short), or None where it
    would not be TFLM's value: a fused activation narrower than int8 (the short path only
    saturates), a left shift or a right shift past 22, a multiplier <= 0, or a bias so large
    that twice an accumulator could overflow (|acc| <= |folded bias| + k4 * 2^14 < 2^30 keeps
    2 acc, and srdhm(acc, M) + the addend, inside int32)."""
    if (act_min, act_max) != (-128, 127):
        return None
    oc = len(mult)
    m = np.asarray(mult, dtype=np.int64)
    r = -np.asarray(shift, dtype=np.int64)
    if (m <= 0).any() or (m >= 1 << 31).any() or (r < 1).any() or (r > SHORT_MAX_RIGHT_SHIFT).any():
        return None
    if (np.abs(folded_bias[:oc].astype(np.int64)) + (k4 << PRODUCT_BOUND_LOG2) >= 1 << 30).any():
        return None
    addend = (1 << (r - 1)) + output_zp * (1 << r)
    return np.stack([m, addend, r], axis=1).reshape(-1).astype(np.int32)


def per_channel_quant(lw, op, x, w, b, y, oc: int, qdim: int):
    """The checks and multipliers of a per-channel convolution (CONV_2D, DEPTHWISE_CONV_2D,
    TRANSPOSE_CONV): (input zero point, output zero point, multipliers, shifts)."""
    xs, xz = lw.per_tensor(op, x.index, "input")
    ys, yz = lw.per_tensor(op, y.index, "output")
    wq = w.quant
    if wq is None or len(wq.scale) not in (1, oc) or (len(wq.scale) > 1 and wq.quantized_dimension != qdim):
        lw.fail(op, f"filter {lw.tname(w.index)} needs 1 or {oc} scales along "
                f"dimension {qdim}", "quantize weights per channel or per tensor")
    if any(z != 0 for z in wq.zero_point):
        lw.fail(op, f"filter {lw.tname(w.index)} has non-zero zero points",
                "int8 weights must be symmetric (zero point 0)")
    if b is not None and b.numel != oc:
        lw.fail(op, f"bias {lw.tname(b.index)} has {b.numel} values for {oc} channels")
    mult, shift = Q.conv_multipliers(xs, wq.scale, ys, oc)
    return xz, yz, mult, shift


def lower_conv(lw, op, depthwise: bool, extra_params=None) -> None:
    """extra_params(lw, k, x, w, b, y, mult, shift, xz, yz, lo, hi, dm, kh, kw, dh, dw, stride): more
    kernel-parameter fields (DEPTHWISE_CONV_2D's pre-packed data, ops/depthwise_conv_2d.py);
    its "_work" entry, if any, is the least row-buffer size the op's in-place schedule gives it.
    CONV_2D's dsp build gets its packed filter, folded bias and, where it is exact, the short
    requantization's triple stream (requant_short_params, pack_stream_dsp)."""
    ins = lw.inputs(op, 2, 3)
    x = lw.act(op, ins[0], "input")
    w = lw.const(op, ins[1], INT8, "filter")
    b = lw.const(op, ins[2], INT32, "bias") if len(ins) > 2 and ins[2] >= 0 else None
    y = lw.act(op, op.outputs[0], "output")
    for t, what in ((x, "input"), (w, "filter"), (y, "output")):
        if len(t.shape) != 4:
            lw.fail(op, f"{what} {lw.tname(t.index)} has shape {t.shape}, expected 4-D")
    n, ih, iw, ic = x.shape
    if depthwise:
        one, kh, kw, oc = w.shape
        if one != 1:
            lw.fail(op, f"depthwise filter shape {w.shape} must be [1, H, W, C]")
        if oc % ic:
            lw.fail(op, f"output channels {oc} are not a multiple of input channels {ic}")
        dm = oc // ic
        dm_opt = int(op.options.get("depth_multiplier", 0))
        if dm_opt not in (0, dm):
            lw.fail(op, f"depth_multiplier {dm_opt} disagrees with filter shape {w.shape}")
        qdim = 3
    else:
        oc, kh, kw, wc = w.shape
        if wc != ic:
            lw.fail(op, f"filter {w.shape} expects {wc} input channels, input has {ic}",
                    "grouped convolutions are not supported")
        dm = 1
        qdim = 0
    sh = lw.opt(op, "stride_h", 1, Q.I16_MAX)
    sw = lw.opt(op, "stride_w", 1, Q.I16_MAX)
    dh = lw.opt(op, "dilation_h", 1, Q.I16_MAX)
    dw = lw.opt(op, "dilation_w", 1, Q.I16_MAX)
    pad = lw.opt(op, "padding", 0, 1)
    oh, ph = Q.compute_padding(pad, ih, kh, sh, dh)
    ow, pw = Q.compute_padding(pad, iw, kw, sw, dw)
    if [n, oh, ow, oc] != list(y.shape):
        lw.fail(op, f"output {lw.tname(y.index)} has shape {y.shape}, but the op "
                f"computes {[n, oh, ow, oc]}")
    if oh < 1 or ow < 1:
        lw.fail(op, "filter larger than its input with VALID padding")
    if max(ph, pw) > Q.I16_MAX:
        lw.fail(op, f"padding {max(ph, pw)} is absurd")
    if kh * kw * (1 if depthwise else ic) > Q.MAX_ACCUM_DEPTH:
        lw.fail(op, f"accumulates {kh * kw * (1 if depthwise else ic)} products per "
                f"output, more than int32 accumulators hold safely ({Q.MAX_ACCUM_DEPTH})")
    xz, yz, mult, shift = per_channel_quant(lw, op, x, w, b, y, oc, qdim)
    lo, hi = lw.activation(op, y)
    k = op.index
    m_name, s_name, w_name, b_name = lw.weight_arrays(k, mult, shift, w, b)
    extra = (extra_params(lw, k, x, w, b, y, mult, shift, xz, yz, lo, hi, dm, kh, kw, dh, dw, (sh, sw))
             if extra_params else {})
    min_work = extra.pop("_work", 0)
    sched = lw.schedule.get(k)
    if not depthwise:
        kdepth = kh * kw * ic
        folded_bias = fold_bias_dsp(b.data if b is not None else None, w.data, -xz)
        rq = requant_short_params(folded_bias, mult, shift, (kdepth + 3) & ~3, yz, lo, hi)
        ring, ring_bytes = (0, 0) if sched in (P.FUSED_INTO_NEXT, P.INPLACE) or n != 1 else \
            ring_geometry(kh, kw, ic, sh, sw, dh, dw, ow)
        if ring:
            extra["ring_rows"] = ring
        w_arg, b_arg, stream = dsp_packed_arrays(lw, k, w, folded_bias, w_name, b_name, rq=rq,
                                                 order=ring_tap_order(kh, kw, ic) if ring else None)
        if stream:
            extra["rq_stream"] = f"EK_DSP_RQ_STREAM({stream})"
    params = lw.params("ek_conv_params_t", f"ek_p{k}", stride_h=sh, stride_w=sw, dilation_h=dh,
                       dilation_w=dw, pad_h=ph, pad_w=pw, depth_multiplier=dm, input_offset=-xz,
                       output_offset=yz, act_min=lo, act_max=hi, **extra)
    ish = lw.shape_decl(f"ek_is{k}", x.shape)
    fsh = lw.shape_decl(f"ek_fs{k}", w.shape)
    # a fused 1x1 conv's output shape is the depthwise conv's input shape (declared there)
    osh = None if sched == P.FUSED_INTO_NEXT else lw.shape_decl(f"ek_os{k}", y.shape)
    weights = w.nbytes + (b.nbytes if b is not None else 0) + 8 * oc
    work = f"(int8_t *)(ek_arena + @{{w{k}}})"
    if depthwise:
        args = (f"{params}, {m_name}, {s_name}, {ish}, {lw.ptr(x.index)}, "
                f"{fsh}, {w_name}, {b_name}, {osh}")
        if sched == P.FUSED_WITH_PREV:
            f = lw.fused_conv
            lw.work[k] = ((kh - 1) * dh + 1) * iw * ic
            lw.scratch[k] = f["scratch"]
            lw.extra_reads.append((f["input"], k))
            call = (f"ek_conv1x1_depthwise_s8({f['args']}, {ish}, {params}, {m_name}, {s_name}, {fsh}, {w_name}, "
                    f"{b_name}, {osh}, {lw.ptr(y.index)}, {work}, EK_SCRATCH(ek_arena + @{{s{k}}}));")
        elif sched == P.INPLACE:
            lw.work[k] = max((ph + 1) * ow * oc, min_work)
            lw.alias[y.index] = x.index
            call = f"ek_depthwise_conv2d_s8_inplace({args}, {work});"
        else:
            call = f"ek_depthwise_conv2d_s8({args}, {lw.ptr(y.index)});"
        macs = n * oh * ow * oc * kh * kw
    else:
        scratch = scratch_bytes(kdepth, oc, window=kh * kw > 1, ring_bytes=ring_bytes)
        args = (f"{params}, {m_name}, {s_name}, {ish}, {lw.ptr(x.index)}, "
                f"{fsh}, {w_arg}, {b_arg}")
        if sched == P.FUSED_INTO_NEXT:
            lw.fused_conv = {"args": args, "scratch": scratch, "input": x.index}
            lw.virtual.add(y.index)
            call = "/* computed row by row inside the next op (ek_conv1x1_depthwise_s8) */"
        elif sched == P.INPLACE:
            lw.scratch[k] = scratch
            rows = P.inplace_rows(ow, oh)
            lw.work[k] = rows * ow * oc
            lw.alias[y.index] = x.index
            call = f"ek_conv2d_s8_inplace({args}, {osh}, {rows}, {work}, EK_SCRATCH(ek_arena + @{{s{k}}}));"
        else:
            lw.scratch[k] = scratch
            call = f"ek_conv2d_s8({args}, {osh}, {lw.ptr(y.index)}, EK_SCRATCH(ek_arena + @{{s{k}}}));"
        macs = n * oh * ow * oc * kdepth
    lw.step(op, call, macs, weights)


@register("CONV_2D", 3, types=("int8",), weights=("int8", "int32"), kernels=("conv.c", "schedule.c"),
          options=CONV_OPTIONS, options_type="Conv2DOptions")
def lower_conv_2d(lw, op) -> None:
    lower_conv(lw, op, depthwise=False)

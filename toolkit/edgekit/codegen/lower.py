"""Graph -> schedule of kernel calls, with full semantic validation.

Each operator is checked (tensor types, ranks, shapes against what the op computes from its
options, quantization parameters, option ranges) before any C is emitted: the generated code
never indexes outside the tensors it was planned for. Every rejection is a UserError naming
the operator, the tensor and the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from edgekit.codegen import quant as Q
from edgekit.codegen import planner as P
from edgekit.codegen.planner import Buffer
from edgekit.codegen.tflite_reader import FLOAT32, INT8, INT32, Graph, Operator, Tensor
from edgekit.errors import UserError

# TFLM's int8 MEAN: older releases divide plainly when input and output share quantization,
# newer ones always go through QuantizedMeanOrSum. The installed tflite-micro decides which
# one we must match; tests/codegen checks both cases against it.
MEAN_SAME_QUANT_PLAIN_DIVISION = False

I16_MAX = 32767
# int32 accumulators: 255 * 128 * depth must not overflow (TFLM has the same limit, silently).
MAX_ACCUM_DEPTH = 65000
MAX_ARENA_BYTES = 1 << 30


@dataclass
class Const:
    name: str
    ctype: str           # int8 | int32 | float32
    values: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.values.size) * self.values.dtype.itemsize


@dataclass
class Step:
    index: int
    op: str
    call: str
    macs: int
    out_shape: list[int]
    weights_bytes: int = 0
    activation_bytes: int = 0


@dataclass
class Lowered:
    steps: list[Step]
    consts: list[Const]
    static_decls: list[str]
    buffers: list[Buffer]
    buffer_of: dict[str, Buffer]
    input_tensor: Tensor
    output_tensor: Tensor
    input_buffer: str
    output_buffer: str

    @property
    def const_bytes(self) -> int:
        return sum(c.nbytes for c in self.consts)


def _shape4(shape: list[int]) -> list[int]:
    return [1] * (4 - len(shape)) + list(shape)


class _Lowerer:
    def __init__(self, g: Graph, where: str):
        self.g = g
        self.where = where
        self.consts: list[Const] = []
        self.const_names: dict[int, str] = {}
        self.decls: list[str] = []
        self.steps: list[Step] = []
        self.scratch: dict[int, int] = {}       # op index -> scratch bytes
        self.alias: dict[int, int] = {}         # tensor -> tensor whose memory it reuses
        # Memory schedules (planner.choose_schedules): in place, or a 1x1 expansion fused
        # into the depthwise conv after it (ek_schedule.h).
        self.schedule = P.choose_schedules(g)
        self.work: dict[int, int] = {}          # op index -> row-buffer bytes of its schedule
        self.virtual: set[int] = set()          # tensors never whole in memory (fused)
        self.extra_reads: list[tuple[int, int]] = []   # (tensor, op index) read by a fused op
        self.fused_conv: Optional[dict] = None  # the pending 1x1 conv's call arguments

    # -- helpers ----------------------------------------------------------------------------
    def fail(self, op: Optional[Operator], msg: str, fix: str = "") -> None:
        where = f"{self.where}: operator {op.index} ({op.name})" if op else self.where
        raise UserError(f"{where}: {msg}" + (f"; {fix}" if fix else ""))

    def t(self, i: int) -> Tensor:
        return self.g.tensors[i]

    def tname(self, i: int) -> str:
        t = self.t(i)
        return f"tensor {i} ('{t.name}')"

    def const(self, op: Operator, i: int, dtype: int, what: str) -> Tensor:
        t = self.t(i)
        if t.data is None:
            self.fail(op, f"{what} {self.tname(i)} must be a constant",
                      "edgekit-micro bakes weights into flash at build time")
        if t.type != dtype:
            self.fail(op, f"{what} {self.tname(i)} is {t.type_name}, expected "
                      f"{'int8' if dtype == INT8 else 'int32'}",
                      "quantize the model to full int8 (per-channel weights, int32 bias)")
        return t

    def const_array(self, values: np.ndarray, ctype: str, key: Optional[int] = None,
                    name: Optional[str] = None) -> str:
        if key is not None and key in self.const_names:
            return self.const_names[key]
        name = name or f"ek_c{len(self.consts)}"
        np_type = {"int8": np.int8, "int32": np.int32, "float32": np.float32}[ctype]
        self.consts.append(Const(name, ctype, np.ascontiguousarray(values, dtype=np_type)))
        if key is not None:
            self.const_names[key] = name
        return name

    def act(self, op: Operator, i: int, what: str, dtype: int = INT8) -> Tensor:
        t = self.t(i)
        if t.type != dtype:
            self.fail(op, f"{what} {self.tname(i)} is {t.type_name}, expected "
                      f"{'int8' if dtype == INT8 else 'float32'}",
                      "edgekit-micro runs full-int8 models (float only at QUANTIZE/DEQUANTIZE)")
        if dtype == INT8:
            self.per_tensor(op, i, what)
        return t

    def per_tensor(self, op: Operator, i: int, what: str) -> tuple[float, int]:
        t = self.t(i)
        if t.quant is None or len(t.quant.scale) != 1:
            self.fail(op, f"{what} {self.tname(i)} needs one (per-tensor) scale and zero point",
                      "convert with full-integer quantization")
        return t.quant.scale[0], t.quant.zero_point[0]

    def ptr(self, i: int, ctype: str = "int8_t") -> str:
        t = self.t(i)
        if t.data is not None:
            cname = {INT8: "int8", INT32: "int32", FLOAT32: "float32"}.get(t.type)
            if cname is None:
                raise UserError(f"{self.where}: constant {self.tname(i)} of type {t.type_name} "
                                f"is not supported as an operand")
            return self.const_array(t.data, cname, key=i)
        return f"({ctype} *)(ek_arena + @{{t{i}}})"

    def shape_decl(self, name: str, shape: list[int]) -> str:
        n, h, w, c = _shape4(shape)
        self.decls.append(f"static const ek_shape_t {name} = {{{n}, {h}, {w}, {c}}};")
        return f"&{name}"

    def inputs(self, op: Operator, n_min: int, n_max: int) -> list[int]:
        if not n_min <= len(op.inputs) <= n_max or len(op.outputs) != 1:
            self.fail(op, f"has {len(op.inputs)} inputs and {len(op.outputs)} outputs",
                      "the file does not follow the TFLite op definition")
        for k, i in enumerate(op.inputs[:n_min]):
            if i < 0:
                self.fail(op, f"required input {k} is missing")
        return op.inputs

    def opt(self, op: Operator, key: str, lo: int, hi: int) -> int:
        v = int(op.options.get(key, 0))
        if not lo <= v <= hi:
            self.fail(op, f"option {key} = {v} is outside [{lo}, {hi}]")
        return v

    def activation(self, op: Operator, out: Tensor) -> tuple[int, int]:
        a = int(op.options.get("activation", 0))
        if a not in (Q.ACT_NONE, Q.ACT_RELU, Q.ACT_RELU_N1_TO_1, Q.ACT_RELU6):
            self.fail(op, f"fused activation {a} is not supported",
                      "only NONE, RELU, RELU_N1_TO_1 and RELU6 can be fused")
        lo, hi = Q.activation_range(a, out.quant.scale[0], out.quant.zero_point[0])
        if lo > hi:
            self.fail(op, f"fused activation gives an empty output range [{lo}, {hi}]")
        return lo, hi

    def step(self, op: Operator, call: str, macs: int = 0, weights: int = 0) -> None:
        out = self.t(op.outputs[0])
        act_bytes = out.nbytes + sum(self.t(i).nbytes for i in op.inputs
                                     if i >= 0 and self.t(i).data is None)
        self.steps.append(Step(op.index, op.name, call, int(macs), list(out.shape),
                               int(weights), int(act_bytes)))

    # -- ops ----------------------------------------------------------------------------------
    def conv(self, op: Operator, depthwise: bool) -> None:
        ins = self.inputs(op, 2, 3)
        x = self.act(op, ins[0], "input")
        w = self.const(op, ins[1], INT8, "filter")
        b = self.const(op, ins[2], INT32, "bias") if len(ins) > 2 and ins[2] >= 0 else None
        y = self.act(op, op.outputs[0], "output")
        for t, what in ((x, "input"), (w, "filter"), (y, "output")):
            if len(t.shape) != 4:
                self.fail(op, f"{what} {self.tname(t.index)} has shape {t.shape}, expected 4-D")
        n, ih, iw, ic = x.shape
        if depthwise:
            one, kh, kw, oc = w.shape
            if one != 1:
                self.fail(op, f"depthwise filter shape {w.shape} must be [1, H, W, C]")
            if oc % ic:
                self.fail(op, f"output channels {oc} are not a multiple of input channels {ic}")
            dm = oc // ic
            dm_opt = int(op.options.get("depth_multiplier", 0))
            if dm_opt not in (0, dm):
                self.fail(op, f"depth_multiplier {dm_opt} disagrees with filter shape {w.shape}")
            qdim = 3
        else:
            oc, kh, kw, wc = w.shape
            if wc != ic:
                self.fail(op, f"filter {w.shape} expects {wc} input channels, input has {ic}",
                          "grouped convolutions are not supported")
            dm = 1
            qdim = 0
        sh = self.opt(op, "stride_h", 1, I16_MAX)
        sw = self.opt(op, "stride_w", 1, I16_MAX)
        dh = self.opt(op, "dilation_h", 1, I16_MAX)
        dw = self.opt(op, "dilation_w", 1, I16_MAX)
        pad = self.opt(op, "padding", 0, 1)
        oh, ph = Q.compute_padding(pad, ih, kh, sh, dh)
        ow, pw = Q.compute_padding(pad, iw, kw, sw, dw)
        if [n, oh, ow, oc] != list(y.shape):
            self.fail(op, f"output {self.tname(y.index)} has shape {y.shape}, but the op "
                      f"computes {[n, oh, ow, oc]}")
        if oh < 1 or ow < 1:
            self.fail(op, "filter larger than its input with VALID padding")
        if max(ph, pw) > I16_MAX:
            self.fail(op, f"padding {max(ph, pw)} is absurd")
        if kh * kw * (1 if depthwise else ic) > MAX_ACCUM_DEPTH:
            self.fail(op, f"accumulates {kh * kw * (1 if depthwise else ic)} products per "
                      f"output, more than int32 accumulators hold safely ({MAX_ACCUM_DEPTH})")
        xs, xz = self.per_tensor(op, x.index, "input")
        ys, yz = self.per_tensor(op, y.index, "output")
        wq = w.quant
        if wq is None or len(wq.scale) not in (1, oc) or (len(wq.scale) > 1 and wq.quantized_dimension != qdim):
            self.fail(op, f"filter {self.tname(w.index)} needs 1 or {oc} scales along "
                      f"dimension {qdim}", "quantize weights per channel or per tensor")
        if any(z != 0 for z in wq.zero_point):
            self.fail(op, f"filter {self.tname(w.index)} has non-zero zero points",
                      "int8 weights must be symmetric (zero point 0)")
        if b is not None and b.numel != oc:
            self.fail(op, f"bias {self.tname(b.index)} has {b.numel} values for {oc} channels")
        mult, shift = Q.conv_multipliers(xs, wq.scale, ys, oc)
        lo, hi = self.activation(op, y)
        k = op.index
        m_name = self.const_array(np.array(mult), "int32", name=f"ek_mult{k}")
        s_name = self.const_array(np.array(shift), "int32", name=f"ek_shift{k}")
        w_name = self.const_array(w.data, "int8", key=w.index)
        b_name = self.const_array(b.data, "int32", key=b.index) if b is not None else "NULL"
        self.decls.append(
            f"static const ek_conv_params_t ek_p{k} = {{{sh}, {sw}, {dh}, {dw}, {ph}, {pw}, {dm}, "
            f"{-xz}, {yz}, {lo}, {hi}}};")
        ish = self.shape_decl(f"ek_is{k}", x.shape)
        fsh = self.shape_decl(f"ek_fs{k}", w.shape)
        sched = self.schedule.get(k)
        # a fused 1x1 conv's output shape is the depthwise conv's input shape (declared there)
        osh = None if sched == P.FUSED_INTO_NEXT else self.shape_decl(f"ek_os{k}", y.shape)
        weights = w.nbytes + (b.nbytes if b is not None else 0) + 8 * oc
        work = f"(int8_t *)(ek_arena + @{{w{k}}})"
        if depthwise:
            args = (f"&ek_p{k}, {m_name}, {s_name}, {ish}, {self.ptr(x.index)}, "
                    f"{fsh}, {w_name}, {b_name}, {osh}")
            if sched == P.FUSED_WITH_PREV:
                f = self.fused_conv
                self.work[k] = ((kh - 1) * dh + 1) * iw * ic
                self.scratch[k] = f["scratch"]
                self.extra_reads.append((f["input"], k))
                call = (f"ek_conv1x1_depthwise_s8({f['args']}, {ish}, &ek_p{k}, {m_name}, {s_name}, {fsh}, {w_name}, "
                        f"{b_name}, {osh}, {self.ptr(y.index)}, {work}, EK_SCRATCH(ek_arena + @{{s{k}}}));")
            elif sched == P.INPLACE:
                self.work[k] = (ph + 1) * ow * oc
                self.alias[y.index] = x.index
                call = f"ek_depthwise_conv2d_s8_inplace({args}, {work});"
            else:
                call = f"ek_depthwise_conv2d_s8({args}, {self.ptr(y.index)});"
            macs = n * oh * ow * oc * kh * kw
        else:
            kdepth = kh * kw * ic
            # ek_conv2d_s8_scratch (int16 elements): DSP, two int16 im2col rows padded to a
            # multiple of 4; MVE, one int8 row and the int32 weight sums of the oc channels
            k4 = (kdepth + 3) & ~3
            scratch = 2 * max(2 * k4, (k4 + 4 * oc) // 2)
            args = (f"&ek_p{k}, {m_name}, {s_name}, {ish}, {self.ptr(x.index)}, "
                    f"{fsh}, {w_name}, {b_name}")
            if sched == P.FUSED_INTO_NEXT:
                self.fused_conv = {"args": args, "scratch": scratch, "input": x.index}
                self.virtual.add(y.index)
                call = "/* computed row by row inside the next op (ek_conv1x1_depthwise_s8) */"
            elif sched == P.INPLACE:
                self.scratch[k] = scratch
                rows = P.inplace_rows(ow, oh)
                self.work[k] = rows * ow * oc
                self.alias[y.index] = x.index
                call = f"ek_conv2d_s8_inplace({args}, {osh}, {rows}, {work}, EK_SCRATCH(ek_arena + @{{s{k}}}));"
            else:
                self.scratch[k] = scratch
                call = f"ek_conv2d_s8({args}, {osh}, {self.ptr(y.index)}, EK_SCRATCH(ek_arena + @{{s{k}}}));"
            macs = n * oh * ow * oc * kdepth
        self.step(op, call, macs, weights)

    def fully_connected(self, op: Operator) -> None:
        ins = self.inputs(op, 2, 3)
        x = self.act(op, ins[0], "input")
        w = self.const(op, ins[1], INT8, "weights")
        b = self.const(op, ins[2], INT32, "bias") if len(ins) > 2 and ins[2] >= 0 else None
        y = self.act(op, op.outputs[0], "output")
        self.opt(op, "weights_format", 0, 0)   # only DEFAULT (not shuffled) weights
        if len(w.shape) != 2:
            self.fail(op, f"weights {self.tname(w.index)} have shape {w.shape}, expected 2-D")
        units, depth = w.shape
        if x.numel % depth:
            self.fail(op, f"input of {x.numel} values is not a multiple of the weights' "
                      f"depth {depth}")
        rows = x.numel // depth
        if depth > MAX_ACCUM_DEPTH:
            self.fail(op, f"accumulation depth {depth} exceeds {MAX_ACCUM_DEPTH}")
        if y.numel != rows * units or y.shape[-1] != units:
            self.fail(op, f"output {self.tname(y.index)} has shape {y.shape}, expected "
                      f"{rows * units} values ending in {units}")
        if b is not None and b.numel != units:
            self.fail(op, f"bias {self.tname(b.index)} has {b.numel} values for {units} units")
        xs, xz = self.per_tensor(op, x.index, "input")
        ys, yz = self.per_tensor(op, y.index, "output")
        wq = w.quant
        if wq is None or len(wq.scale) not in (1, units) or (len(wq.scale) > 1 and wq.quantized_dimension != 0):
            self.fail(op, f"weights {self.tname(w.index)} need 1 or {units} scales")
        per_channel = len(wq.scale) > 1
        if per_channel:
            if any(z != 0 for z in wq.zero_point):
                self.fail(op, "per-channel weights must have zero point 0")
            mult, shift = Q.conv_multipliers(xs, wq.scale, ys, units)
            filter_offset = 0
        else:
            m, s = Q.fc_multiplier(xs, wq.scale[0], ys)
            mult, shift = [m], [s]
            filter_offset = -wq.zero_point[0]
        lo, hi = self.activation(op, y)
        k = op.index
        m_name = self.const_array(np.array(mult), "int32", name=f"ek_mult{k}")
        s_name = self.const_array(np.array(shift), "int32", name=f"ek_shift{k}")
        w_name = self.const_array(w.data, "int8", key=w.index)
        b_name = self.const_array(b.data, "int32", key=b.index) if b is not None else "NULL"
        self.decls.append(f"static const ek_fc_params_t ek_p{k} = {{{-xz}, {filter_offset}, {yz}, "
                          f"0, 0, {lo}, {hi}}};")
        self.scratch[k] = 2 * depth
        call = (f"ek_fully_connected_s8(&ek_p{k}, {m_name}, {s_name}, {int(per_channel)}, {rows}, "
                f"{depth}, {units}, {self.ptr(x.index)}, {w_name}, {b_name}, {self.ptr(y.index)}, "
                f"EK_SCRATCH(ek_arena + @{{s{k}}}));")
        self.step(op, call, rows * units * depth,
                  w.nbytes + (b.nbytes if b is not None else 0) + 4 * len(mult))

    def add(self, op: Operator) -> None:
        ins = self.inputs(op, 2, 2)
        a, b = self.t(ins[0]), self.t(ins[1])
        y = self.act(op, op.outputs[0], "output")
        for t in (a, b):
            if t.type != INT8:
                self.fail(op, f"input {self.tname(t.index)} is {t.type_name}, expected int8")
            self.per_tensor(op, t.index, "input")
        if list(a.shape) != list(b.shape) or list(a.shape) != list(y.shape):
            self.fail(op, f"shapes {a.shape} + {b.shape} -> {y.shape} need broadcasting",
                      "edgekit-micro's ADD takes equal shapes")
        p = Q.add_params(a.quant.scale[0], b.quant.scale[0], y.quant.scale[0])
        lo, hi = self.activation(op, y)
        k = op.index
        self.decls.append(
            f"static const ek_add_params_t ek_p{k} = {{{-a.quant.zero_point[0]}, "
            f"{-b.quant.zero_point[0]}, {y.quant.zero_point[0]}, {p['left_shift']}, "
            f"{p['input1_multiplier']}, {p['input1_shift']}, {p['input2_multiplier']}, "
            f"{p['input2_shift']}, {p['output_multiplier']}, {p['output_shift']}, {lo}, {hi}}};")
        self.step(op, f"ek_add_s8(&ek_p{k}, {y.numel}, {self.ptr(a.index)}, {self.ptr(b.index)}, "
                      f"{self.ptr(y.index)});")

    def pool(self, op: Operator, kind: str) -> None:
        ins = self.inputs(op, 1, 1)
        x = self.act(op, ins[0], "input")
        y = self.act(op, op.outputs[0], "output")
        if len(x.shape) != 4 or len(y.shape) != 4:
            self.fail(op, f"pooling needs 4-D tensors, got {x.shape} -> {y.shape}")
        if x.quant.scale[0] != y.quant.scale[0] or x.quant.zero_point[0] != y.quant.zero_point[0]:
            self.fail(op, "input and output quantization differ",
                      "int8 pooling keeps its input's scale and zero point")
        n, ih, iw, c = x.shape
        sh = self.opt(op, "stride_h", 1, I16_MAX)
        sw = self.opt(op, "stride_w", 1, I16_MAX)
        fh = self.opt(op, "filter_h", 1, I16_MAX)
        fw = self.opt(op, "filter_w", 1, I16_MAX)
        pad = self.opt(op, "padding", 0, 1)
        oh, ph = Q.compute_padding(pad, ih, fh, sh, 1)
        ow, pw = Q.compute_padding(pad, iw, fw, sw, 1)
        if [n, oh, ow, c] != list(y.shape) or oh < 1 or ow < 1:
            self.fail(op, f"output shape {y.shape}, but the op computes {[n, oh, ow, c]}")
        if max(ph, pw) > I16_MAX or fh * fw > MAX_ACCUM_DEPTH:
            self.fail(op, f"pooling window {fh}x{fw} is absurd")
        lo, hi = self.activation(op, y)
        k = op.index
        self.decls.append(f"static const ek_pool_params_t ek_p{k} = {{{sh}, {sw}, {fh}, {fw}, "
                          f"{ph}, {pw}, {lo}, {hi}}};")
        ish = self.shape_decl(f"ek_is{k}", x.shape)
        osh = self.shape_decl(f"ek_os{k}", y.shape)
        fn = "ek_avg_pool_s8" if kind == "avg" else "ek_max_pool_s8"
        self.step(op, f"{fn}(&ek_p{k}, {ish}, {self.ptr(x.index)}, {osh}, {self.ptr(y.index)});")

    def mean(self, op: Operator) -> None:
        ins = self.inputs(op, 2, 2)
        x = self.act(op, ins[0], "input")
        axis = self.const(op, ins[1], INT32, "axis")
        y = self.act(op, op.outputs[0], "output")
        if len(x.shape) != 4:
            self.fail(op, f"input shape {x.shape}: only 4-D MEAN over height and width is supported")
        axes = sorted({int(a) + 4 if a < 0 else int(a) for a in axis.data.reshape(-1)})
        if axes != [1, 2]:
            self.fail(op, f"reduces axes {axis.data.reshape(-1).tolist()}; only [1, 2] "
                      f"(global average pooling) is supported")
        n, _, _, c = x.shape
        if y.numel != n * c or y.shape[-1] != c:
            self.fail(op, f"output shape {y.shape} does not hold {n}x{c} means")
        xs, xz = self.per_tensor(op, x.index, "input")
        ys, yz = self.per_tensor(op, y.index, "output")
        mult, shift = Q.quantize_multiplier(Q.f32(xs) / Q.f32(ys))
        same = int(MEAN_SAME_QUANT_PLAIN_DIVISION and xs == ys and xz == yz)
        ish = self.shape_decl(f"ek_is{op.index}", x.shape)
        self.step(op, f"ek_mean_hw_s8({ish}, {self.ptr(x.index)}, {xz}, {yz}, {mult}, {shift}, "
                      f"{same}, {self.ptr(y.index)});")

    def softmax(self, op: Operator) -> None:
        ins = self.inputs(op, 1, 1)
        x = self.act(op, ins[0], "input")
        y = self.act(op, op.outputs[0], "output")
        if list(x.shape) != list(y.shape) or not x.shape:
            self.fail(op, f"input shape {x.shape} and output shape {y.shape} differ")
        if y.quant.zero_point[0] != -128 or np.float32(y.quant.scale[0]) != np.float32(1.0 / 256):
            self.fail(op, f"output quantization (scale {y.quant.scale[0]}, zero point "
                      f"{y.quant.zero_point[0]}) must be 1/256 and -128",
                      "the TFLite converter produces this for int8 softmax")
        beta = float(op.options.get("beta", 0.0))
        if not (math.isfinite(beta) and beta > 0):
            self.fail(op, f"beta {beta} must be finite and > 0")
        mult, left_shift, diff_min = Q.softmax_params(beta, x.quant.scale[0])
        if not 0 <= left_shift <= 31 or mult <= 0:
            self.fail(op, f"input scale {x.quant.scale[0]} x beta {beta} is out of range")
        depth = x.shape[-1]
        k = op.index
        self.decls.append(f"static const ek_softmax_params_t ek_p{k} = {{{mult}, {left_shift}, "
                          f"{diff_min}}};")
        self.step(op, f"ek_softmax_s8(&ek_p{k}, {x.numel // depth}, {depth}, {self.ptr(x.index)}, "
                      f"{self.ptr(y.index)});")

    def reshape(self, op: Operator) -> None:
        ins = self.inputs(op, 1, 2)
        x, y = self.t(ins[0]), self.t(op.outputs[0])
        if x.type != y.type or x.numel != y.numel:
            self.fail(op, f"{x.type_name}{x.shape} -> {y.type_name}{y.shape} changes the data")
        if x.type not in (INT8, FLOAT32):
            self.fail(op, f"tensor type {x.type_name} is not supported")
        if x.data is None:
            self.alias[y.index] = x.index   # same bytes: no copy, no memory
        self.step(op, f"ek_copy({x.nbytes}u, {self.ptr(x.index)}, {self.ptr(y.index)});")

    def pad(self, op: Operator, v2: bool) -> None:
        ins = self.inputs(op, 2, 3 if v2 else 2)
        x = self.act(op, ins[0], "input")
        pads = self.const(op, ins[1], INT32, "paddings")
        y = self.act(op, op.outputs[0], "output")
        r = len(x.shape)
        if pads.shape != [r, 2]:
            self.fail(op, f"paddings shape {pads.shape}, expected [{r}, 2]")
        pv = pads.data.reshape(r, 2).astype(np.int64)
        if (pv < 0).any() or (pv > I16_MAX).any():
            self.fail(op, f"paddings {pv.tolist()} must be in [0, {I16_MAX}]")
        want = [int(d + a + b) for d, (a, b) in zip(x.shape, pv)]
        if want != list(y.shape):
            self.fail(op, f"output shape {y.shape}, but padding gives {want}")
        if x.quant.scale[0] != y.quant.scale[0] or x.quant.zero_point[0] != y.quant.zero_point[0]:
            self.fail(op, "input and output quantization differ")
        value = y.quant.zero_point[0]
        if v2 and len(ins) > 2 and ins[2] >= 0:
            cv = self.const(op, ins[2], INT8, "constant_values")
            value = int(cv.data.reshape(-1)[0])
        pads4 = [[0, 0]] * (4 - r) + pv.tolist()
        k = op.index
        self.decls.append(f"static const int32_t ek_pads{k}[8] = "
                          f"{{{', '.join(str(int(v)) for p in pads4 for v in p)}}};")
        ish = self.shape_decl(f"ek_is{k}", x.shape)
        osh = self.shape_decl(f"ek_os{k}", y.shape)
        self.step(op, f"ek_pad_s8({ish}, {self.ptr(x.index)}, ek_pads{k}, {value}, {osh}, "
                      f"{self.ptr(y.index)});")

    def quantize(self, op: Operator) -> None:
        ins = self.inputs(op, 1, 1)
        x, y = self.t(ins[0]), self.act(op, op.outputs[0], "output")
        if x.numel != y.numel:
            self.fail(op, "input and output sizes differ")
        ys, yz = self.per_tensor(op, y.index, "output")
        if x.type == FLOAT32:
            self.step(op, f"ek_quantize_f32_s8({y.numel}, {self.ptr(x.index, 'float')}, "
                          f"{float(np.float32(ys))!r}f, {yz}, {self.ptr(y.index)});")
        elif x.type == INT8:
            xs, xz = self.per_tensor(op, x.index, "input")
            m, s = Q.quantize_multiplier(Q.f32(xs) / Q.f32(ys))
            self.step(op, f"ek_requantize_s8({y.numel}, {self.ptr(x.index)}, {xz}, {m}, {s}, "
                          f"{yz}, {self.ptr(y.index)});")
        else:
            self.fail(op, f"quantizes from {x.type_name}; only float32 and int8 inputs")

    def dequantize(self, op: Operator) -> None:
        ins = self.inputs(op, 1, 1)
        x = self.act(op, ins[0], "input")
        y = self.act(op, op.outputs[0], "output", FLOAT32)
        if x.numel != y.numel:
            self.fail(op, "input and output sizes differ")
        xs, xz = self.per_tensor(op, x.index, "input")
        self.step(op, f"ek_dequantize_s8_f32({x.numel}, {self.ptr(x.index)}, {Q.f32(xs)!r}, {xz}, "
                      f"{self.ptr(y.index, 'float')});")

    # -- graph ---------------------------------------------------------------------------------
    def run(self) -> Lowered:
        g = self.g
        if len(g.inputs) != 1 or len(g.outputs) != 1:
            raise UserError(f"{self.where}: the model has {len(g.inputs)} inputs and "
                            f"{len(g.outputs)} outputs; edgekit-micro supports exactly one each")
        gin, gout = self.t(g.inputs[0]), self.t(g.outputs[0])
        for t, what in ((gin, "input"), (gout, "output")):
            if t.data is not None:
                raise UserError(f"{self.where}: model {what} {self.tname(t.index)} is a constant")
            if t.type not in (INT8, FLOAT32):
                raise UserError(f"{self.where}: model {what} {self.tname(t.index)} is "
                                f"{t.type_name}; int8 or float32 expected")
        if not g.operators:
            raise UserError(f"{self.where}: the model has no operators")
        produced = {gin.index: -1}
        last_use: dict[int, int] = {}
        dispatch = {
            "CONV_2D": lambda op: self.conv(op, False),
            "DEPTHWISE_CONV_2D": lambda op: self.conv(op, True),
            "FULLY_CONNECTED": self.fully_connected, "ADD": self.add,
            "AVERAGE_POOL_2D": lambda op: self.pool(op, "avg"),
            "MAX_POOL_2D": lambda op: self.pool(op, "max"),
            "MEAN": self.mean, "SOFTMAX": self.softmax, "RESHAPE": self.reshape,
            "PAD": lambda op: self.pad(op, False), "PADV2": lambda op: self.pad(op, True),
            "QUANTIZE": self.quantize, "DEQUANTIZE": self.dequantize,
        }
        for step_no, op in enumerate(g.operators):
            fn = dispatch.get(op.name)
            if fn is None:
                self.fail(op, "is not implemented by edgekit-micro",
                          f"supported ops: {', '.join(sorted(dispatch))}")
            for i in op.inputs:
                if i < 0:
                    continue
                if self.t(i).data is None:
                    if i not in produced:
                        self.fail(op, f"reads {self.tname(i)} before any operator writes it")
                    last_use[i] = step_no
            for i in op.outputs:
                if self.t(i).data is not None:
                    self.fail(op, f"writes into constant {self.tname(i)}")
                if i in produced:
                    self.fail(op, f"writes {self.tname(i)}, which is already written")
                produced[i] = step_no
            fn(op)
        if gout.index not in produced or produced[gout.index] < 0:
            raise UserError(f"{self.where}: no operator writes the model output "
                            f"{self.tname(gout.index)}")
        n_steps = len(g.operators)
        last_use[gout.index] = n_steps
        step_of = {op.index: n for n, op in enumerate(g.operators)}
        for i, k in self.extra_reads:   # a fused op reads the 1x1 conv's input
            last_use[i] = max(last_use.get(i, -1), step_of[k])

        # Merge aliased tensors into one buffer; then in-place ADD where safe.
        root: dict[int, int] = {}

        def find(i: int) -> int:
            while i in root:
                i = root[i]
            return i

        for y, x in self.alias.items():
            root[y] = find(x)
        span: dict[int, list[int]] = {}
        size: dict[int, int] = {}
        for i, first in produced.items():
            r = find(i)
            last = last_use.get(i, first)
            s = span.setdefault(r, [first, last])
            s[0], s[1] = min(s[0], first), max(s[1], last)
            size[r] = max(size.get(r, 0), 0 if i in self.virtual else self.t(i).nbytes)
        gin_root, gout_root = find(gin.index), find(gout.index)
        for step_no, op in enumerate(g.operators):
            if op.name != "ADD":
                continue
            y = op.outputs[0]
            for i in op.inputs:
                if self.t(i).data is not None:
                    continue
                r = find(i)
                if r in (gin_root,) or span[r][1] != step_no or size[r] != self.t(y).nbytes:
                    continue
                if find(y) == r:
                    break
                # Element i is read before it is written: writing over an input that dies here is safe.
                yr = find(y)
                root[yr] = r
                span[r] = [min(span[r][0], span[yr][0]), max(span[r][1], span[yr][1])]
                size[r] = max(size[r], size.pop(yr))
                span.pop(yr)
                break
        buffers: dict[int, Buffer] = {}
        for r, (first, last) in span.items():
            buffers[r] = Buffer(f"t{r}", size[r], first, last)
        buffer_of: dict[str, Buffer] = {f"t{i}": buffers[find(i)] for i in produced}
        for prefix, per_op in (("s", self.scratch), ("w", self.work)):
            for k, nbytes in per_op.items():
                b = Buffer(f"{prefix}{k}", nbytes, step_of[k], step_of[k])
                buffers[(prefix, k)] = b
                buffer_of[f"{prefix}{k}"] = b
        return Lowered(self.steps, self.consts, self.decls, list(buffers.values()), buffer_of,
                       gin, gout, f"t{gin.index}", f"t{gout.index}")


def lower(g: Graph, where: str) -> Lowered:
    return _Lowerer(g, where).run()

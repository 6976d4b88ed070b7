"""Graph -> schedule of kernel calls, with full semantic validation.

The ops themselves are in the op registry (codegen/ops/, one module per op; see
docs/ARCHITECTURE.md): this module holds what every lowering shares (the Lowerer's helpers)
and the graph walk. Each operator is checked (tensor types, ranks, shapes against what the op computes from its
options, quantization parameters, option ranges) before any C is emitted: the generated code
never indexes outside the tensors it was planned for. Every rejection is a UserError naming
the operator, the tensor and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from edgekit.codegen import quant as Q
from edgekit.codegen import planner as P
from edgekit.codegen.ops import REGISTRY
from edgekit.codegen.planner import Buffer
from edgekit.codegen.tflite_reader import FLOAT32, INT8, INT32, Graph, Operator, Tensor
from edgekit.errors import UserError

MAX_ARENA_BYTES = 1 << 30


@dataclass
class Const:
    name: str
    ctype: str           # int8 | int16 | int32 | float32
    values: np.ndarray
    # "dsp": an alternative layout only the dsp kernels link (e.g. conv's pre-packed weights);
    # the linker's --gc-sections drops whichever of a pair the build does not reference.
    variant: str = ""

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
        """The plain (reference kernels') constant data; a dsp build links the "dsp" variants
        in place of some (the link map measures what each build holds)."""
        return sum(c.nbytes for c in self.consts if not c.variant)

    @property
    def kernel_headers(self) -> list[str]:
        """The kernel headers model.c includes: those of the ops it calls (the op registry
        names each op's kernel files; their headers sit beside them), in a stable order."""
        return sorted({h for s in self.steps for h in REGISTRY[s.op].headers})


def _shape4(shape: list[int]) -> list[int]:
    return [1] * (4 - len(shape)) + list(shape)


class Lowerer:
    """The state of one lowering and the helpers every op's lowering (codegen/ops/) uses."""

    def __init__(self, g: Graph, where: str, unfused: frozenset = frozenset()):
        self.g = g
        self.where = where
        self.consts: list[Const] = []
        self.const_names: dict[int, str] = {}
        self.decls: list[str] = []
        self.steps: list[Step] = []
        self.scratch: dict[int, int] = {}       # op index -> scratch bytes
        self.alias: dict[int, int] = {}         # tensor -> tensor whose memory it reuses
        # Memory schedules (planner.choose_schedules): in place, or a 1x1 expansion fused
        # into the depthwise conv after it (src/kernels/schedule.h).
        self.schedule = P.choose_schedules(g, unfused)
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
                    name: Optional[str] = None, variant: str = "") -> str:
        if key is not None and key in self.const_names:
            return self.const_names[key]
        name = name or f"ek_c{len(self.consts)}"
        np_type = {"int8": np.int8, "int16": np.int16, "int32": np.int32, "float32": np.float32}[ctype]
        self.consts.append(Const(name, ctype, np.ascontiguousarray(values, dtype=np_type), variant))
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

    def params(self, ctype: str, name: str, **fields) -> str:
        """A static const kernel-parameter struct with designated initializers (so the
        generated code does not depend on the field order in the kernel's header); returns &name."""
        body = ", ".join(f".{k} = {v if isinstance(v, str) else int(v)}" for k, v in fields.items())
        self.decls.append(f"static const {ctype} {name} = {{{body}}};")
        return f"&{name}"

    def same_quant(self, op: Operator, x: Tensor, y: Tensor, fix: str = "") -> None:
        if x.quant.scale[0] != y.quant.scale[0] or x.quant.zero_point[0] != y.quant.zero_point[0]:
            self.fail(op, "input and output quantization differ", fix)

    def unary(self, op: Operator) -> tuple[Tensor, Tensor]:
        """The int8 input and output of a one-input element-wise op (same element count)."""
        ins = self.inputs(op, 1, 1)
        x = self.act(op, ins[0], "input")
        y = self.act(op, op.outputs[0], "output")
        if x.numel != y.numel:
            self.fail(op, f"input shape {x.shape} and output shape {y.shape} differ")
        return x, y

    def weight_arrays(self, k: int, mult, shift, w: Tensor, b: Optional[Tensor]) -> tuple[str, str, str, str]:
        """The const arrays of a weighted op k (conv, fully connected): per-channel multipliers
        and shifts, weights, bias (or NULL)."""
        m_name = self.const_array(np.array(mult), "int32", name=f"ek_mult{k}")
        s_name = self.const_array(np.array(shift), "int32", name=f"ek_shift{k}")
        w_name = self.const_array(w.data, "int8", key=w.index)
        b_name = self.const_array(b.data, "int32", key=b.index) if b is not None else "NULL"
        return m_name, s_name, w_name, b_name

    def step(self, op: Operator, call: str, macs: int = 0, weights: int = 0) -> None:
        out = self.t(op.outputs[0])
        act_bytes = out.nbytes + sum(self.t(i).nbytes for i in op.inputs
                                     if i >= 0 and self.t(i).data is None)
        self.steps.append(Step(op.index, op.name, call, int(macs), list(out.shape),
                               int(weights), int(act_bytes)))

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
        for step_no, op in enumerate(g.operators):
            spec = REGISTRY.get(op.name)
            if spec is None:
                self.fail(op, "is not implemented by edgekit-micro",
                          f"supported ops: {', '.join(sorted(REGISTRY))}")
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
            spec.lower(self, op)
        if gout.index not in produced or produced[gout.index] < 0:
            raise UserError(f"{self.where}: no operator writes the model output "
                            f"{self.tname(gout.index)}")
        n_steps = len(g.operators)
        last_use[gout.index] = n_steps
        step_of = {op.index: n for n, op in enumerate(g.operators)}
        for i, k in self.extra_reads:   # a fused op reads the 1x1 conv's input
            last_use[i] = max(last_use.get(i, -1), step_of[k])

        # Merge aliased tensors into one buffer; then in-place element-wise ops where safe.
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
            if not REGISTRY[op.name].inplace:
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
    """The model lowered with the memory schedules that keep its planned peak: a fused 1x1
    expansion saves memory only where its expanded tensor would set the peak, and the two ops
    run faster apart (the depthwise conv then takes its own in-place kernels), so each fusion
    that does not lower the peak is undone (in graph order, each trial planned whole)."""
    lowered = Lowerer(g, where).run()
    peak = P.plan(lowered.buffers)
    unfused: frozenset = frozenset()
    for k in sorted(op for op, s in P.choose_schedules(g).items() if s == P.FUSED_INTO_NEXT):
        trial = Lowerer(g, where, unfused | {k}).run()
        if P.plan(trial.buffers) <= peak:
            lowered, unfused = trial, unfused | {k}
    return lowered

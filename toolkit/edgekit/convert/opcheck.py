"""Op coverage: every op of a .tflite, with its tensor types, against a runtime's supported list.

The lists are data, one file per runtime: targets/runtimes/<runtime>.yaml (see edgekit-micro.yaml
for the format). `check_ops` is run on the float twin before quantizing (with the activation
type the int8/16x8 model will have) and again on the quantized model, so an unsupported op is
reported before anything is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from edgekit import resources
from edgekit.errors import UserError
from edgekit.yamlio import read_yaml_mapping


@dataclass(frozen=True)
class RuntimeOps:
    name: str
    description: str
    ops: dict[str, dict]  # op name -> {"types": [...], "weights": [...]}
    unsupported_is_error: bool
    what_to_do: str
    onnx_ops: tuple[str, ...] = ()
    path: Optional[Path] = None

    @property
    def activation_types(self) -> tuple[str, ...]:
        """The quantized activation types some op of the list takes as such ("int8"; neither a
        type change such as "float32->int8" nor a float32 RESHAPE counts): all a target profile
        of this runtime may claim in runtime.activations."""
        return tuple(sorted({str(t) for e in self.ops.values() for t in e["types"]
                             if str(t).startswith("int") and "->" not in str(t)}))


@dataclass
class OpUse:
    """One operator of the model as the runtime sees it."""

    index: int
    op: str
    layer: str  # the Keras layer(s) the op came from, from the output tensor's name
    signature: str  # activation types: "int8", or "float32->int8" for type-changing ops
    weights: list[str]  # dtypes of constant inputs
    supported: bool = True
    problem: Optional[str] = None


@dataclass
class OpCheckResult:
    runtime: str
    target: str
    ops: list[OpUse]
    unsupported: list[OpUse] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unsupported


def runtimes_dir() -> Path:
    return resources.targets_dir() / "runtimes"


def load_runtime(runtime_name: str) -> RuntimeOps:
    path = runtimes_dir() / f"{runtime_name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in runtimes_dir().glob("*.yaml"))) or "none"
        raise UserError(f"{path}: no op list for runtime '{runtime_name}'; known runtimes: {known}")
    raw = read_yaml_mapping(path)
    ops = raw.get("ops")
    if ops == "codegen-registry":
        # edgekit-micro: the op list is what its code generator accepts (codegen/ops/), not a copy
        from edgekit.codegen.ops import runtime_op_list
        ops = runtime_op_list()
    if not isinstance(ops, dict) or not ops:
        raise UserError(f"{path}: ops: must map op names to {{types: [...]}}; see edgekit-micro.yaml")
    for name, entry in ops.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("types"), list):
            raise UserError(f"{path}: ops.{name}: needs a 'types' list, e.g. {{types: [int8]}}")
    return RuntimeOps(name=str(raw.get("runtime", runtime_name)), description=str(raw.get("description", "")),
                      ops=ops, unsupported_is_error=bool(raw.get("unsupported_is_error", True)),
                      what_to_do=" ".join(str(raw.get("what_to_do", "")).split()),
                      onnx_ops=tuple(raw.get("onnx_ops", []) or ()), path=path)


def check_profile_activations(target) -> None:
    """UserError naming runtime.activations when `target` claims an activation type its runtime's
    op list has no op for (edgekit-micro: int16 while the code generator takes int8 only). A
    runtime without an op list (a third-party backend that ships none) is not checked."""
    name = target.runtime.name
    if not (runtimes_dir() / f"{name}.yaml").is_file():
        return
    rt = load_runtime(name)
    extra = [a for a in target.runtime.activations if a not in rt.activation_types]
    if extra:
        raise UserError(f"target {target.name}: runtime.activations: runtime '{name}' has no op taking "
                        f"{', '.join(extra)} activations (its op list, {rt.path}, takes "
                        f"{', '.join(rt.activation_types)}); list only those")


def layer_name(tensor_name: str) -> str:
    """'model/re_lu_1/Relu;model/conv2d_1/convolution' -> 'conv2d_1+re_lu_1' (the Keras layers)."""
    names: list[str] = []
    for part in tensor_name.split(";"):
        segs = [s for s in part.split("/") if s]
        if not segs:
            continue
        n = segs[1] if len(segs) >= 2 else segs[0]  # segs[0] is the model's own name
        if n not in names:
            names.append(n)
    if not names or (len(names) == 1 and ("StatefulPartitionedCall" in names[0] or ":" in names[0])):
        return "output"  # the graph's output tensor carries the signature's name, not a layer's
    return "+".join(reversed(names))


def list_ops(tflite: Path | bytes, float_as: Optional[str] = None) -> list[OpUse]:
    """The model's ops with their type signatures. float_as: read float32 activations as this
    type (to check a float twin against what quantization will make of it)."""
    from edgekit.interpreters import InterpreterError, litert_interpreter

    try:
        it = litert_interpreter(tflite, reference=False)
    except InterpreterError as exc:
        src = tflite if isinstance(tflite, Path) else "model"
        raise UserError(f"{src}: not a readable .tflite model ({exc}); re-export it") from None
    td = it.get_tensor_details()
    ops = it._get_ops_details()
    produced = {int(o) for op in ops for o in op["outputs"] if o >= 0}
    graph_inputs = {int(d["index"]) for d in it.get_input_details()}

    def dt(i: int) -> str:
        name = np.dtype(td[i]["dtype"]).name
        return float_as if (float_as and name == "float32") else name

    uses = []
    for k, op in enumerate(ops):
        ins = [int(i) for i in op["inputs"] if i >= 0]
        acts = [i for i in ins if i in produced or i in graph_inputs]
        consts = [i for i in ins if i not in acts]
        outs = [int(o) for o in op["outputs"] if o >= 0]
        a_in = dt(acts[0]) if acts else None
        a_out = dt(outs[0]) if outs else None
        if float_as and op["op_name"] in ("QUANTIZE", "DEQUANTIZE"):
            a_in, a_out = np.dtype(td[acts[0]]["dtype"]).name, np.dtype(td[outs[0]]["dtype"]).name
        sig = a_in if (a_in == a_out or a_out is None) else a_out if a_in is None else f"{a_in}->{a_out}"
        weights = sorted({dt(i) for i in consts})
        if float_as:  # the quantizer turns float bias into int32 (int64 in 16x8 mode)
            weights = sorted({"int8" if w == float_as else w for w in weights})
        uses.append(OpUse(index=k, op=op["op_name"], layer=layer_name(td[outs[0]]["name"]) if outs else "",
                          signature=str(sig), weights=weights))
    return uses


def check_op_uses(uses: list[OpUse], runtime: RuntimeOps, target_name: str) -> OpCheckResult:
    res = OpCheckResult(runtime=runtime.name, target=target_name, ops=uses)
    for u in uses:
        entry = runtime.ops.get(u.op)
        if entry is None:
            u.supported, u.problem = False, f"op {u.op} is not in the {runtime.name} op list"
        elif u.signature not in [str(t) for t in entry["types"]]:
            u.supported = False
            u.problem = (f"op {u.op} with {u.signature} tensors is not supported by {runtime.name} "
                         f"(it takes {', '.join(map(str, entry['types']))})")
        elif "weights" in entry and any(w not in entry["weights"] for w in u.weights):
            bad = [w for w in u.weights if w not in entry["weights"]]
            u.supported = False
            u.problem = f"op {u.op} with {'/'.join(bad)} constants is not supported by {runtime.name}"
        if not u.supported:
            res.unsupported.append(u)
    if res.unsupported and not runtime.unsupported_is_error:
        res.warnings = [f"layer {u.layer}: {u.problem}; {runtime.what_to_do}" for u in res.unsupported]
    return res


def unsupported_error(res: OpCheckResult, runtime: RuntimeOps, source: str) -> UserError:
    parts = "; ".join(f"layer '{u.layer}': {u.problem}" for u in res.unsupported[:5])
    more = f" (and {len(res.unsupported) - 5} more)" if len(res.unsupported) > 5 else ""
    return UserError(f"{source}: target '{res.target}' (runtime {runtime.name}) cannot run this model: "
                     f"{parts}{more}; {runtime.what_to_do}")


def check_ops(tflite_path: Path | bytes, runtime_name: str, target_name: str,
              float_as: Optional[str] = None, raise_on_unsupported: bool = True) -> OpCheckResult:
    """Check every op (and its tensor types) of a .tflite against the runtime's op list.

    Raises one UserError naming the ops, layers and target when the runtime cannot run the
    model (and raise_on_unsupported); runtimes that fall back to a CPU give warnings instead.
    """
    runtime = load_runtime(runtime_name)
    res = check_op_uses(list_ops(tflite_path, float_as=float_as), runtime, target_name)
    if res.unsupported and runtime.unsupported_is_error and raise_on_unsupported:
        src = str(tflite_path) if isinstance(tflite_path, Path) else "model"
        raise unsupported_error(res, runtime, src)
    return res


def check_onnx_ops(onnx_path: Path, runtime_name: str, target_name: str) -> OpCheckResult:
    """ONNX models (NPU targets only): op types against the runtime's onnx_ops list."""
    import onnx

    runtime = load_runtime(runtime_name)
    if not runtime.onnx_ops:
        raise UserError(f"{onnx_path}: runtime {runtime_name} of target '{target_name}' takes no ONNX models; "
                        f"give a Keras, SavedModel or .tflite model")
    model = onnx.load(str(onnx_path))
    uses = []
    for k, node in enumerate(model.graph.node):
        ok = node.op_type in runtime.onnx_ops
        uses.append(OpUse(index=k, op=node.op_type, layer=node.name or node.output[0], signature="onnx",
                          weights=[], supported=ok,
                          problem=None if ok else f"op {node.op_type} is not in the {runtime.name} op list"))
    res = OpCheckResult(runtime=runtime.name, target=target_name, ops=uses,
                        unsupported=[u for u in uses if not u.supported])
    if res.unsupported:
        if runtime.unsupported_is_error:
            raise unsupported_error(res, runtime, str(onnx_path))
        res.warnings = [f"layer {u.layer}: {u.problem}; {runtime.what_to_do}" for u in res.unsupported]
    return res

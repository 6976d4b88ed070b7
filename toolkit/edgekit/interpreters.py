"""Reference interpreters for quantized .tflite models: the golden outputs of the project.

Two independent implementations of TFLite's reference kernels, which must agree bit for bit:

- LiteRT with OpResolverType.BUILTIN_REF (never its default resolver: XNNPACK is not
  bit-exact, tens of LSB apart on MobileNetV2);
- the tflite-micro Python interpreter, always in a subprocess, because on some models it
  aborts the whole process instead of raising.

Inputs are already quantized ([N, *input_shape[1:]] in the model's input dtype); outputs are
[N, *output_shape[1:]] in the model's output dtype. Models have batch 1: samples run one by one.

The subprocess side is this module run as `python -m edgekit.interpreters <command> ...`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

# LiteRT and TF log through absl/glog on stderr; keep tool output readable.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class InterpreterError(RuntimeError):
    """A reference interpreter could not load or run a model (crash, abort, bad model)."""


@dataclass(frozen=True)
class TensorQuant:
    """How a model's input or output tensor is quantized: real = scale * (q - zero_point)."""

    dtype: str
    shape: tuple[int, ...]
    scale: float
    zero_point: int

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """float -> the tensor's integer type, rounding half away from zero as TFLite does."""
        dt = np.dtype(self.dtype)
        if dt.kind == "f":
            return np.asarray(x, dtype=dt)
        info = np.iinfo(dt)
        v = np.asarray(x, dtype=np.float64) / self.scale
        q = np.sign(v) * np.floor(np.abs(v) + 0.5) + self.zero_point  # std::round, not numpy's half-to-even
        return np.clip(q, info.min, info.max).astype(dt)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        if np.dtype(self.dtype).kind == "f":
            return np.asarray(q, dtype=np.float32)
        return ((np.asarray(q, dtype=np.float32) - self.zero_point) * self.scale).astype(np.float32)


def _quant_from_details(d: dict) -> TensorQuant:
    qp = d.get("quantization_parameters") or {}
    scales = qp.get("scales")
    zps = qp.get("zero_points")
    scale = float(scales[0]) if scales is not None and len(scales) else float(d.get("quantization", (0.0, 0))[0])
    zp = int(zps[0]) if zps is not None and len(zps) else int(d.get("quantization", (0.0, 0))[1])
    return TensorQuant(np.dtype(d["dtype"]).name, tuple(int(s) for s in d["shape"]), scale, zp)


def litert_interpreter(tflite_path: Path | bytes, reference: bool = True, preserve_all_tensors: bool = False):
    """A LiteRT interpreter, allocated. reference=True: BUILTIN_REF kernels (golden);
    False: optimized builtin kernels without XNNPACK (for float models)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_REF if reference else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    kw = {"model_content": bytes(tflite_path)} if isinstance(tflite_path, (bytes, bytearray)) else {"model_path": str(tflite_path)}
    try:
        it = Interpreter(**kw, experimental_op_resolver_type=resolver,
                         experimental_preserve_all_tensors=preserve_all_tensors)
        if reference:
            _guard_reference_softmax(it)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise InterpreterError(f"LiteRT cannot load the model: {exc}".splitlines()[0]) from None
    return it


# LiteRT's reference SOFTMAX aborts the process (TFLITE_CHECK in PreprocessSoftmaxScaling)
# when beta * input_scale * 2^26 <= 1; catch that before it takes Python down with it.
_SOFTMAX_MIN_INPUT_SCALE = 2.0 ** -26


def _guard_reference_softmax(it) -> None:
    td = it.get_tensor_details()
    for op in it._get_ops_details():
        if op["op_name"] != "SOFTMAX":
            continue
        t = td[op["inputs"][0]]
        scale = float(t["quantization"][0])
        if np.dtype(t["dtype"]).kind == "i" and 0 < scale <= _SOFTMAX_MIN_INPUT_SCALE:
            raise InterpreterError(
                f"SOFTMAX input '{t['name']}' has quantization scale {scale:.3g}, too small for the "
                f"reference kernels (needs > 2^-26): the logits are nearly constant; is the model trained?")


def io_quant(tflite_path: Path | bytes) -> tuple[TensorQuant, TensorQuant]:
    """(input, output) quantization of a single-input, single-output model."""
    it = litert_interpreter(tflite_path)
    return _quant_from_details(it.get_input_details()[0]), _quant_from_details(it.get_output_details()[0])


def _check_batch(x: np.ndarray, in_detail: dict) -> np.ndarray:
    want = tuple(int(s) for s in in_detail["shape"][1:])
    x = np.asarray(x)
    if x.ndim == len(want):  # a single sample
        x = x[None]
    if tuple(x.shape[1:]) != want:
        raise ValueError(f"input samples have shape {tuple(x.shape[1:])}, the model takes {want}")
    if x.dtype != np.dtype(in_detail["dtype"]):
        raise ValueError(f"input dtype {x.dtype} but the model takes {np.dtype(in_detail['dtype']).name}: "
                         f"quantize first (TensorQuant.quantize)")
    return x


def run_litert_ref(tflite_path: Path | bytes, x: np.ndarray, reference: bool = True,
                   progress: Optional[Callable[[int], None]] = None) -> np.ndarray:
    """Outputs of LiteRT's reference kernels for each sample of x, [N, *output_shape[1:]]."""
    it = litert_interpreter(tflite_path, reference=reference)
    ind, outd = it.get_input_details()[0], it.get_output_details()[0]
    x = _check_batch(x, ind)
    out = np.empty((len(x), *outd["shape"][1:]), dtype=outd["dtype"])
    for i in range(len(x)):
        it.set_tensor(ind["index"], x[i:i + 1])
        it.invoke()
        out[i] = it.get_tensor(outd["index"])[0]
        if progress is not None:
            progress(1)
    return out


# --- tflite-micro, in a subprocess -------------------------------------------------------------

_ARENA_RE = re.compile(r"Arena allocation total (\d+) bytes")


@dataclass(frozen=True)
class TflmArena:
    """The TFLM tensor arena a model needs."""

    smallest_working_bytes: int  # measured: smallest arena_size with which allocation + invoke succeed
    recorded_total_bytes: Optional[int]  # what TFLM's RecordingMicroAllocator printed
    method: str


def _worker_env() -> dict:
    env = dict(os.environ)
    pkg_parent = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = pkg_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _run_worker(args: list[str], timeout_s: float) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run([sys.executable, "-m", "edgekit.interpreters", *args], capture_output=True,
                              text=True, env=_worker_env(), timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise InterpreterError(f"tflite-micro interpreter timed out after {timeout_s:g} s") from None
    if proc.returncode != 0:
        how = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
        tail = " | ".join(l for l in proc.stderr.strip().splitlines()[-3:] if l.strip())
        raise InterpreterError(f"tflite-micro interpreter failed ({how}): {tail}")
    return proc


def run_tflm(tflite_path: Path, x: np.ndarray, arena_bytes: Optional[int] = None,
             timeout_s: float = 3600) -> np.ndarray:
    """Outputs of the tflite-micro Python interpreter for each sample of x, in a subprocess."""
    x = np.asarray(x)
    with tempfile.TemporaryDirectory(prefix="edgekit-tflm-") as tmp:
        xin, yout = Path(tmp) / "x.npy", Path(tmp) / "y.npy"
        np.save(xin, x)
        args = ["tflm-run", str(tflite_path), str(xin), str(yout)]
        if arena_bytes:
            args += ["--arena", str(arena_bytes)]
        _run_worker(args, timeout_s)
        return np.load(yout)


def tflm_arena(tflite_path: Path, timeout_s: float = 600) -> TflmArena:
    """The smallest TFLM arena that allocates and runs the model (binary search, in a subprocess)."""
    proc = _run_worker(["tflm-arena", str(tflite_path)], timeout_s)
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return TflmArena(**data)


def tflm_arena_bytes(tflite_path: Path) -> int:
    return tflm_arena(tflite_path).smallest_working_bytes


# --- worker side ---------------------------------------------------------------------------------

def _tflm(model: bytes, arena: int):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(model, arena_size=arena)


def _tflm_default_arena(model: bytes) -> int:
    # Generous for small models; the search below finds the real figure.
    return max(len(model) * 10, 4 << 20)


def _worker_run(model_path: str, xin: str, yout: str, arena: Optional[int]) -> None:
    model = Path(model_path).read_bytes()
    x = np.load(xin)
    it = _tflm(model, arena or _tflm_default_arena(model))
    d = it.get_input_details(0)
    want = tuple(int(s) for s in d["shape"])
    outs = []
    for i in range(len(x)):
        it.set_input(x[i].reshape(want).astype(d["dtype"], copy=False), 0)
        it.invoke()
        outs.append(np.array(it.get_output(0))[0])
    tmp = yout + ".tmp.npy"
    np.save(tmp, np.stack(outs) if outs else np.empty((0,)))
    os.replace(tmp, yout)


def _fits(model: bytes, arena: int, x: np.ndarray) -> bool:
    try:
        it = _tflm(model, arena)
        it.set_input(x, 0)
        it.invoke()
        return True
    except RuntimeError:
        return False


def _worker_arena(model_path: str) -> None:
    model = Path(model_path).read_bytes()
    # The recording allocator's printout goes to the C stderr: capture it through a pipe-free
    # temp file by redirecting fd 2 while the interpreter prints.
    big = _tflm_default_arena(model)
    it = _tflm(model, big)
    d = it.get_input_details(0)
    x = np.zeros(tuple(int(s) for s in d["shape"]), dtype=d["dtype"])
    it.set_input(x, 0)
    it.invoke()
    recorded = None
    with tempfile.TemporaryFile(mode="w+b") as cap:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(cap.fileno(), 2)
        try:
            it.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        cap.seek(0)
        m = _ARENA_RE.search(cap.read().decode(errors="replace"))
        if m:
            recorded = int(m.group(1))
    del it
    # Binary search for the smallest arena that works; the recorded total is where to start.
    hi = recorded if recorded and _fits(model, recorded, x) else big
    lo = 0  # known not to fit
    while hi - lo > 16:  # TFLM aligns allocations to 16 bytes
        mid = (lo + hi) // 2
        if _fits(model, mid, x):
            hi = mid
        else:
            lo = mid
    # Pin down the exact byte below the 16-byte window.
    while hi - 1 > lo and _fits(model, hi - 1, x):
        hi -= 1
    print(json.dumps({"smallest_working_bytes": hi, "recorded_total_bytes": recorded,
                      "method": "binary search over tflite-micro arena_size (allocate + invoke)"}))


def _main(argv: list[str]) -> int:
    cmd = argv[0] if argv else ""
    if cmd == "tflm-run":
        arena = int(argv[argv.index("--arena") + 1]) if "--arena" in argv else None
        _worker_run(argv[1], argv[2], argv[3], arena)
        return 0
    if cmd == "tflm-arena":
        _worker_arena(argv[1])
        return 0
    print("usage: python -m edgekit.interpreters tflm-run MODEL X.npy Y.npy [--arena N] | tflm-arena MODEL",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

"""Seeded mutations of .tflite files, the code-generation contract applied to each, and the
reference interpreter (LiteRT, with its flatbuffer verifier) loading the mutants that pass,
for tests/codegen/test_fuzz.py."""

from __future__ import annotations

import json
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit.errors import UserError

INTERESTING_INT32 = (0, 1, 2, 3, 4, 7, 8, 16, 255, 256, 1023, 4096, 65535, 65536, 0x7FFFFFFF, -1, -2, -4,
                     -128, -129, 127, 128, -(1 << 31), 6553600, 1 << 20, 1 << 30)
KINDS = ("bitflip", "byte", "int32", "truncate", "splice")


def structural_positions(buf: bytes) -> np.ndarray:
    """Byte positions outside the big constant buffers (weights), where a mutation changes the
    model's structure rather than a weight value; mutations favour them."""
    from edgekit.codegen.tflite_reader import parse_tflite

    g = parse_tflite(buf, "seed")
    weights = np.zeros(len(buf), bool)
    for t in g.tensors:
        if t.data is not None and t.data.nbytes >= 64:
            raw = t.data.tobytes()
            at = buf.find(raw)
            if at >= 0:
                weights[at:at + len(raw)] = True
    return np.flatnonzero(~weights)


def mutate(buf: bytes, kind: str, rng: np.random.Generator, structural: np.ndarray, donor: bytes) -> bytes:
    b = bytearray(buf)
    n = len(b)

    def pos(align: int = 1) -> int:
        p = int(structural[rng.integers(len(structural))]) if rng.random() < 0.85 else int(rng.integers(n))
        return min(p - p % align, n - 4)

    if kind == "bitflip":
        for _ in range(int(rng.integers(1, 4))):
            p = pos()
            b[p] ^= 1 << int(rng.integers(8))
    elif kind == "byte":
        for _ in range(int(rng.integers(1, 3))):
            b[pos()] = int(rng.choice([0, 1, 0x7F, 0x80, 0xFF, int(rng.integers(256))]))
    elif kind == "int32":
        p = pos(4)
        old = struct.unpack_from("<i", b, p)[0]
        choices = list(INTERESTING_INT32) + [old + 1, old - 1, old + 4, old - 4, old * 2, n, n - p, -old]
        v = int(choices[int(rng.integers(len(choices)))])
        struct.pack_into("<I", b, p, v & 0xFFFFFFFF)
    elif kind == "truncate":
        b = b[:int(rng.integers(0, n))]
    elif kind == "splice":
        # a run of bytes copied from elsewhere in this or another model, over or into this one
        length = int(rng.integers(1, 64))
        src = donor if rng.random() < 0.5 else buf
        s = int(rng.integers(0, max(len(src) - length, 1)))
        chunk = src[s:s + length]
        p = pos()
        if rng.random() < 0.7:
            b[p:p + len(chunk)] = chunk
        else:
            b[p:p] = chunk
    else:
        raise ValueError(kind)
    return bytes(b)


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def generate_c(buf: bytes, where: str) -> None:
    """The code-generation contract: parse, validate and lower the model and plan its memory
    (everything edgekit.codegen.generate does before it formats the C text)."""
    from edgekit.codegen import lower
    from edgekit.codegen.planner import check_plan, plan
    from edgekit.codegen.tflite_reader import parse_tflite

    lw = lower.lower(parse_tflite(buf, where), where)
    plan(lw.buffers)
    check_plan(lw.buffers)


@dataclass
class Outcome:
    cases: int = 0
    rejected: int = 0
    generated: int = 0
    crashes: list = field(default_factory=list)   # (case, kind, exception) other than UserError
    hangs: list = field(default_factory=list)
    multi_line: list = field(default_factory=list)
    accepted: list = field(default_factory=list)  # (case, kind, mutant bytes) that generated C
    by_kind: dict = field(default_factory=dict)


def run_cases(seeds: dict[str, bytes], n_per_seed: dict[str, int], seed: int = 0,
              time_bound_s: float = 5.0) -> Outcome:
    out = Outcome()
    rng = np.random.default_rng(seed)
    names = list(seeds)
    prev = signal.signal(signal.SIGALRM, _alarm)
    try:
        for si, name in enumerate(names):
            buf = seeds[name]
            structural = structural_positions(buf)
            donor = seeds[names[(si + 1) % len(names)]]
            for i in range(n_per_seed[name]):
                kind = KINDS[i % len(KINDS)]
                mutant = mutate(buf, kind, rng, structural, donor)
                case = f"{name}#{i}:{kind}"
                out.cases += 1
                k = out.by_kind.setdefault(kind, {"cases": 0, "rejected": 0, "generated": 0})
                k["cases"] += 1
                signal.setitimer(signal.ITIMER_REAL, time_bound_s)
                try:
                    generate_c(mutant, f"{name}.tflite")
                except UserError as exc:
                    out.rejected += 1
                    k["rejected"] += 1
                    if "\n" in str(exc):
                        out.multi_line.append((case, str(exc)))
                    continue
                except _Timeout:
                    out.hangs.append(case)
                    continue
                except Exception as exc:  # the contract: nothing but the one-line UserError
                    out.crashes.append((case, f"{type(exc).__name__}: {exc}"))
                    continue
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                out.generated += 1
                k["generated"] += 1
                out.accepted.append((case, mutant))
    finally:
        signal.signal(signal.SIGALRM, prev)
    return out


_WORKER = r"""
import sys, json
from pathlib import Path
which = sys.argv[1]
for line in sys.stdin:
    path = line.strip()
    print(json.dumps({"start": path}), flush=True)
    data = Path(path).read_bytes()
    try:
        if which == "litert":
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
            it = Interpreter(model_content=data, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
            it.allocate_tensors()
        else:
            from tflite_micro.python.tflite_micro import runtime
            runtime.Interpreter.from_bytes(data)
        print(json.dumps({"path": path, "ok": True}), flush=True)
    except Exception as exc:
        why = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        print(json.dumps({"path": path, "ok": False, "error": why}), flush=True)
"""


def _load_all(which: str, paths: list[str], timeout_s: float) -> dict[str, str | None]:
    results: dict[str, str | None] = {}
    todo = list(paths)
    while todo:
        proc = subprocess.run([sys.executable, "-c", _WORKER, which], input="\n".join(todo) + "\n",
                              capture_output=True, text=True, timeout=timeout_s)
        started = None
        for line in proc.stdout.splitlines():
            d = json.loads(line)
            if "start" in d:
                started = d["start"]
            else:
                results[d["path"]] = None if d["ok"] else d["error"]
                started = None
        if started is not None:  # the worker died on this one (an abort in the interpreter)
            results[started] = f"crashed (exit {proc.returncode})"
        todo = [p for p in todo if p not in results]
    return results


def reference_loads(paths: list[Path], timeout_s: float = 300.0) -> dict[str, tuple[str | None, str]]:
    """path -> (the reference interpreter that loads it, or None; why the others did not).
    LiteRT first (its flatbuffer verifier, the interpreter builder, allocation with the
    reference kernels), then tflite-micro's interpreter for the files LiteRT refused. Worker
    processes do the loading, so an interpreter's crash is recorded against that file."""
    litert = _load_all("litert", [str(p) for p in paths], timeout_s)
    refused = [p for p, why in litert.items() if why is not None]
    tflm = _load_all("tflm", refused, timeout_s) if refused else {}
    out = {}
    for p, why in litert.items():
        if why is None:
            out[p] = ("litert", "")
        elif tflm.get(p) is None:
            out[p] = ("tflite-micro", f"LiteRT: {why}")
        else:
            out[p] = (None, f"LiteRT: {why}; tflite-micro: {tflm[p]}")
    return out

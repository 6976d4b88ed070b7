"""The harness loop: host reference paths in batch, device paths through parallel sessions,
one record per sample appended as soon as all of its paths are known.

Paths (docs/ARCHITECTURE.md, "Per-sample record"):
  float            the float model (Keras) on reference features
  int8_host        the int8 .tflite on LiteRT's reference kernels, same quantized input
  device_features  the device, given the host-computed quantized features (taken from the
                   device_e2e inference, marked same_input_as, where the device's frontend
                   produced exactly those features: runner.DeviceJob.same_input)
  device_e2e       the device from raw input through its own frontend ("unavailable"
                   until the firmware has one: never faked)
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from edgekit.harness.records import RecordStore
from edgekit.harness.runner import DeviceJob, DeviceOutcome, RunnerStats, run_device_jobs

PATHS = ("float", "int8_host", "device_features", "device_e2e")
PATH_DESCRIPTIONS = {
    "float": "float reference (Keras) on reference features",
    "int8_host": "int8 host reference (LiteRT reference kernels), same quantized input as the device",
    "device_features": "device with host-computed features",
    "device_e2e": "device end to end from raw input (on-device frontend)",
}


@dataclass(frozen=True)
class EvalSample:
    id: str
    label: int
    cohort: dict


@dataclass(frozen=True)
class OutputQuant:
    """How to turn the model's int8 output tensor into scores."""

    scale: float
    zero_point: int
    dtype: str = "int8"

    def decode(self, raw: bytes) -> np.ndarray:
        q = np.frombuffer(raw, dtype=np.dtype(self.dtype)).astype(np.int32)
        return q


@dataclass
class HarnessResult:
    records_path: Path
    total: int
    resumed: int            # records already there when the run started
    new: int                # records written by this run
    wall_s: float
    host_s: float
    device: Optional[RunnerStats]
    unavailable: dict[str, str] = field(default_factory=dict)
    moved_aside: Optional[Path] = None


def scores_part(scores: np.ndarray, q: Optional[np.ndarray] = None, **extra) -> dict:
    """A path's part of a record: prediction, scores (rounded: they are for reading),
    and for int8 paths the raw quantized output, kept exact for bit-exactness checks."""
    part = {"status": "ok", "pred": int(np.argmax(q if q is not None else scores)),
            "scores": [round(float(s), 6) for s in scores]}
    if q is not None:
        part["q"] = [int(v) for v in q]
    part.update(extra)
    return part


def float_scorer(weights_path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The float path's scores(X) -> probabilities [N, classes]: the Keras model is loaded on
    the first call (a fully resumed run never loads it), and a logits head gets a softmax
    while a softmax head is left alone."""
    weights_path = Path(weights_path)
    if not weights_path.is_file():
        from edgekit.errors import UserError

        raise UserError(f"{weights_path}: no trained float weights; run `edgekit train` for this model")
    model: list = []

    def scores(X: np.ndarray) -> np.ndarray:
        if not model:
            import keras

            model.append(keras.models.load_model(weights_path, compile=False))
        out = np.asarray(model[0].predict(X, batch_size=256, verbose=0), dtype=np.float64)
        if not np.allclose(out.sum(axis=1), 1.0, atol=1e-3) or (out < 0).any():
            e = np.exp(out - out.max(axis=1, keepdims=True))
            out = e / e.sum(axis=1, keepdims=True)
        return out

    return scores


def host_parts(samples: Sequence[EvalSample], X: np.ndarray, xq: np.ndarray,
               float_scores: Callable[[np.ndarray], np.ndarray], tflite: Path, quant: OutputQuant,
               cache=None) -> dict:
    """sample id -> the record parts of the two host paths: the float model's scores on X and
    the int8 .tflite on LiteRT's reference kernels for the quantized inputs xq (one row each),
    read from `cache` (a harness.host_cache.HostReferenceCache) where it holds them."""
    from edgekit.harness.host_cache import host_reference_arrays

    fs, iq = host_reference_arrays([s.id for s in samples], X, xq, float_scores, tflite, cache)
    return {s.id: {"float": scores_part(fs[k]),
                   "int8_host": scores_part((iq[k] - quant.zero_point) * quant.scale, iq[k])}
            for k, s in enumerate(samples)}


def device_part(result: Any, quant: OutputQuant) -> dict:
    """Record part for a device InferenceResult (output bytes + counters)."""
    q = quant.decode(result.output)
    scores = (q - quant.zero_point).astype(np.float64) * quant.scale
    return scores_part(scores, q, model_count=int(result.model_count),
                       frontend_count=int(result.frontend_count), unit=str(result.unit),
                       stack_high_water=int(result.stack_high_water))


COUNT_KEYS = ("model_count", "frontend_count", "unit", "stack_high_water")


def same_input_part(source_part: dict, source: str) -> dict:
    """A device path's part taken from `source`'s inference, whose on-device frontend
    produced exactly this path's model input: the same prediction, scores and int8 output;
    no counters (that inference was timed as `source`'s, frontend included)."""
    part = {k: v for k, v in source_part.items() if k not in COUNT_KEYS}
    part["same_input_as"] = source
    return part


def auto_batch_size(total: int) -> int:
    """Large batches amortize the emulator restart a preloaded batch costs; eight or more
    batches keep parallel sessions evenly loaded and bound what a kill -9 can lose."""
    return max(16, min(256, math.ceil(total / 8)))


def fixed_batches(samples: Sequence[EvalSample], done: set[str], batch_size: int) -> list[list[EvalSample]]:
    """Batches cut from the whole sample list, whatever is already recorded, keeping those
    with anything left to do. Each batch starts on a freshly booted device, so a sample's
    counters depend only on its batch: a resumed run re-creates the same batches (a batch
    cut short by a kill is run whole again) and so measures the same counts as an
    uninterrupted one (timer interrupts inside an inference otherwise depend on the phase)."""
    cut = [list(samples[i:i + batch_size]) for i in range(0, len(samples), batch_size)]
    return [b for b in cut if any(s.id not in done for s in b)]


def run(samples: Sequence[EvalSample], store: RecordStore,
        host_paths: Callable[[list[EvalSample]], dict[str, dict[str, dict]]],
        device_jobs: Optional[Callable[[EvalSample], DeviceJob]],
        open_session: Optional[Callable[[], Any]], decode: Callable[[str, Any], dict],
        unavailable: dict[str, str], sessions: int = 1, batch_size: Optional[int] = None,
        progress: Optional[Callable[[int, int], None]] = None, cluster=None) -> HarnessResult:
    """Evaluate the samples not yet in `store`; returns when every sample has a record.

    cluster: an entered edgekit.harness.cluster.RayCluster to run the device batches on
    (open_session must then be a runner.DeviceOpener); the records are written here either way."""
    t_start = time.perf_counter()
    done = store.done_ids
    pending = [s for s in samples if s.id not in done]
    resumed = len(samples) - len(pending)
    by_id = {s.id: s for s in pending}
    written = 0

    with_device = device_jobs is not None and open_session is not None
    # The host paths run in a thread beside the device sessions (the emulators do not wait for
    # Keras to load); a record is written once both sides of its sample are known.
    host_times: list[float] = []

    def timed_host_paths() -> dict:
        t0 = time.perf_counter()
        try:
            return host_paths(pending) if pending else {}
        finally:
            host_times.append(time.perf_counter() - t0)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edgekit-host") if with_device and pending else None
    host_future = pool.submit(timed_host_paths) if pool is not None else None
    host_now = None if host_future is not None else timed_host_paths()

    def host() -> dict:
        return host_future.result() if host_future is not None else host_now

    def base_record(s: EvalSample) -> dict:
        paths = dict(host().get(s.id, {}))
        for name, reason in unavailable.items():
            paths[name] = {"status": "unavailable", "reason": reason}
        return {"id": s.id, "label": int(s.label), "cohort": s.cohort, "paths": paths}

    def write(rec: dict) -> None:
        nonlocal written
        store.append(rec)
        written += 1
        if progress:
            progress(resumed + written, len(samples))

    stats = None
    if not with_device:
        for s in pending:
            write(base_record(s))
    else:
        def on_outcome(o: DeviceOutcome) -> None:
            if o.sample_id not in by_id or o.sample_id in store:
                return  # recorded by an earlier run (its batch ran again only to keep the batching), or already
            rec = base_record(by_id[o.sample_id])
            for path, res in o.results.items():
                if res["status"] == "ok" and res.get("same_input_as"):
                    rec["paths"][path] = same_input_part(decode(path, res["result"]), res["same_input_as"])
                elif res["status"] == "ok":
                    rec["paths"][path] = decode(path, res["result"])
                else:
                    rec["paths"][path] = {k: v for k, v in res.items() if k != "result"}
            write(rec)

        batches = fixed_batches(samples, done, batch_size or auto_batch_size(len(samples)))
        jobs = [[device_jobs(s) for s in b] for b in batches]
        try:
            if cluster is not None:
                stats = cluster.run_device_jobs(jobs, open_session, on_outcome)
            else:
                stats = run_device_jobs(jobs, open_session, on_outcome, sessions=sessions)
            host()  # a host failure is the run's failure even when no device outcome came
        finally:
            if pool is not None:
                pool.shutdown(wait=False)  # done after a success; after a failure, not waited for
    host_s = sum(host_times)
    store.sync()
    return HarnessResult(records_path=store.path, total=len(samples), resumed=resumed, new=written,
                         wall_s=time.perf_counter() - t_start, host_s=host_s, device=stats,
                         unavailable=dict(unavailable), moved_aside=store.moved_aside)

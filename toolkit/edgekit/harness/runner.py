"""Runs samples through device sessions: several sessions in parallel (one emulator per
core), inputs preloaded in batches (Device.infer_batch), and every device failure turned
into a recorded per-sample error while the run goes on.

This module knows the Device interface (edgekit.devices) only by its methods, so tests can
inject faults with a host-side fake; the evaluation itself always runs real devices.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

DEVICE_REASONS = ("timeout", "crc", "crash", "garbage", "protocol")
SMALL_LEFTOVER = 8   # up to this many inputs over the UART cost less than an emulator boot (estimated, not benchmarked)


def is_device_error(exc: BaseException) -> bool:
    """edgekit.devices.DeviceError (matched by its `reason`, so fakes can raise their own)."""
    return getattr(exc, "reason", None) in DEVICE_REASONS


@dataclass
class DeviceJob:
    """One sample's device work: for each device path, the bytes to send and their kind."""

    sample_id: str
    payloads: dict[str, tuple[str, bytes]]  # path name -> (kind "features"|"raw", data)
    # path name -> (source path, model input): the path's result is the source path's when
    # the model input the device's frontend produced there is these bytes (the same model
    # on the same input gives the same output), and the path then does not run again
    same_input: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@dataclass
class DeviceOutcome:
    sample_id: str
    results: dict[str, dict]  # path name -> {"status": "ok", "result": InferenceResult} or error


@dataclass
class RunnerStats:
    sessions: int = 0
    restarts: int = 0
    device_errors: dict[str, int] = field(default_factory=dict)
    device_call_s: float = 0.0   # wall time inside infer/infer_batch calls (emulation + transfer)
    startup_s: float = 0.0       # wall time opening and restarting sessions
    bytes_sent: int = 0
    batches: int = 0
    requeued: int = 0            # cluster runs: batches lost with a node and run again elsewhere


def merge_stats(into: RunnerStats, other: RunnerStats) -> None:
    """Add another runner's figures (a cluster node's batch) into `into`."""
    for k in ("sessions", "restarts", "device_call_s", "startup_s", "bytes_sent", "batches", "requeued"):
        setattr(into, k, getattr(into, k) + getattr(other, k))
    for reason, n in other.device_errors.items():
        into.device_errors[reason] = into.device_errors.get(reason, 0) + n


@dataclass(frozen=True)
class DeviceOpener:
    """How to open the device, as data (a picklable recipe rather than a closure), so that a
    cluster node can open the same device with its own copy of the firmware (harness/cluster.py).

    device: "qemu" or "serial:PORT[@baud]"; elf: the firmware image's ELF path."""

    device: str
    target: Any
    elf: str
    timeouts: tuple = ()         # (name, seconds) pairs for open_device, e.g. (("inference_timeout_s", 4.0),)

    def __call__(self):
        from edgekit.devices import open_device

        return open_device(self.device, self.target, Path(self.elf), **dict(self.timeouts))

    def info(self, cluster=None):
        """The firmware's DeviceInfo from one short session: here, or on a node of `cluster`
        (an entered harness.cluster.RayCluster)."""
        if cluster is not None:
            return cluster.device_info(self)
        with self() as dev:
            return dev.info()

    def needs_qemu(self) -> bool:
        """An emulator kind (edgekit.devices.kinds: several sessions at once, one per CPU)."""
        from edgekit.devices import kind_for

        return kind_for(self.device).parallel

    def resource_name(self) -> str:
        """The Ray resource one session takes: a CPU for an emulator, the board for a serial port."""
        return "CPU" if self.needs_qemu() else f"board:{self.target.name}"

    def task_resources(self) -> dict:
        if self.needs_qemu():
            return {"num_cpus": 1}
        return {"num_cpus": 0, "resources": {self.resource_name(): 1}}


class DeviceUnavailable(RuntimeError):
    """A session could not be (re)started at all: the run stops, keeping what it recorded."""


def run_device_jobs(batches: Sequence[Sequence[DeviceJob]], open_session: Callable[[], Any],
                    on_outcome: Callable[[DeviceOutcome], None], sessions: int = 1,
                    stop: Optional[threading.Event] = None) -> RunnerStats:
    """Run the batches over `sessions` parallel device sessions (each batch goes to the
    device in one infer_batch call per path); `on_outcome` is called in the caller's thread,
    one sample at a time, in completion order."""
    stats = RunnerStats()
    lock = threading.Lock()
    stop = stop or threading.Event()
    todo: "queue.Queue[list[DeviceJob]]" = queue.Queue()
    for chunk in batches:
        if chunk:
            todo.put(list(chunk))
    done: "queue.Queue[object]" = queue.Queue()
    sessions = max(1, min(sessions, todo.qsize() or 1))

    def add_stats(**kw):
        with lock:
            for k, v in kw.items():
                if k == "error":
                    stats.device_errors[v] = stats.device_errors.get(v, 0) + 1
                else:
                    setattr(stats, k, getattr(stats, k) + v)

    def worker():
        dev = None
        try:
            t0 = time.perf_counter()
            dev = open_session()
            add_stats(sessions=1, startup_s=time.perf_counter() - t0)
            while not stop.is_set():
                try:
                    batch = todo.get_nowait()
                except queue.Empty:
                    break
                dev = _run_batch(dev, batch, open_session, done, add_stats, stop)
        except BaseException as exc:  # handed to the caller's thread, which re-raises
            done.put(exc)
        finally:
            if dev is not None:
                try:
                    dev.close()
                except Exception:
                    pass
            done.put(_WORKER_DONE)

    threads = [threading.Thread(target=worker, name=f"edgekit-device-{i}", daemon=True) for i in range(sessions)]
    for t in threads:
        t.start()
    finished = 0
    error: Optional[BaseException] = None
    try:
        while finished < len(threads):
            item = done.get()
            if item is _WORKER_DONE:
                finished += 1
            elif isinstance(item, BaseException):
                error = error or item
                stop.set()
            else:
                on_outcome(item)
    except BaseException:
        stop.set()
        raise
    finally:
        for t in threads:
            t.join(timeout=30)
    if error is not None:
        raise error
    return stats


_WORKER_DONE = object()


def _restart(dev, open_session, add_stats):
    """Restart a session after a failure; reopen it when restart itself fails."""
    t0 = time.perf_counter()
    try:
        dev.restart()
    except Exception as exc:
        if not is_device_error(exc) and not isinstance(exc, OSError):
            raise
        try:
            dev.close()
        except Exception:
            pass
        try:
            dev = open_session()
        except Exception as exc2:
            raise DeviceUnavailable(f"the device could not be restarted after a failure: {exc2}") from exc2
    add_stats(restarts=1, startup_s=time.perf_counter() - t0)
    return dev


def _run_batch(dev, batch: list[DeviceJob], open_session, done, add_stats, stop):
    path_names = list(dict.fromkeys(p for j in batch for p in j.payloads))
    # the source of a same-input path runs first, and returns its frontend's output
    sources = {src for j in batch for src, _ in j.same_input.values()}
    path_names.sort(key=lambda p: p not in sources)
    results: dict[str, dict[str, dict]] = {j.sample_id: {} for j in batch}
    # A device batch holds inputs of one size (raw frames differ per camera sensor), so each
    # path's members are sent in groups of equal payload size.
    groups = []
    for path in path_names:
        by_size: dict[int, list[DeviceJob]] = {}
        for j in batch:
            if path in j.payloads:
                by_size.setdefault(len(j.payloads[path][1]), []).append(j)
        groups += [(path, members) for members in by_size.values()]
    for path, members in groups:
        members = [j for j in members if not _same_as_source(j, path, results[j.sample_id])]
        if not members:
            continue
        kind = members[0].payloads[path][0]
        data = [j.payloads[path][1] for j in members]
        t0 = time.perf_counter()
        try:
            if len(members) <= SMALL_LEFTOVER and any(path in j.same_input for j in members):
                # the few a same-input path still runs: on the session as it is (a preloaded
                # batch would boot the emulator again); same program, same input, same counts
                outs = [dev.infer(x, kind) for x in data]
            elif path in sources:
                outs = dev.infer_batch(data, kind, send_model_input=True)
            else:
                outs = dev.infer_batch(data, kind)
            if len(outs) != len(data):
                raise _ShortBatch(f"infer_batch returned {len(outs)} results for {len(data)} inputs")
            add_stats(device_call_s=time.perf_counter() - t0, bytes_sent=sum(map(len, data)), batches=1)
            for j, out in zip(members, outs):
                results[j.sample_id][path] = {"status": "ok", "result": out}
        except Exception as exc:
            if not (is_device_error(exc) or isinstance(exc, _ShortBatch)):
                raise
            add_stats(device_call_s=time.perf_counter() - t0)
            dev = _restart(dev, open_session, add_stats)
            # Find the sample(s) at fault: one at a time, restarting after each failure.
            for j in members:
                if stop.is_set():
                    return dev
                t1 = time.perf_counter()
                try:
                    out = dev.infer(j.payloads[path][1], kind)
                    add_stats(device_call_s=time.perf_counter() - t1, bytes_sent=len(j.payloads[path][1]))
                    results[j.sample_id][path] = {"status": "ok", "result": out}
                except Exception as exc1:
                    if not is_device_error(exc1):
                        raise
                    add_stats(device_call_s=time.perf_counter() - t1, error=exc1.reason)
                    results[j.sample_id][path] = {"status": "error", "reason": exc1.reason,
                                                  "detail": str(exc1)[:300]}
                    dev = _restart(dev, open_session, add_stats)
    for j in batch:
        done.put(DeviceOutcome(j.sample_id, results[j.sample_id]))
    return dev


def _same_as_source(job: DeviceJob, path: str, results: dict[str, dict]) -> bool:
    """Fill `path` from its source path's result when the device's frontend produced exactly
    the model input this path would send (DeviceJob.same_input); False when it must run."""
    if path not in job.same_input:
        return False
    source, model_input = job.same_input[path]
    got = results.get(source)
    if not got or got["status"] != "ok" or getattr(got["result"], "model_input", None) != model_input:
        return False
    results[path] = {"status": "ok", "result": got["result"], "same_input_as": source}
    return True


class _ShortBatch(Exception):
    reason = "protocol"

"""Evaluation on a Ray cluster of emulators and boards (`--cluster`, docs/ARCHITECTURE.md,
harness): the same device batches as a local run, spread over the cluster's nodes by a
dynamic work queue, with the results streaming back to the driver, which alone writes the
resumable records (harness/records.py).

    from edgekit.harness.cluster import connect
    with connect("local") as cl:               # or "auto", "ray://head:10001", "HOST:PORT"
        core.run(..., cluster=cl)

How it holds together:
- Work queue: the driver keeps at most one batch in flight per CPU (per board for serial
  devices) and hands the next batch to whichever slot frees up, so a slow node takes fewer
  batches; not fixed shards. Each batch is one Ray task with `num_cpus=1`: a node runs one
  QEMU per CPU it offers. A board is a custom resource a node advertises
  (`ray start --resources '{"board:cortex-m4": 1}'`); serial batches ask for it, so they run
  on the node the board is attached to.
- Once: a batch's outcomes come back as the task's single return value, so a batch is either
  recorded whole by the driver or not at all; a task lost with its worker or node (Ray raises
  WorkerCrashedError, NodeDiedError, ...) is put back on the queue and runs elsewhere. Ray's
  own task retries are off (max_retries=0) so that this queue is the only place a batch is
  re-run and the count of re-queued batches is known.
- Firmware: the ELF is put in Ray's object store once per run; a node writes it to a local
  file named by its SHA-256 on first use. Nodes need edgekit and QEMU, nothing else; before
  any batch runs, every node is probed and one without qemu-system-arm is a UserError naming it.
- Security: a Ray cluster runs whatever code its clients send. "local" starts a private
  cluster bound to 127.0.0.1 with no dashboard; anything else joins a cluster the user runs,
  which belongs on a trusted network (README, "--cluster").
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from edgekit.errors import UserError
from edgekit.harness.runner import DeviceJob, DeviceOpener, DeviceOutcome, RunnerStats, merge_stats, run_device_jobs

# A batch lost this many times (its node died each time) stops the run: something is wrong
# with the cluster, not with one node.
MAX_REQUEUES_PER_BATCH = 3


def _ray():
    try:
        import ray
    except ImportError:
        raise UserError("--cluster: Ray is not installed; `pip install edgekit[cluster]` (or `make setup`)") from None
    return ray


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(address: str) -> bool:
    host = address[len("ray://"):] if address.startswith("ray://") else address
    return address == "local" or host.rsplit(":", 1)[0].strip("[]") in LOOPBACK_HOSTS


def _auto_address(ray) -> Optional[str]:
    """The address `auto` resolves to (RAY_ADDRESS, else the cluster last started here)."""
    try:
        return ray._private.services.get_ray_address_from_environment("auto", None)
    except Exception:
        return None


def stay_on_loopback() -> None:
    """Keep this process's Ray on 127.0.0.1. Ray rewrites a loopback address given to
    ray.init into the machine's outward IP (resolve_ip_for_localhost) unless its cluster
    mode is off, and a cluster bound to loopback is not listening there."""
    ray = _ray()
    ray._private.ray_constants.ENABLE_RAY_CLUSTER = False


def _lost_errors(ray) -> tuple:
    """The errors that mean "the worker or node running this batch went away"."""
    ex = ray.exceptions
    names = ("WorkerCrashedError", "NodeDiedError", "ObjectLostError", "OwnerDiedError",
             "ObjectReconstructionFailedError", "LocalRayletDiedError", "ActorDiedError",
             "TaskUnschedulableError", "OutOfMemoryError")
    return tuple(getattr(ex, n) for n in names if hasattr(ex, n))


# --------------------------------------------------------------------------- on the nodes

def _node_name() -> str:
    try:
        import ray

        ip = ray.util.get_node_ip_address()
        node_id = ray.get_runtime_context().get_node_id()[:12]
    except Exception:
        ip, node_id = "?", "?"
    return f"{socket.gethostname()} ({ip}, node {node_id})"


def _probe() -> dict:
    """What a node offers: its name, QEMU, the edgekit it runs."""
    import edgekit

    return {"node": _node_name(), "qemu": shutil.which("qemu-system-arm"),
            "edgekit": getattr(edgekit, "__version__", "?")}


def _local_elf(sha: str, blob: bytes) -> Path:
    """The firmware on this node's disk, written once per node (atomically: several workers
    of a node may start at the same moment)."""
    d = Path(tempfile.gettempdir()) / f"edgekit-ray-{os.getuid()}"
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{sha}.elf"
    if not path.is_file():
        tmp = d / f".{sha}.{os.getpid()}.tmp"
        tmp.write_bytes(blob)
        os.replace(tmp, path)
    return path


def _run_batch_on_node(opener: DeviceOpener, elf_sha: str, elf_blob: bytes,
                       batch: list[DeviceJob]) -> tuple[list[DeviceOutcome], RunnerStats, str]:
    """One batch on this node's device, with the local runner's fault handling (per-sample
    errors, restarts). A node without QEMU answers with a UserError naming itself."""
    if opener.needs_qemu() and shutil.which("qemu-system-arm") is None:
        raise UserError(f"--cluster: node {_node_name()} has no qemu-system-arm on its PATH; "
                        f"install Debian's qemu-system-arm there (or take the node out of the cluster)")
    local = replace(opener, elf=str(_local_elf(elf_sha, elf_blob)))
    outcomes: list[DeviceOutcome] = []
    stats = run_device_jobs([batch], local, outcomes.append, sessions=1)
    return outcomes, stats, _node_name()


def _info_on_node(opener: DeviceOpener, elf_sha: str, elf_blob: bytes):
    with replace(opener, elf=str(_local_elf(elf_sha, elf_blob)))() as dev:
        return dev.info()


# --------------------------------------------------------------------------- the driver

@dataclass
class ClusterStats:
    nodes: int = 0
    slots: int = 0
    requeued: int = 0            # batches lost with a worker or node, run again elsewhere
    batches_by_node: dict = None
    queue_s: float = 0.0         # wall time from the first batch handed out to the last one back


class RayCluster:
    """A connection to a Ray cluster, and the work queue that runs device batches on it."""

    def __init__(self, address: str, num_cpus: Optional[int] = None):
        self.address = address
        self.num_cpus = num_cpus
        self._started_here = False
        self.last: Optional[ClusterStats] = None

    # -- connection ---------------------------------------------------------------------
    def __enter__(self) -> "RayCluster":
        ray = _ray()
        # Ray reports usage to its servers unless told not to; edgekit makes no calls out.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if ray.is_initialized():
            return self
        if is_loopback(self.address) or (self.address == "auto" and is_loopback(_auto_address(ray) or "-")):
            stay_on_loopback()
        kw: dict[str, Any] = {"log_to_driver": False, "configure_logging": True, "logging_level": "warning"}
        try:
            if self.address == "local":
                # A private cluster for this run, on loopback only, without the dashboard.
                ray.init(num_cpus=self.num_cpus or os.cpu_count() or 1, _node_ip_address="127.0.0.1",
                         include_dashboard=False, **kw)
            else:
                ray.init(address=self.address, **kw)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise UserError(f"--cluster {self.address}: cannot connect to a Ray cluster there ({str(exc).splitlines()[0]}); "
                            f"start one with `ray start --head --node-ip-address=127.0.0.1`, or use --cluster local") from None
        self._started_here = True
        return self

    def __exit__(self, *exc) -> None:
        if self._started_here:
            _ray().shutdown()
            self._started_here = False

    def summary(self) -> dict:
        """For report.json's eval_run section: where the batches ran."""
        last = self.last or ClusterStats()
        return {"address": self.address, "nodes": last.nodes, "slots": last.slots,
                "requeued_batches": last.requeued, "batches_by_node": dict(last.batches_by_node or {}),
                "queue_s": last.queue_s}

    # -- what the cluster offers --------------------------------------------------------
    def nodes(self) -> list[dict]:
        return [n for n in _ray().nodes() if n.get("Alive")]

    def slots(self, opener: DeviceOpener) -> int:
        """How many batches can run at once: the CPUs for QEMU, the boards for serial."""
        key = opener.resource_name()
        total = sum(float(n.get("Resources", {}).get(key, 0)) for n in self.nodes())
        if total < 1:
            what = f"a node with a {key} resource (`ray start --resources '{{\"{key}\": 1}}'` on the board's host)" \
                if key != "CPU" else "a node with a CPU"
            raise UserError(f"--cluster {self.address}: the cluster has no {what}")
        return int(total)

    def check_nodes(self, opener: DeviceOpener) -> list[dict]:
        """Probe every node that can take a batch; a node without QEMU is a UserError naming it."""
        ray = _ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        key = opener.resource_name()
        probe = ray.remote(num_cpus=0)(_probe)
        nodes = [n for n in self.nodes() if float(n.get("Resources", {}).get(key, 0)) >= 1]
        refs = [probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote()
                for n in nodes]
        found = []
        for ref in refs:
            try:
                found.append(ray.get(ref))
            except _lost_errors(ray):
                continue  # a node that died since the listing: it takes no batch either
        if not found:
            raise UserError(f"--cluster {self.address}: no node of the cluster answered")
        if opener.needs_qemu():
            missing = [f["node"] for f in found if not f["qemu"]]
            if missing:
                raise UserError(f"--cluster: node {missing[0]} has no qemu-system-arm on its PATH; install Debian's "
                                f"qemu-system-arm there (or take the node out of the cluster)")
        return found

    def device_info(self, opener: DeviceOpener):
        """The firmware's DeviceInfo, asked on a cluster node (a board may be attached only there)."""
        ray = _ray()
        blob = Path(opener.elf).read_bytes()
        task = ray.remote(_info_on_node).options(max_retries=2, **opener.task_resources())
        return ray.get(task.remote(opener, hashlib.sha256(blob).hexdigest(), blob))

    # -- the work queue -----------------------------------------------------------------
    def run_device_jobs(self, batches: Sequence[Sequence[DeviceJob]], open_session: DeviceOpener,
                        on_outcome: Callable[[DeviceOutcome], None], sessions: Optional[int] = None,
                        progress_node: Optional[Callable[[str], None]] = None) -> RunnerStats:
        """run_device_jobs (harness/runner.py) on the cluster: same batches, same outcomes;
        on_outcome runs in the driver, each batch's samples once."""
        if not isinstance(open_session, DeviceOpener):
            raise TypeError("a cluster run needs a DeviceOpener (a recipe a node can rebuild), not a closure")
        ray = _ray()
        lost = _lost_errors(ray)
        self.check_nodes(open_session)
        slots = self.slots(open_session) if sessions is None else max(1, min(sessions, self.slots(open_session)))
        blob = Path(open_session.elf).read_bytes()
        sha = hashlib.sha256(blob).hexdigest()
        blob_ref = ray.put(blob)  # shipped to each node once, by Ray's object store
        task = ray.remote(_run_batch_on_node).options(max_retries=0, **open_session.task_resources())

        todo = deque((i, list(b)) for i, b in enumerate(batches) if b)
        inflight: dict = {}
        requeues: dict[int, int] = {}
        stats = RunnerStats()
        cstats = ClusterStats(nodes=len(self.nodes()), slots=slots, batches_by_node={})
        t_queue = time.perf_counter()
        try:
            while todo or inflight:
                while todo and len(inflight) < slots:
                    i, b = todo.popleft()
                    inflight[task.remote(open_session, sha, blob_ref, b)] = (i, b)
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    i, b = inflight.pop(ref)
                    try:
                        outcomes, st, node = ray.get(ref)
                    except lost as exc:
                        requeues[i] = requeues.get(i, 0) + 1
                        if requeues[i] > MAX_REQUEUES_PER_BATCH:
                            from edgekit.harness.runner import DeviceUnavailable

                            raise DeviceUnavailable(f"batch {i} was lost with its node {requeues[i]} times "
                                                    f"({type(exc).__name__}); the cluster is not healthy") from exc
                        cstats.requeued += 1
                        todo.appendleft((i, b))
                        continue
                    except ray.exceptions.RayTaskError as exc:
                        cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else None
                        if isinstance(cause, UserError):
                            raise UserError(str(cause)) from None
                        raise
                    merge_stats(stats, st)
                    cstats.batches_by_node[node] = cstats.batches_by_node.get(node, 0) + 1
                    for o in outcomes:
                        on_outcome(o)
        finally:
            for ref in inflight:
                ray.cancel(ref, force=True)
            cstats.queue_s = time.perf_counter() - t_queue
            self.last = cstats
        stats.requeued = cstats.requeued
        return stats


def connect(cluster: "str | RayCluster", num_cpus: Optional[int] = None) -> RayCluster:
    """A RayCluster for a --cluster value: local (a private loopback cluster), auto (the
    cluster this machine belongs to), ray://HOST:PORT (Ray Client) or HOST:PORT (a head's GCS)."""
    if isinstance(cluster, RayCluster):
        return cluster
    address = str(cluster).strip()
    if not address:
        raise UserError("--cluster: empty; use local, auto or ray://HOST:PORT")
    if address not in ("local", "auto") and not address.startswith("ray://") and ":" not in address:
        raise UserError(f"--cluster {address}: not a Ray address; use local, auto, ray://HOST:PORT or HOST:PORT")
    return RayCluster(address, num_cpus=num_cpus)

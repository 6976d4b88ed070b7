"""The harness on a real multi-node Ray cluster on this machine (ray.cluster_utils.Cluster:
a head without CPUs and two worker nodes of one CPU each, all on 127.0.0.1), running real
QEMU sessions of the firmware test model (tests/firmware/testmodel):

- the records equal those of a local run (same batches, so same counters, faults included);
- a worker node killed while it runs a batch loses nothing and duplicates nothing: its batch
  is re-queued on the other node (asserted from the records file);
- a rerun on the cluster resumes from the records and ends with the same records;
- a node without QEMU is a clear error naming the node.
One module, one cluster (starting Ray costs seconds); slow: it runs QEMU."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from edgekit.errors import UserError  # noqa: E402
from edgekit.firmware import build_elf  # noqa: E402
from edgekit.harness import core  # noqa: E402
from edgekit.harness.cluster import RayCluster, stay_on_loopback  # noqa: E402
from edgekit.harness.records import RecordStore, read_records  # noqa: E402
from edgekit.harness.runner import DeviceJob, DeviceOpener  # noqa: E402
from edgekit.targets import load_target  # noqa: E402
from tests.firmware import testmodel as tm  # noqa: E402

pytestmark = pytest.mark.slow

QUANT = core.OutputQuant(scale=1.0, zero_point=tm.ZP_OUT)
N, BATCH = 48, 8
HANG_AT, CRASH_AT = 21, 5        # the hang keeps batch 2's emulator alive for the timeout
TIMEOUT_S = 3.0
LOOPBACK = {"node_ip_address": "127.0.0.1", "include_dashboard": False}


@pytest.fixture(scope="module")
def target():
    return load_target("cortex-m4")


@pytest.fixture(scope="module")
def opener(target, tmp_path_factory):
    img = build_elf(target, [tm.SOURCE], [], None, tmp_path_factory.mktemp("fw"), app="protocol")
    return DeviceOpener("qemu", target, str(img.elf), (("inference_timeout_s", TIMEOUT_S),))


@pytest.fixture(scope="module")
def cluster():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    stay_on_loopback()
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, **LOOPBACK})
    workers = [c.add_node(num_cpus=1, **LOOPBACK) for _ in range(2)]
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    assert c.address.startswith("127.0.0.1:")
    yield c, workers
    ray.shutdown()
    c.shutdown()


def _inputs():
    rng = np.random.default_rng(11)
    xs = [rng.integers(-128, 128, 16, dtype=np.int8).tobytes() for _ in range(N)]
    xs[CRASH_AT], xs[HANG_AT] = tm.CRASH_INPUT, tm.HANG_INPUT
    return xs


XS = _inputs()
SAMPLES = [core.EvalSample(f"s{i:03d}", int(np.argmax(np.frombuffer(tm.reference(x), np.int8))), {"k": str(i % 3)})
           for i, x in enumerate(XS)]


def _run(directory: Path, opener, cluster=None, progress=None):
    jobs = lambda s: DeviceJob(s.id, {"device_features": ("features", XS[int(s.id[1:])])})  # noqa: E731
    with RecordStore(directory, {"m": "testmodel"}) as store:
        return core.run(SAMPLES, store, lambda pending: {}, jobs, opener,
                        lambda p, r: core.device_part(r, QUANT), {"device_e2e": "no frontend"},
                        sessions=2, batch_size=BATCH, progress=progress, cluster=cluster)


def _by_id(path: Path) -> dict:
    """id -> record; a failed path's free-text detail (it names the session's temporary
    socket) is left out, its reason kept."""
    recs = read_records(path)
    ids = [r["id"] for r in recs]
    assert len(ids) == len(set(ids)), "a sample was recorded twice"
    for r in recs:
        for part in r["paths"].values():
            part.pop("detail", None)
    return {r["id"]: r for r in recs}


@pytest.fixture(scope="module")
def local_records(opener, tmp_path_factory):
    res = _run(tmp_path_factory.mktemp("local"), opener)
    recs = _by_id(res.records_path)
    assert len(recs) == N
    assert recs[f"s{CRASH_AT:03d}"]["paths"]["device_features"]["reason"] == "crash"
    assert recs[f"s{HANG_AT:03d}"]["paths"]["device_features"]["reason"] == "timeout"
    return recs


def _pids_under(root: int) -> set[int]:
    """root and its descendants (from /proc), to find which node runs an emulator."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    seen, todo = set(), [root]
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo += children.get(p, [])
    return seen


def _long_running_qemu_node(workers, min_age_s: float):
    """The worker node whose emulator has been running at least min_age_s (the hang batch)."""
    tick = os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    for node in workers:
        raylet = node.all_processes["raylet"][0].process.pid
        for pid in _pids_under(raylet):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                start = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]) / tick
            except (OSError, IndexError, ValueError):
                continue
            if b"qemu-system-arm" in cmd and uptime - start >= min_age_s:
                return node
    return None


def test_cluster_run_equals_local_and_survives_a_killed_node(cluster, opener, local_records, tmp_path):
    c, workers = cluster
    rc = RayCluster(c.address)

    # 1. the records on two nodes are the local run's, faults included
    with rc:
        res = _run(tmp_path / "whole", opener, cluster=rc)
    assert res.new == N and res.device.requeued == 0
    assert _by_id(res.records_path) == local_records
    assert len(rc.last.batches_by_node) == 2, rc.last.batches_by_node  # both nodes took batches

    # 2. kill the node running the hang batch (its emulator lives for the timeout): its batch
    #    runs again on the other node; nothing lost, nothing duplicated
    killed = []

    def killer():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            node = _long_running_qemu_node(workers, min_age_s=1.0)
            if node is not None:
                c.remove_node(node, allow_graceful=False)
                killed.append(node)
                return
            time.sleep(0.1)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    with rc:
        res = _run(tmp_path / "killed", opener, cluster=rc)
    t.join(timeout=5)
    assert killed, "no worker node was found running the hang batch"
    assert res.device.requeued >= 1, "the killed node had no batch in flight"
    recs = _by_id(res.records_path)
    assert set(recs) == set(local_records)          # 0 lost
    assert len(read_records(res.records_path)) == N  # 0 duplicated
    assert recs == local_records

    # 3. a rerun resumes: half the records gone, the cluster (one node left) writes the rest
    path = res.records_path
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: N // 2]))
    with rc:
        res = _run(tmp_path / "killed", opener, cluster=rc)
    assert res.resumed == N // 2 and res.new == N - N // 2
    assert _by_id(res.records_path) == local_records


def test_a_node_without_qemu_is_named(cluster, opener, tmp_path):
    c, _ = cluster
    # a real node whose PATH has Python but not QEMU
    no_qemu = c.add_node(num_cpus=1, env_vars={"PATH": str(Path(os.sys.executable).parent)}, **LOOPBACK)
    try:
        c.wait_for_nodes()
        with pytest.raises(UserError, match=r"node .*127\.0\.0\.1.* has no qemu-system-arm"):
            with RayCluster(c.address) as rc:
                _run(tmp_path / "noqemu", opener, cluster=rc)
        assert not (tmp_path / "noqemu" / "records.jsonl").read_bytes()  # nothing ran
    finally:
        c.remove_node(no_qemu)

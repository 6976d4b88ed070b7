"""The harness on real QEMU sessions with the firmware test model (tests/firmware/testmodel):
parallel sessions, preloaded batches, and real device faults (a bus fault, a hang) recorded
per sample while the run goes on."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.devices import open_device
from edgekit.firmware import build_elf
from edgekit.harness import core
from edgekit.harness.records import RecordStore, read_records
from edgekit.harness.runner import DeviceJob
from edgekit.targets import load_target
from tests.firmware import testmodel as tm

pytestmark = pytest.mark.slow

QUANT = core.OutputQuant(scale=1.0, zero_point=tm.ZP_OUT)


@pytest.fixture(scope="module")
def target():
    return load_target("cortex-m4")


@pytest.fixture(scope="module")
def image(target, tmp_path_factory):
    return build_elf(target, [tm.SOURCE], [], None, tmp_path_factory.mktemp("fw"), app="protocol")


def _inputs(n):
    rng = np.random.default_rng(3)
    xs = [rng.integers(-128, 128, 16, dtype=np.int8).tobytes() for _ in range(n)]
    xs[5] = tm.CRASH_INPUT
    xs[17] = tm.HANG_INPUT
    return xs


def test_parallel_sessions_with_real_faults(tmp_path, target, image):
    xs = _inputs(40)
    samples = [core.EvalSample(f"s{i:03d}", int(np.argmax(np.frombuffer(tm.reference(x), np.int8))), {"k": str(i % 2)})
               for i, x in enumerate(xs)]
    jobs = lambda s: DeviceJob(s.id, {"device_features": ("features", xs[int(s.id[1:])])})  # noqa: E731
    opener = lambda: open_device("qemu", target, image, inference_timeout_s=4.0)  # noqa: E731
    with RecordStore(tmp_path, {"m": "testmodel"}) as store:
        res = core.run(samples, store, lambda pending: {}, jobs, opener, lambda p, r: core.device_part(r, QUANT),
                       {"device_e2e": "no frontend"}, sessions=2, batch_size=8)
    recs = {r["id"]: r for r in read_records(res.records_path)}
    assert len(recs) == 40
    assert recs["s005"]["paths"]["device_features"]["status"] == "error"
    assert recs["s005"]["paths"]["device_features"]["reason"] == "crash"
    assert recs["s017"]["paths"]["device_features"]["reason"] == "timeout"
    for i, x in enumerate(xs):
        if i in (5, 17):
            continue
        part = recs[f"s{i:03d}"]["paths"]["device_features"]
        assert part["status"] == "ok", (i, part)
        assert part["q"] == list(np.frombuffer(tm.reference(x), np.int8))
        assert part["unit"] == "instructions (emulated)" and part["model_count"] > 0
    assert res.device.sessions == 2 and res.device.restarts >= 2
    assert res.device.device_errors == {"crash": 1, "timeout": 1}

"""Harness: records, resume (incl. kill -9), fault handling, parallel sessions (fake device
for host-side fault injection; the real device path is in test_eval_qemu.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from edgekit.harness import core
from edgekit.harness.records import RecordStore, read_records
from edgekit.harness.runner import DeviceJob, DeviceUnavailable

from tests.harness.fakes import N_CLASSES, FakeDevice, fake_output

REPO = Path(__file__).resolve().parents[2]
QUANT = core.OutputQuant(scale=0.5, zero_point=0)


def payload(i: int) -> bytes:
    return bytes([i % 251, (i * 7) % 251, 3])


def samples(n):
    return [core.EvalSample(id=f"s{i:04d}", label=i % N_CLASSES, cohort={"mic": "ab"[i % 2]}) for i in range(n)]


def host_paths(pending):
    return {s.id: {"float": core.scores_part(np.eye(N_CLASSES)[s.label])} for s in pending}


def jobs(s):
    return DeviceJob(s.id, {"device_features": ("features", payload(int(s.id[1:])))})


def decode(path, result):
    return core.device_part(result, QUANT)


def run(tmp_path, n=20, identity=None, **kw):
    with RecordStore(tmp_path, identity or {"model": "m"}) as store:
        opener = kw.pop("open_session", lambda: FakeDevice())
        return core.run(samples(n), store, host_paths, jobs, opener, decode,
                        {"device_e2e": "firmware has no on-device frontend"}, **kw)


def test_every_sample_gets_one_record_with_all_paths(tmp_path):
    res = run(tmp_path, n=20, sessions=2, batch_size=4)
    recs = read_records(res.records_path)
    assert len(recs) == 20 and res.new == 20 and res.resumed == 0
    assert len({r["id"] for r in recs}) == 20
    r = next(r for r in recs if r["id"] == "s0005")
    expected = fake_output(payload(5))
    q = [b - 256 if b > 127 else b for b in expected]
    assert r["paths"]["device_features"]["q"] == q
    assert r["paths"]["device_features"]["pred"] == int(np.argmax(q))
    assert r["paths"]["device_features"]["unit"] == "instructions (emulated)"
    assert r["paths"]["device_e2e"] == {"status": "unavailable", "reason": "firmware has no on-device frontend"}
    assert r["paths"]["float"]["pred"] == r["label"]
    assert res.device.sessions == 2


def test_resume_skips_recorded_ids_and_tolerates_torn_line(tmp_path):
    run(tmp_path, n=10)
    p = tmp_path / "records.jsonl"
    full = p.read_bytes()
    lines = full.splitlines(keepends=True)
    # keep 4 whole records and half of the 5th, as a kill -9 inside a write leaves it
    p.write_bytes(b"".join(lines[:4]) + lines[4][: len(lines[4]) // 2])
    res = run(tmp_path, n=10)
    assert res.resumed == 4 and res.new == 6
    recs = read_records(p)
    assert sorted(r["id"] for r in recs) == [f"s{i:04d}" for i in range(10)]
    assert all(line.endswith(b"\n") for line in p.read_bytes().splitlines(keepends=True))


def test_other_identity_moves_old_records_aside(tmp_path):
    run(tmp_path, n=5, identity={"model": "a"})
    res = run(tmp_path, n=5, identity={"model": "b"})
    assert res.resumed == 0 and res.new == 5
    assert res.moved_aside is not None and res.moved_aside.is_file()


def test_a_crashing_sample_is_recorded_and_the_run_goes_on(tmp_path):
    log = []
    bad = {payload(3): "crash", payload(7): "timeout"}
    res = run(tmp_path, n=12, batch_size=4, open_session=lambda: FakeDevice(fail_on=bad, log=log))
    recs = {r["id"]: r for r in read_records(res.records_path)}
    assert len(recs) == 12
    assert recs["s0003"]["paths"]["device_features"]["status"] == "error"
    assert recs["s0003"]["paths"]["device_features"]["reason"] == "crash"
    assert recs["s0007"]["paths"]["device_features"]["reason"] == "timeout"
    assert recs["s0002"]["paths"]["device_features"]["status"] == "ok"
    assert recs["s0008"]["paths"]["device_features"]["status"] == "ok"
    assert res.device.device_errors == {"crash": 1, "timeout": 1}
    # restarted after each failed batch and after each failed sample
    assert sum(1 for e in log if e[0] == "restart") == 4


def test_a_device_that_cannot_restart_stops_the_run_keeping_records(tmp_path):
    opened = []

    class Dead(FakeDevice):
        def restart(self):
            from tests.harness.fakes import FakeDeviceError
            raise FakeDeviceError("crash")

    def opener():
        opened.append(1)
        if len(opened) > 1:
            raise OSError("qemu would not start")
        return Dead(fail_on={payload(5): "crash"})

    with pytest.raises(DeviceUnavailable):
        run(tmp_path, n=12, batch_size=4, open_session=opener)
    assert len(read_records(tmp_path / "records.jsonl")) == 4  # the first batch was kept


def test_a_bug_is_not_swallowed_as_a_device_error(tmp_path):
    class Buggy(FakeDevice):
        def infer_batch(self, items, kind):
            raise ZeroDivisionError("bug")

    with pytest.raises(ZeroDivisionError):
        run(tmp_path, n=4, open_session=lambda: Buggy())


SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {repo!r})
    from edgekit.harness import core
    from edgekit.harness.records import RecordStore
    from tests.harness import test_harness as t
    from tests.harness.fakes import FakeDevice
    with RecordStore(sys.argv[1], {{"model": "m"}}) as store:
        core.run(t.samples(40), store, t.host_paths, t.jobs, lambda: FakeDevice(delay_s=float(sys.argv[2])),
                 t.decode, {{}}, sessions=2, batch_size=2)
""")


def test_kill_9_midway_then_rerun_gives_the_same_records(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(repo=str(REPO)))
    ref_dir, dir_ = tmp_path / "ref", tmp_path / "killed"
    subprocess.run([sys.executable, str(script), str(ref_dir), "0"], check=True, cwd=REPO)
    proc = subprocess.Popen([sys.executable, str(script), str(dir_), "0.05"], cwd=REPO)
    deadline = time.time() + 60
    recs = dir_ / "records.jsonl"
    while time.time() < deadline and (not recs.exists() or recs.read_bytes().count(b"\n") < 8):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = recs.read_bytes().count(b"\n")
    assert 8 <= partial < 40
    subprocess.run([sys.executable, str(script), str(dir_), "0"], check=True, cwd=REPO)
    key = lambda r: r["id"]  # noqa: E731
    assert sorted(read_records(recs), key=key) == sorted(read_records(ref_dir / "records.jsonl"), key=key)


def test_resume_reruns_the_same_fixed_batches(tmp_path):
    run(tmp_path, n=40, batch_size=8)
    p = tmp_path / "records.jsonl"
    by_id = {r["id"]: r for r in read_records(p)}
    # as if killed after batch 0 and half of batch 1 had been written
    keep = [by_id[f"s{i:04d}"] for i in range(12)]
    p.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in keep))
    log = []
    res = run(tmp_path, n=40, batch_size=8, open_session=lambda: FakeDevice(log=log))
    assert res.resumed == 12 and res.new == 28
    sent = sorted(e[2] for e in log if e[0] == "batch")
    assert sent == [8, 8, 8, 8]  # batch 1 runs whole again; batch 0 not at all
    assert sorted(r["id"] for r in read_records(p)) == [f"s{i:04d}" for i in range(40)]


def test_same_input_path_is_taken_from_its_source_when_the_frontend_matches(tmp_path):
    """DeviceJob.same_input: where the device frontend's output equals the host features, the
    features path is the end-to-end inference's model run (not run again, no counters of its
    own); where it differs, the features path runs on the device."""
    from tests.harness.fakes import FakeFrontendDevice

    def jobs_e2e(s):
        feats = payload(int(s.id[1:]))
        raw = feats + b"raw-" + s.id.encode()
        return DeviceJob(s.id, {"device_features": ("features", feats), "device_e2e": ("raw", raw)},
                         same_input={"device_features": ("device_e2e", feats)})

    skewed = {payload(i) + b"raw-" + f"s{i:04d}".encode(): 1 for i in (3, 7)}
    log: list = []
    with RecordStore(tmp_path, {"model": "m"}) as store:
        res = core.run(samples(12), store, host_paths, jobs_e2e,
                       lambda: FakeFrontendDevice(skew=skewed, log=log), decode, {}, sessions=1, batch_size=6)
    recs = {r["id"]: r for r in read_records(res.records_path)}
    assert len(recs) == 12
    for i in range(12):
        feats, e2e = recs[f"s{i:04d}"]["paths"]["device_features"], recs[f"s{i:04d}"]["paths"]["device_e2e"]
        assert feats["status"] == e2e["status"] == "ok"
        assert feats["q"] == list(np.frombuffer(fake_output(payload(i)), np.int8))
        assert e2e["frontend_count"] == 777
        if i in (3, 7):   # the frontend differed: the features path ran, with its own counters
            assert "same_input_as" not in feats and feats["model_count"] == 1003 and feats["frontend_count"] == 0
        else:
            assert feats["same_input_as"] == "device_e2e" and "model_count" not in feats
            assert feats["q"] == e2e["q"]
    # e2e first in each batch; the features path only for the one mismatch of each batch, on
    # the session as it is (no second preloaded batch for one input)
    assert [e for e in log if e[0] in ("batch", "infer")] == [("batch", "raw", 6), ("infer", "features")] * 2

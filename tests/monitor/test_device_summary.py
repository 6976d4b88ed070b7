"""End to end on KWS (slow): the firmware's summary (firmware/app/ek_summary.c) equals the
Python one on QEMU, and a simulated rollout is called skew in firmware v2 by the CLI. One
build folder for the module, seeded with the session's int8 model (tests/conftest.py)."""

import numpy as np
import pytest

from edgekit import data, interpreters
from edgekit.build import build
from edgekit.devices import open_device
from edgekit.models import load_model
from edgekit.monitor.summary import summarize
from edgekit.targets import load_target

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stage(tmp_path_factory, seed_stage):
    root = tmp_path_factory.mktemp("monitor-e2e")
    seed_stage(root / "build", "kws", "cortex-m4")   # the session's one conversion (tests/conftest.py)
    mp = pytest.MonkeyPatch()
    mp.setenv("EDGEKIT_BUILD", str(root / "build"))
    yield root
    mp.undo()


def test_kws_firmware_summary_equals_python_and_costs_under_budget(stage):
    spec, target = load_model("kws"), load_target("cortex-m4")
    out = stage / "build" / "cortex-m4" / "kws"   # the stage folder: the next test reuses the int8 model
    res = build(spec, target, firmware_variant="none", out_dir=out)
    tflite = out / "model_int8.tflite"
    cost = res.device_summary
    assert cost["ram_bytes"] <= 512 and cost["share_of_model"] <= 0.01, cost
    X, _, _ = data.split_arrays(spec, "test", limit=40)
    in_q, out_q = interpreters.io_quant(tflite)
    xq = in_q.quantize(X[::2])   # 20 clips, the cohorts mixed
    with open_device("qemu", target, res.elf) as dev:
        dev.summary()            # reset: the build's own inferences are another window
        outs = [np.frombuffer(dev.infer(row.tobytes(), "features").output, np.int8) for row in xq]
        s = dev.summary(reset=False)
        again = dev.summary()
        empty = dev.summary()
    py = summarize(xq, np.stack(outs), out_q.dtype)
    host = summarize(xq, interpreters.run_litert_ref(tflite, xq).reshape(len(xq), -1))
    assert s.count == py.count == 20 and s.elements == py.feature_elements == 49
    assert list(s.class_hist) == py.class_hist == host.class_hist
    assert list(s.conf_hist) == py.conf_hist == host.conf_hist
    assert list(s.feature_sum) == py.feature_sum and list(s.feature_sumsq) == py.feature_sumsq
    assert again == s and empty.count == 0 and sum(empty.class_hist) == 0


def test_a_simulated_rollout_is_called_skew_in_firmware_v2(stage):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "EDGEKIT_BUILD": str(stage / "build")}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "edgekit", "monitor", *args], capture_output=True, text=True,
                              env=env, cwd=stage, timeout=1200)

    sim = cli("simulate", "--model", "kws", "--scenario", "firmware-rollout", "--devices", "240", "--days", "35",
              "--ingest", "--format", "jsonl")
    assert sim.returncode == 0, sim.stderr
    chk = cli("check", "--model", "kws", "--by", "device_model,firmware", "--json")
    assert chk.returncode == 1, chk.stderr
    res = json.loads(chk.stdout)
    cohorts = {f"{c['field']}={c['value']}": c for c in res["cohorts"]}
    assert {f"{c['field']}={c['value']}" for c in res["cohorts"] if c["alarm"]} == {"device_model=dm-b", "firmware=v2"}
    v = cohorts["device_model=dm-b"]["verdict"]
    assert v["kind"] == "skew" and v["version"] == "v2"
    # the simulated devices report the variant v2 runs, so the confirm line names it
    assert v["confirm"] == "edgekit skew --target cortex-m4 --model kws --firmware-variant fixed-q15"
    assert 21 <= cohorts["device_model=dm-b"]["detected_window"] <= 24
    page = (stage / "build" / "cortex-m4" / "kws" / "report.html").read_text()
    assert "skew in firmware v2" in page
    again = cli("ingest", *sorted(str(p) for p in (stage / "build" / "cortex-m4" / "kws" / "monitor" / "sim"
                                                    / "firmware-rollout").glob("telemetry-*.jsonl")), "--model", "kws")
    assert again.returncode == 0 and "already ingested" in again.stdout

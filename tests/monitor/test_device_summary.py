"""The firmware's summary (firmware/app/ek_summary.c) equals the Python one, on QEMU (slow)."""

import numpy as np
import pytest

from edgekit import data, interpreters
from edgekit.build import build
from edgekit.devices import open_device
from edgekit.models import load_model
from edgekit.monitor.summary import summarize
from edgekit.targets import load_target

pytestmark = pytest.mark.slow


def test_kws_firmware_summary_equals_python_and_costs_under_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_BUILD", str(tmp_path / "build"))
    spec, target = load_model("kws"), load_target("cortex-m4")
    res = build(spec, target, firmware_variant="none", out_dir=tmp_path / "fw")
    tflite = tmp_path / "build" / "cortex-m4" / "kws" / "model_int8.tflite"
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

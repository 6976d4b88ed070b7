"""The host skew statistics on hand-made numbers: the interaction's paired mean, the
detectable drop, the clipped share per channel, and which flagged cohort carries a drop."""

from __future__ import annotations

import math

import numpy as np

from edgekit.interpreters import TensorQuant
from edgekit.skew import host


def test_paired_mean_interval_and_p():
    d = np.array([-1.0] * 12 + [0.0] * 88)
    r = host._paired_mean(d)
    sd = d.std(ddof=1)
    assert math.isclose(r["difference"], -0.12) and math.isclose(r["ci_high"], -0.12 + 1.959963984540054 * sd / 10)
    assert r["significant"] and r["p_value"] < 0.001
    z = host._paired_mean(np.zeros(50))
    assert z["difference"] == z["ci_low"] == z["ci_high"] == 0.0 and z["p_value"] == 1.0 and not z["significant"]


def test_detectable_drop_shrinks_with_n_and_has_a_floor():
    assert host.detectable_drop(100, 0.0) == (1.959963984540054 + 0.8416212335729143) ** 2 / 100
    assert host.detectable_drop(400, 0.1) < host.detectable_drop(100, 0.1)
    assert math.isclose(host.detectable_drop(100, 0.25), 2.8016 * 0.05, rel_tol=1e-3)
    assert host.detectable_drop(0, 0.1) == 1.0


def test_saturation_counts_values_past_the_int8_range_per_channel():
    q = TensorQuant("int8", (1, 2, 2, 3), 0.1, 0)  # range [-12.8, 12.7]
    ref = np.zeros((4, 2, 2, 3), np.float32)
    dev = ref.copy()
    dev[:2, :, :, 0] = 20.0    # half of channel 0 above the range
    dev[0, 0, 0, 2] = -30.0    # one value of channel 2 below it
    s = host.saturation(dev, q.quantize(dev), ref, q, from_int8=False)
    assert s["axis"] == "channel" and s["device_high"] == [0.5, 0.0, 0.0] and s["device_low"] == [0.0, 0.0, 0.0625]
    assert s["reference"] == [0.0, 0.0, 0.0]
    s8 = host.saturation(q.dequantize(q.quantize(dev)), q.quantize(dev), ref, q, from_int8=True)
    assert s8["device_high"][0] == 0.5  # from int8 tensors: the values at 127


def _rec(i, mic, noise, ref_ok, dev_ok):
    return {"id": f"s{i}", "label": 1, "cohort": {"mic": mic, "noise": noise},
            "paths": {"int8_host": {"status": "ok", "pred": 1 if ref_ok else 0},
                      "int8_device_pre": {"status": "ok", "pred": 1 if dev_ok else 0}}}


def test_a_cohort_flagged_only_through_shared_samples_is_carried_by_the_other():
    recs = []
    for i in range(120):  # telephone samples lose; babble holds half of them and others that do not
        mic = "telephone" if i < 60 else "flat"
        noise = "babble" if i % 2 == 0 else "white"
        recs.append(_rec(i, mic, noise, True, not (mic == "telephone" and i % 3 != 0)))
    index = {("mic", "telephone"): np.arange(60), ("mic", "flat"): np.arange(60, 120),
             ("noise", "babble"): np.arange(0, 120, 2), ("noise", "white"): np.arange(1, 120, 2),
             ("all", "all"): np.arange(120)}
    flagged = [{"field": "noise", "value": "babble", "difference": -0.33},
               {"field": "mic", "value": "telephone", "difference": -0.67},
               {"field": "all", "value": "all", "difference": -0.33}]
    host._carriers(flagged, recs, index, labelled=True, threshold=0.02)
    by = {(f["field"], f["value"]): f["carried_by"] for f in flagged}
    assert by == {("mic", "telephone"): "mic=telephone", ("noise", "babble"): "mic=telephone",
                  ("all", "all"): "mic=telephone"}

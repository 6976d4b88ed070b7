"""Snapdragon HTP through ONNX Runtime QNN on a small synthetic model: the real QNN HTP
emulator, real context-binary compilation (a few seconds in all)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgekit.errors import UserError
from edgekit.npu import qnn, qnn_eval, roofline
from edgekit.targets import load_target


@pytest.fixture(scope="module")
def htp():
    return load_target("snapdragon-htp")


@pytest.fixture(scope="module")
def built(small_keras, calibration, htp, tmp_path_factory):
    out = tmp_path_factory.mktemp("qnn_build")
    return qnn.build_from_keras(small_keras, calibration, htp, out, "small")


def test_qdq_model_runs_entirely_on_the_htp(built, htp):
    assert built.runtime == "onnxruntime-qnn"
    assert built.all_on_npu and built.ops_on_npu == built.ops_total > 0
    qdq = onnx.load(built.artefacts["qdq_model"])
    ops = {n.op_type for n in qdq.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    # Activations quantized to the profile's type (uint8 -> zero points of elem type UINT8).
    zp_types = {i.data_type for i in qdq.graph.initializer if i.name.endswith("zero_point")}
    assert zp_types == {TensorProto.UINT8} and htp.npu.activation_type == "uint8"
    # Fallback-disabled session opens: that is the proof; the trace agrees.
    trace = json.loads(built.artefacts["op_trace"].read_text())
    assert trace["unsupported_nodes"] == [] and trace["summary"]["supported_nodes"] == built.ops_total
    assert built.details["qnn_ops"].get("Conv2d", 0) >= 2


def test_weight_schemes_are_measured_not_assumed(built):
    rows = built.details["weight_schemes"]
    assert [r["weights"] for r in rows] == ["per-tensor", "per-channel"]
    for r in rows:
        assert r["all_ops_on_htp"] is True and r["htp_vs_float"]["n"] > 0
    assert built.details["weight_scheme"] in ("per-tensor", "per-channel")


def test_context_binary_per_soc_records_its_soc(built, htp):
    ctx = {c["soc"]: c for c in built.details["context_binaries"]}
    assert set(ctx) == set(htp.npu.socs)
    assert ctx["SM8550"]["htp_arch"] == 73 and ctx["SM8650"]["htp_arch"] == 75
    for soc, c in ctx.items():
        binary = built.artefacts[f"context_binary_{soc}"]
        assert binary.stat().st_size == c["bytes"] > 0
        assert f"soc_type={soc};".encode() in binary.read_bytes()
        model = onnx.load(built.artefacts[f"context_model_{soc}"])
        assert [n.op_type for n in model.graph.node] == ["EPContext"]
    assert ctx["SM8550"]["sha256"] != ctx["SM8650"]["sha256"]


def test_emulated_outputs_match_references(built):
    ref = built.details["outputs_vs_references"]
    # The HTP and the CPU EP run the same QDQ model: at most one output step (1/255) apart.
    assert ref["htp_vs_qdq_cpu"]["max_abs_diff"] <= 1.01 / 255
    assert ref["htp_vs_qdq_cpu"]["top1_agreement"] >= 0.9
    assert ref["htp_vs_float_onnx"]["max_abs_diff"] < 0.1
    assert built.details["export_check"]["max_abs_diff"] < 1e-3


def test_context_model_runs_on_the_emulator_like_the_qdq_model(built, calibration):
    x = calibration[:8]
    a = qnn.run_session(qnn.htp_session(built.artefacts["qdq_model"]), x)
    for soc in ("SM8550", "SM8650"):
        b = qnn.run_session(qnn.htp_session(built.artefacts[f"context_model_{soc}"]), x)
        # Compiled for a named SoC the graph may round differently: within one output step.
        assert np.abs(a - b).max() <= 1.01 / 255
        assert (a.argmax(1) == b.argmax(1)).mean() >= 0.9


def test_latency_is_a_labelled_roofline_estimate(built, htp):
    roof = built.details["roofline"]
    assert roof["dominant_term"] in ("compute", "memory")
    assert roof["latency_ms_estimated"] >= max(roof["compute_ms_estimated"], roof["memory_ms_estimated"])
    assert built.figures["latency_ms"] == roof["latency_ms_estimated"]
    assert built.figures_how["latency_ms"].startswith("estimated (roofline")
    assert built.figures_how["flash_kb"].startswith("measured")
    rows = {b.name: b for b in built.budget_rows}
    assert rows["latency (estimated, roofline)"].budget == htp.budgets.latency_p99_ms
    assert rows["latency (estimated, roofline)"].value == pytest.approx(built.figures["latency_ms"])
    section = json.loads((built.out_dir / "report.json").read_text())["npu"]
    assert section["all_on_npu"] is True and section["details"]["roofline"]["how"].startswith("estimated")
    assert section["budget"]["passed"] is True and len(section["budget"]["rows"]) == 5


def _erf_qdq(path):
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32), "W")
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Erf", ["c"], ["e"], name="my_erf"),
         helper.make_node("Relu", ["e"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], [w])
    fp = path.with_name("erf_float.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), fp)
    cal = np.random.default_rng(1).standard_normal((4, 3, 8, 8)).astype(np.float32)
    return qnn.quantize_qdq(fp, path, cal, "uint8", "uint8", per_channel=False)


def test_an_op_the_htp_cannot_run_is_an_error_naming_it(tmp_path):
    qdq = _erf_qdq(tmp_path / "erf_qdq.onnx")
    with pytest.raises(qnn.HtpUnsupported) as exc:
        qnn.htp_session(qdq)
    assert "Erf (my_erf)" in str(exc.value)
    assert any(o.op_type == "Erf" and "not supported" in o.reason for o in exc.value.ops)


def test_unknown_soc_and_wrong_target_are_user_errors(htp, small_keras, calibration, tmp_path):
    bad = htp.model_copy(update={"npu": htp.npu.model_copy(update={"socs": ["SM0000"]})})
    with pytest.raises(UserError, match="npu.socs: unknown SoC 'SM0000'"):
        qnn.build_from_keras(small_keras, calibration, bad, tmp_path, "small")
    with pytest.raises(UserError, match="needs a hexagon-htp NPU"):
        qnn.build_from_keras(small_keras, calibration, load_target("cortex-m55-ethos-u55"), tmp_path, "small")
    with pytest.raises(UserError, match="weights not found"):
        qnn.export_onnx(tmp_path / "missing.keras", tmp_path / "m.onnx")


def test_eval_source_scores_every_path_and_runs_the_emulator_as_a_device(built, htp, calibration):
    """What `edgekit eval` runs for an HTP target (harness.evaluate, host sessions): the host
    paths on ONNX Runtime's CPU provider, and the HTP emulator behind the device session
    interface the harness's runner drives, on the context model compiled for the profile's SoC."""
    from types import SimpleNamespace

    from edgekit.harness.core import scores_part
    from edgekit.harness.summary import summarize
    from edgekit.report.gates import gate_rows

    x = calibration
    source = qnn_eval.QnnEvalSource(SimpleNamespace(name="small"), htp, built.out_dir)
    assert source.device_model.name == "model_ctx_SM8650.onnx"  # the profile's part is the SM8650
    host = source.host_scores(x)
    assert set(host) == {"float", "int8_host"} and host["int8_host"].shape == (len(x), 4)
    session = source.opener(x.shape[1:])()
    dev = np.array(session.infer_batch([source.payload(r) for r in x], "features"))
    assert np.array_equal(dev.reshape(len(x), -1),
                          qnn.run_session(qnn.htp_session(source.device_model), x).reshape(len(x), -1))
    session.close()
    # Labels from the float model so accuracy is meaningful (not chance) for a random network.
    y = host["float"].argmax(1)
    recs = [{"id": f"s{i}", "label": int(y[i]),
             "cohort": {"sensor": "a" if i % 2 else "b", "lighting": "dim" if i % 3 else "bright"},
             "paths": {"device_features": scores_part(source.scores(dev[i])),
                       **{p: scores_part(v[i]) for p, v in host.items()}}} for i in range(len(x))]
    section = summarize(recs, target=htp, model_name="small", labels=list("abcd"),
                        cohort_fields=["sensor", "lighting"], device_info=source.device_info)
    section.update(source.analysis(recs))
    assert section["paths"]["float"]["accuracy"] == 1.0 and section["device_path"] == "device_features"
    rows = [g for g in gate_rows(section) if g["gate"] == "tolerance"]
    acc = {(a["path"], a["field"], a["value"]): a["accuracy"] for a in section["accuracy"]}
    assert {g["subject"] for g in rows} == {"overall", "sensor=a", "sensor=b", "lighting=dim", "lighting=bright"}
    for g in rows:
        field, value = ("all", "all") if g["subject"] == "overall" else g["subject"].split("=")
        diff = 100 * (acc[("device_features", field, value)] - acc[("int8_host", field, value)])
        assert g["value"] == pytest.approx(diff, abs=1e-3) and g["passed"] == (abs(diff) <= 1.0 + 1e-9)
    agreement = section["agreement"]["device_features_vs_int8_host"]
    assert agreement["n"] == len(x) and 0.0 <= agreement["top1_agreement"] <= 1.0


def _tolerance_section(device_preds, ref_preds, htp) -> dict:
    from edgekit.harness.summary import summarize

    recs = [{"id": str(i), "cohort": {"sensor": "b"}, "label": 1, "paths": {
        "device_features": {"status": "ok", "pred": d, "scores": [float(d == 0), float(d == 1)]},
        "int8_host": {"status": "ok", "pred": r, "scores": [float(r == 0), float(r == 1)]}}}
        for i, (d, r) in enumerate(zip(device_preds, ref_preds))]
    section = summarize(recs, target=htp, model_name="m", labels=["x", "y"], cohort_fields=["sensor"])
    section["tolerance"] = {"reference": "int8_host", "points": qnn_eval.TOLERANCE_POINTS}
    return section


def test_exactly_one_point_is_within_one_point(htp):
    """9 flips in 900 samples is 1.0 point: float rounding must not turn it into a failure."""
    from edgekit.errors import CheckFailed
    from edgekit.report.gates import enforce, tolerance_rows

    ref = [0 if i < 9 else 1 for i in range(900)]  # the reference misses the first 9
    rows = tolerance_rows(_tolerance_section([1] * 900, ref, htp))
    assert {r["subject"]: r["value"] for r in rows} == {"overall": 1.0, "sensor=b": 1.0}
    assert all(r["passed"] for r in rows)
    enforce(rows)
    ref[9] = 0  # a 10th flip: 1.11 points, over the tolerance; the gate names the cohort
    rows = tolerance_rows(_tolerance_section([1] * 900, ref, htp))
    assert not any(r["passed"] for r in rows) and rows[1]["value"] == pytest.approx(1.1111, abs=1e-4)
    with pytest.raises(CheckFailed) as exc:
        enforce(rows)
    assert {r["subject"] for r in exc.value.table} == {"overall", "sensor=b"}


def test_roofline_counts_conv_macs_and_bytes(tmp_path):
    w = numpy_helper.from_array(np.zeros((8, 3, 3, 3), np.float32), "W")
    g = helper.make_graph([helper.make_node("Conv", ["x", "W"], ["y"], pads=[1, 1, 1, 1], name="conv")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 8, 8])], [w])
    p = tmp_path / "conv.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), p)
    est = roofline.estimate(p, macs_per_cycle=64, clock_mhz=100, dram_bandwidth_gbps=1.0)
    macs = 8 * 8 * 8 * 27
    moved = 3 * 8 * 8 + 8 * 27 + 8 * 8 * 8
    assert est.macs == macs and est.bytes_moved == moved
    assert est.compute_ms == pytest.approx(macs / (64 * 100) / 1e3)
    assert est.memory_ms == pytest.approx(moved / 1e3 / 1e3)
    assert est.dominant == ("memory" if est.memory_ms > est.compute_ms else "compute")
    assert roofline.peak_activation_bytes(p) == 3 * 8 * 8 + 8 * 8 * 8


def test_disagreements_are_placed_by_how_sure_the_float_model_is():
    float_scores = np.array([[0.55, 0.45], [0.9, 0.1], [0.1, 0.9], [0.5, 0.5]])
    a = np.array([0, 0, 1, 0])
    b = np.array([1, 0, 1, 1])  # disagrees on the two near ties only
    d = qnn_eval.disagreements_by_margin(a, b, float_scores)
    assert d["disagreements"] == 2 and d["samples_near_tie"] == 2
    assert d["disagreement_rate_near_tie"] == 1.0 and d["disagreement_rate_confident"] == 0.0
    assert d["largest_float_margin_of_a_disagreement"] == pytest.approx(0.1)
    b[1] = 1  # a disagreement on a confident sample shows up
    d = qnn_eval.disagreements_by_margin(a, b, float_scores)
    assert d["disagreement_rate_confident"] == 0.5
    assert d["largest_float_margin_of_a_disagreement"] == pytest.approx(0.8)

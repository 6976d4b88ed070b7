"""The converter on small synthetic models: outputs, model properties, report contents."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.convert import FLOAT_NAME, INT8_NAME, QUANT_REPORT_NAME, convert
from edgekit.errors import UserError
from edgekit.interpreters import litert_interpreter, run_litert_ref
from edgekit.models import load_model
from edgekit.reportstore import read_report
from edgekit.targets import load_target


def test_writes_models_report_and_section(syn_converted):
    r = syn_converted
    for name in (INT8_NAME, FLOAT_NAME, QUANT_REPORT_NAME, "report.json"):
        assert (r.out_dir / name).is_file(), name
    assert not list(r.out_dir.glob(".convert-*")), "the work folder must be cleaned up"
    section = read_report(r.out_dir)["convert"]
    on_disk = json.loads((r.out_dir / QUANT_REPORT_NAME).read_text())
    assert section == on_disk
    assert section["model_sha256"] == __import__("hashlib").sha256((r.out_dir / INT8_NAME).read_bytes()).hexdigest()
    assert section["tflm_arena"]["smallest_working_bytes"] > 0
    assert section["bit_exactness"]["bit_exact"] is True
    assert section["bit_exactness"]["samples"] == 120
    assert "measured" in section["how"]["tflm_arena"]


def test_int8_model_is_full_integer_batch_one_per_channel(syn_converted):
    it = litert_interpreter(syn_converted.int8_path)
    ind, outd = it.get_input_details()[0], it.get_output_details()[0]
    assert ind["dtype"] == np.int8 and outd["dtype"] == np.int8
    assert list(ind["shape_signature"]) == [1, 16, 16, 3]
    ops = [o["op_name"] for o in it._get_ops_details()]
    for dynamic in ("SHAPE", "STRIDED_SLICE", "PACK"):
        assert dynamic not in ops  # the batch-1 rebuild removed them
    assert "RESHAPE" in ops
    td = it.get_tensor_details()
    conv = next(o for o in it._get_ops_details() if o["op_name"] == "CONV_2D")
    filt = td[conv["inputs"][1]]
    assert filt["dtype"] == np.int8
    assert len(filt["quantization_parameters"]["scales"]) == filt["shape"][0] > 1  # per output channel


def test_accuracy_overall_and_per_cohort(syn_converted, syn_data):
    acc = syn_converted.accuracy
    X, y, _ = syn_data.test_set()
    # The int8 figure is what the reference kernels compute on the quantized test inputs.
    q = syn_converted.input_quant.quantize(X)
    pred = run_litert_ref(syn_converted.int8_path, q).argmax(axis=1)
    assert acc.overall.int8_accuracy == pytest.approx(float((pred == y).mean()))
    assert acc.overall.n == 120
    assert set(acc.per_cohort["light"]) == {"dim", "bright"}
    assert sum(g.n for g in acc.per_cohort["light"].values()) == 120
    assert acc.overall.float_accuracy > 0.9  # the synthetic task is easy: a sanity check of the float path
    assert abs(acc.overall.delta_points) < 10


def test_per_layer_table(syn_converted):
    layers = syn_converted.layers
    assert layers[0].op == "INPUT"
    ops = [l.op for l in layers[1:]]
    assert ops[:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    assert ops[-1] == "SOFTMAX" and layers[-1].layer == "output"
    assert any(l.dominant for l in layers)
    for l in layers:
        assert l.sqnr_db is None or 10 < l.sqnr_db < 80, (l.layer, l.sqnr_db)
        assert 0 <= l.rmse_over_range < 0.1
    # The conv layer named after its Keras layer, not a TF op path.
    assert "conv2d" in layers[1].layer and "/" not in layers[1].layer


def test_sizes(syn_converted):
    s = syn_converted.sizes
    assert s.int8_tflite_bytes == syn_converted.int8_path.stat().st_size
    assert s.float32_tflite_bytes == syn_converted.float_path.stat().st_size
    assert s.float32_weight_bytes == 4 * s.parameters
    assert 2.0 < s.weight_ratio <= 4.0  # int8 weights, int32 biases


def test_prequantized_tflite_is_checked_not_requantized(syn_converted, syn_model_dir, syn_data, tmp_path):
    given = tmp_path / "given.tflite"
    given.write_bytes(syn_converted.int8_path.read_bytes())
    r = convert(load_model(str(syn_model_dir)), load_target("cortex-m4"), model_path=given,
                test_set=syn_data.test_set(40), out_dir=tmp_path / "out", verify_samples=8)
    assert r.source_kind == "tflite"
    assert (tmp_path / "out" / INT8_NAME).read_bytes() == given.read_bytes()
    assert r.float_path is None and r.layers == [] and r.accuracy.overall.float_accuracy is None
    assert r.bit_exactness.bit_exact


def test_int16_activations_refused_by_the_op_check(syn_model_dir, syn_data, tmp_path):
    # edgekit-micro has int8 kernels only: its profiles say so (refused before anything runs)...
    with pytest.raises(UserError, match="cortex-m4' runtime edgekit-micro supports int8 activations"):
        convert(load_model(str(syn_model_dir)), load_target("cortex-m4"), activations="int16", out_dir=tmp_path / "out")
    # ...and a profile that claims int16 anyway meets the op list, which names the op.
    m4 = load_target("cortex-m4")
    claims = m4.model_copy(update={"runtime": m4.runtime.model_copy(update={"activations": ["int8", "int16"]})})
    with pytest.raises(UserError) as exc:
        convert(load_model(str(syn_model_dir)), claims, activations="int16",
                calibration=syn_data.calibration(32), test_set=syn_data.test_set(24), out_dir=tmp_path / "out")
    msg = str(exc.value)
    assert "int16 tensors is not supported by edgekit-micro (it takes int8)" in msg
    assert "int8 activations" in msg and "\n" not in msg
    assert not (tmp_path / "out").exists()


def test_int16_refused_where_runtime_lacks_it(syn_model_dir, tmp_path):
    with pytest.raises(UserError, match="snapdragon-htp.*int8"):
        convert(load_model(str(syn_model_dir)), load_target("snapdragon-htp"), activations="int16", out_dir=tmp_path)


def test_gate_max_drop(syn_model_dir, syn_data, tmp_path):
    from edgekit.errors import CheckFailed

    # An impossible gate (int8 must beat float by 50 points) fails after writing the outputs.
    with pytest.raises(CheckFailed):
        convert(load_model(str(syn_model_dir)), load_target("cortex-m4"), calibration=syn_data.calibration(32),
                test_set=syn_data.test_set(24), out_dir=tmp_path, verify_samples=4, layer_samples=4,
                max_drop_points=-50)
    assert (tmp_path / INT8_NAME).is_file()


def test_dense_emitted_as_conv_by_default(syn_converted):
    ops = [u.op for u in syn_converted.ops]
    assert "FULLY_CONNECTED" not in ops and ops.count("CONV_2D") == 3
    assert any("1x1 CONV_2D" in n for n in syn_converted.notes)


def test_keep_dense_gives_per_tensor_fully_connected(syn_model_dir, syn_data, tmp_path):
    r = convert(load_model(str(syn_model_dir)), load_target("cortex-m4"), calibration=syn_data.calibration(32),
                test_set=syn_data.test_set(24), out_dir=tmp_path, verify_samples=0, layer_samples=8,
                dense_as_conv=False)
    it = litert_interpreter(r.int8_path)
    fc = next(o for o in it._get_ops_details() if o["op_name"] == "FULLY_CONNECTED")
    w = it.get_tensor_details()[fc["inputs"][1]]
    assert len(w["quantization_parameters"]["scales"]) == 1  # per-tensor: what MCU FC kernels take
    assert r.bit_exactness is None and r.layers[-2].op == "FULLY_CONNECTED"

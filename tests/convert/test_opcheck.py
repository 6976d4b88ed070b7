"""Op coverage: the runtime op lists and the check that runs before anything is built."""

from __future__ import annotations

import pytest

from edgekit.convert import convert
from edgekit.convert.opcheck import check_op_uses, check_ops, layer_name, list_ops, load_runtime, OpUse
from edgekit.errors import UserError
from edgekit.models import load_model
from edgekit.targets import load_target
from tests.convert import synthetic

ISSUE5_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "AVERAGE_POOL_2D", "MAX_POOL_2D", "PADV2",
              "MEAN", "SOFTMAX", "RESHAPE", "PAD", "QUANTIZE", "DEQUANTIZE"}


def test_runtime_lists():
    assert set(load_runtime("edgekit-micro").ops) >= ISSUE5_OPS  # exactly the registry: tests/codegen
    assert load_runtime("edgekit-micro").unsupported_is_error
    assert not load_runtime("vela").unsupported_is_error  # vela falls back to the CPU
    assert "Conv" in load_runtime("onnxruntime-qnn").onnx_ops
    with pytest.raises(UserError, match="no op list for runtime 'nope'"):
        load_runtime("nope")


def test_layer_names():
    assert layer_name("functional_1/re_lu_1/Relu;functional_1/conv2d_1/convolution") == "conv2d_1+re_lu_1"
    assert layer_name("StatefulPartitionedCall_1:0") == "output"


def test_quantized_model_passes(syn_converted):
    res = check_ops(syn_converted.int8_path, "edgekit-micro", "cortex-m4")
    assert res.ok and {u.signature for u in res.ops} == {"int8"}
    assert {u.op for u in res.ops} <= ISSUE5_OPS


def test_float_twin_checked_as_int8(syn_converted):
    assert check_ops(syn_converted.float_path, "edgekit-micro", "cortex-m4", float_as="int8").ok
    with pytest.raises(UserError, match="float32 tensors is not supported"):
        check_ops(syn_converted.float_path, "edgekit-micro", "cortex-m4")


def test_type_mismatch_is_reported():
    rt = load_runtime("edgekit-micro")
    res = check_op_uses([OpUse(0, "ADD", "add_1", "int32", [])], rt, "cortex-m4")
    assert not res.ok and "int32" in res.unsupported[0].problem


def test_unsupported_op_fails_before_anything_is_built(tmp_path, syn_data):
    folder = synthetic.model_folder(tmp_path / "m", synthetic.build_model("unsupported"))
    out = tmp_path / "out"
    with pytest.raises(UserError) as exc:
        convert(load_model(str(folder)), load_target("cortex-m4"), out_dir=out,
                calibration=None, test_set=syn_data.test_set(8))
    msg = str(exc.value)
    assert "LEAKY_RELU" in msg and "leaky_re_lu" in msg and "cortex-m4" in msg and "edgekit-micro" in msg
    assert "\n" not in msg and "replace the layer" in msg
    assert not out.exists()  # nothing built, nothing written, calibration not even loaded


def test_vela_warns_instead(tmp_path, syn_data):
    import keras

    L = keras.layers
    inp = keras.Input(synthetic.SHAPE)
    x = L.Conv2D(4, 3)(inp)
    x = L.Lambda(lambda t: keras.ops.exp(t * 0.01))(x)  # EXP: not on the Ethos-U
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(3)(x)
    model = keras.Model(inp, L.Softmax()(x))
    from edgekit.convert import source

    float_tflite = source.to_float_tflite(source.with_batch_one(model)[0], "m")
    res = check_ops(float_tflite, "vela", "cortex-m55-ethos-u55", float_as="int8")
    assert [u.op for u in res.unsupported] == ["EXP"]
    assert res.warnings and "CPU" in res.warnings[0]
    with pytest.raises(UserError, match="EXP"):
        check_ops(float_tflite, "edgekit-micro", "cortex-m4", float_as="int8")


def test_list_ops_constants(syn_converted):
    ops = {u.op: u for u in list_ops(syn_converted.int8_path)}
    assert ops["CONV_2D"].weights == ["int32", "int8"]  # int8 filter, int32 bias

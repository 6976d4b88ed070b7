"""Model sources besides .keras: legacy .h5, SavedModel, ONNX (NPU targets only)."""

from __future__ import annotations


import numpy as np
import pytest

from edgekit.convert import convert
from edgekit.errors import UserError
from edgekit.models import load_model
from edgekit.targets import load_target
from tests.convert import synthetic


def _small(folder, tmp_path, data, target="cortex-m4"):
    return convert(load_model(str(folder)), load_target(target), calibration=data.calibration(32),
                   test_set=data.test_set(24), out_dir=tmp_path / "out", verify_samples=8, layer_samples=8)


def _keras_model(syn_model_dir):
    import keras

    return keras.models.load_model(syn_model_dir / "model.keras")


def test_h5(tmp_path, syn_model_dir, syn_data, syn_converted):
    folder = synthetic.model_folder(tmp_path / "m", None, weights_name="model.h5")
    _keras_model(syn_model_dir).save(folder / "model.h5")
    r = _small(folder, tmp_path, syn_data)
    assert r.source_kind == "keras" and r.bit_exactness.bit_exact
    # Same weights, same calibration prefix -> the same quantized model as from .keras.
    assert [u.op for u in r.ops] == [u.op for u in syn_converted.ops]


def test_savedmodel(tmp_path, syn_model_dir, syn_data):
    folder = synthetic.model_folder(tmp_path / "m", None, weights_name="saved")
    _keras_model(syn_model_dir).export(str(folder / "saved"))
    r = _small(folder, tmp_path, syn_data)
    assert r.source_kind == "savedmodel"
    assert r.accuracy.overall.float_accuracy is not None and r.bit_exactness.bit_exact
    assert "SHAPE" not in [u.op for u in r.ops]


def test_folder_that_is_not_a_savedmodel(tmp_path, syn_data):
    folder = synthetic.model_folder(tmp_path / "m", None, weights_name="saved")
    (folder / "saved").mkdir()
    with pytest.raises(UserError, match="not a SavedModel"):
        _small(folder, tmp_path, syn_data)


def _onnx_model(path, nan=False, op="Relu"):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).normal(size=(4, 3, 3, 3)).astype(np.float32)
    if nan:
        w[0, 0, 0, 0] = np.nan
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node(op, ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Softmax", ["f"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                              [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_onnx_for_npu_target(tmp_path):
    folder = synthetic.model_folder(tmp_path / "m", None, weights_name="model.onnx")
    _onnx_model(folder / "model.onnx")
    r = convert(load_model(str(folder)), load_target("snapdragon-htp"), out_dir=tmp_path / "out")
    assert r.source_kind == "onnx" and r.int8_path is None
    assert [u.op for u in r.ops] == ["Conv", "Relu", "GlobalAveragePool", "Flatten", "Softmax"]
    assert not r.op_warnings and (tmp_path / "out" / "quant_report.json").is_file()


def test_onnx_unlisted_op_warns(tmp_path):
    folder = synthetic.model_folder(tmp_path / "m", None, weights_name="model.onnx")
    _onnx_model(folder / "model.onnx", op="Erf")
    r = convert(load_model(str(folder)), load_target("snapdragon-htp"), out_dir=tmp_path / "out")
    assert len(r.op_warnings) == 1 and "Erf" in r.op_warnings[0]


def test_onnx_nan_and_corrupt(tmp_path):
    folder = synthetic.model_folder(tmp_path / "m", None, weights_name="model.onnx")
    _onnx_model(folder / "model.onnx", nan=True)
    with pytest.raises(UserError, match="NaN/Inf"):
        convert(load_model(str(folder)), load_target("snapdragon-htp"), out_dir=tmp_path / "out")
    (folder / "model.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(UserError, match="not a valid ONNX model"):
        convert(load_model(str(folder)), load_target("snapdragon-htp"), out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()

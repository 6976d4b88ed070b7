"""Bad input: one clear UserError each (exit 2 from the CLI), nothing half-written left behind."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.convert import INT8_NAME, convert
from edgekit.errors import UserError
from edgekit.models import load_model
from edgekit.targets import load_target
from tests.convert import synthetic


def _convert(folder, tmp_path, data, target="cortex-m4", **kw):
    kw.setdefault("calibration", data.calibration(16))
    kw.setdefault("test_set", data.test_set(8))
    return convert(load_model(str(folder)), load_target(target), out_dir=tmp_path / "out", verify_samples=4,
                   layer_samples=4, **kw)


def _nothing_written(tmp_path):
    out = tmp_path / "out"
    return not out.exists() or not any(out.iterdir())


def test_corrupt_keras(tmp_path, syn_data):
    folder = synthetic.model_folder(tmp_path / "m", None)
    (folder / "model.keras").write_bytes(b"this is not a keras archive" * 10)
    with pytest.raises(UserError, match=r"model\.keras: not a valid \.keras file"):
        _convert(folder, tmp_path, syn_data)
    assert _nothing_written(tmp_path)


def test_corrupt_h5(tmp_path, syn_data):
    folder = synthetic.model_folder(tmp_path / "m", None, weights_name="model.h5")
    (folder / "model.h5").write_bytes(b"PK\x03\x04 not hdf5")
    with pytest.raises(UserError, match=r"model\.h5: not a valid \.h5 file"):
        _convert(folder, tmp_path, syn_data)
    assert _nothing_written(tmp_path)


def test_truncated_keras(tmp_path, syn_data, syn_model_dir):
    folder = synthetic.model_folder(tmp_path / "m", None)
    data = (syn_model_dir / "model.keras").read_bytes()
    (folder / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r"model\.keras"):
        _convert(folder, tmp_path, syn_data)
    assert _nothing_written(tmp_path)


def test_truncated_tflite(tmp_path, syn_data, syn_converted):
    folder = synthetic.model_folder(tmp_path / "m", None, weights_name="model.tflite")
    data = syn_converted.int8_path.read_bytes()
    (folder / "model.tflite").write_bytes(data[: len(data) - 100])
    with pytest.raises(UserError, match=r"model\.tflite: (unreadable|not a) .*tflite"):
        _convert(folder, tmp_path, syn_data)
    assert _nothing_written(tmp_path)


def test_float_tflite_is_not_taken_as_quantized(tmp_path, syn_data, syn_converted):
    folder = synthetic.model_folder(tmp_path / "m", None, weights_name="model.tflite")
    (folder / "model.tflite").write_bytes(syn_converted.float_path.read_bytes())
    with pytest.raises(UserError, match="full-integer"):
        _convert(folder, tmp_path, syn_data)


def test_input_shape_mismatch(tmp_path, syn_data, syn_model_dir):
    folder = synthetic.model_folder(tmp_path / "m", None)
    (folder / "model.keras").write_bytes((syn_model_dir / "model.keras").read_bytes())
    (folder / "model.yaml").write_text(synthetic.MODEL_YAML.replace("width: 16", "width: 32"))
    with pytest.raises(UserError, match=r"takes input \(16, 16, 3\).*makes \(16, 32, 3\)"):
        _convert(folder, tmp_path, syn_data)
    assert _nothing_written(tmp_path)


def test_empty_calibration(tmp_path, syn_data, syn_model_dir):
    with pytest.raises(UserError, match="calibration set is empty"):
        _convert(syn_model_dir, tmp_path, syn_data, calibration=np.empty((0, *synthetic.SHAPE), np.float32))
    assert _nothing_written(tmp_path)


def test_nan_weights(tmp_path, syn_data):
    import keras

    model = synthetic.build_model()
    dense = next(l for l in model.layers if isinstance(l, keras.layers.Dense))
    k, b = dense.get_weights()
    k[0, 0] = np.nan
    dense.set_weights([k, b])
    folder = synthetic.model_folder(tmp_path / "m", model)
    with pytest.raises(UserError, match="NaN/Inf"):
        _convert(folder, tmp_path, syn_data)
    assert _nothing_written(tmp_path)


def test_unknown_target():
    with pytest.raises(UserError, match="unknown target 'cortex-m99'"):
        load_target("cortex-m99")


def test_onnx_refused_for_mcu_target(tmp_path, syn_data):
    folder = synthetic.model_folder(tmp_path / "m", None, weights_name="model.onnx")
    (folder / "model.onnx").write_bytes(b"\x08\x07")
    with pytest.raises(UserError, match="ONNX models are taken only for .*NPU"):
        _convert(folder, tmp_path, syn_data)


def test_missing_weights(tmp_path, syn_data):
    folder = synthetic.model_folder(tmp_path / "m", None)
    with pytest.raises(UserError, match="model file not found"):
        _convert(folder, tmp_path, syn_data)


def test_cli_exit_2_one_line(run_cli, tmp_path):
    folder = synthetic.model_folder(tmp_path / "m", None)
    (folder / "model.keras").write_bytes(b"garbage")
    proc = run_cli("convert", "--model", str(folder), "--target", "cortex-m4")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "not a valid .keras file" in proc.stderr
    proc = run_cli("convert", "--model", str(folder), "--target", "no-such-target")
    assert proc.returncode == 2 and "unknown target 'no-such-target'" in proc.stderr
    assert not (tmp_path / "build").exists() or not list((tmp_path / "build").rglob(INT8_NAME))

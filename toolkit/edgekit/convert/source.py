"""Reading a model file the user gives (Keras, SavedModel, quantized .tflite, ONNX) and turning a
float model into its float and quantized .tflite, with one clear UserError per bad input."""

from __future__ import annotations

import contextlib
import os
import sys
import zipfile
from pathlib import Path
from typing import Iterator, Literal, Optional

import numpy as np

from edgekit.errors import UserError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SourceKind = Literal["keras", "savedmodel", "tflite", "onnx"]

TFLITE_MAGIC = b"TFL3"


def source_kind(path: Path) -> SourceKind:
    """What kind of model file this is, from its name and first bytes."""
    if not path.exists():
        raise UserError(f"{path}: model file not found; train the model (`edgekit train`) or fix "
                        f"'weights:' in its model.yaml")
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return "savedmodel"
        raise UserError(f"{path}: a folder but not a SavedModel (no saved_model.pb); give a .keras, .h5, "
                        f"SavedModel folder, .tflite or .onnx")
    suffix = path.suffix.lower()
    if suffix in (".keras", ".h5", ".hdf5"):
        return "keras"
    if suffix == ".tflite":
        return "tflite"
    if suffix == ".onnx":
        return "onnx"
    raise UserError(f"{path}: unknown model format '{suffix}'; give a .keras, .h5, SavedModel folder, "
                    f".tflite or .onnx")


@contextlib.contextmanager
def quiet_tf() -> Iterator[None]:
    """Silence TF's converter while it runs: it prints to stdout (which --json needs clean) and
    to stderr at C level (SavedModel captures, quantizer settings) for every model. Its errors
    arrive as exceptions, which callers turn into UserErrors; EDGEKIT_TF_VERBOSE=1 keeps it all."""
    if os.environ.get("EDGEKIT_TF_VERBOSE"):
        yield
        return
    import warnings

    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (saved_out, saved_err, devnull):
            os.close(fd)


def _head(path: Path, n: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def load_keras(path: Path):
    """A Keras model from .keras/.h5, or a SavedModel wrapped as a Keras model."""
    kind = source_kind(path)
    if kind == "savedmodel":
        return _savedmodel_as_keras(path)
    # Cheap checks before importing TensorFlow (seconds): a .keras is a zip, an .h5 is HDF5.
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise UserError(f"{path}: not a valid .keras file (not a zip archive: corrupt or truncated); "
                        f"save it again with model.save()")
    if path.suffix.lower() in (".h5", ".hdf5") and _head(path, 8) != b"\x89HDF\r\n\x1a\n":
        raise UserError(f"{path}: not a valid .h5 file (no HDF5 signature: corrupt or truncated); "
                        f"save it again with model.save()")
    import keras

    try:
        with quiet_tf():
            return keras.models.load_model(path, compile=False)
    except Exception as exc:  # keras raises many types for corrupt files
        msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: cannot load the Keras model ({msg}); save it again with model.save(), "
                        f"or give a SavedModel or .tflite") from None


def _savedmodel_as_keras(path: Path):
    import keras

    try:
        layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
    except Exception as exc:
        raise UserError(f"{path}: cannot load the SavedModel ({str(exc).splitlines()[0][:200]}); it needs a "
                        f"'serving_default' signature") from None
    import tensorflow as tf

    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    specs = list(fn.structured_input_signature[1].values())
    if len(specs) != 1:
        raise UserError(f"{path}: the SavedModel takes {len(specs)} inputs; edgekit models take one")
    shape = tuple(specs[0].shape[1:])
    if any(s is None for s in shape):
        raise UserError(f"{path}: the SavedModel's input shape {tuple(specs[0].shape)} is not fixed; "
                        f"export it with a fixed input shape")
    inp = keras.Input(shape=shape)
    out = layer(inp)
    if isinstance(out, dict):
        if len(out) != 1:
            raise UserError(f"{path}: the SavedModel has {len(out)} outputs; edgekit models have one")
        out = next(iter(out.values()))
    return keras.Model(inp, out, name=path.name.replace(".", "_"))


def check_finite(model, path: Path) -> None:
    for w in model.weights:
        a = np.asarray(w.numpy() if hasattr(w, "numpy") else w)
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad = int((~np.isfinite(a)).sum())
            raise UserError(f"{path}: weight '{w.path if hasattr(w, 'path') else w.name}' holds {bad} NaN/Inf "
                            f"values; the training diverged: retrain (lower learning rate) or fix the weights")


def check_input_shape(shape: tuple, expected: tuple, path: Path, what: str = "the model") -> None:
    got = tuple(int(s) if s is not None else None for s in shape)
    if got != tuple(expected):
        raise UserError(f"{path}: {what} takes input {got} but the preprocessing spec in model.yaml makes "
                        f"{tuple(expected)}; fix 'preprocessing:' in model.yaml or export the model for "
                        f"that input")


def keras_single_io(model, path: Path) -> tuple[tuple, tuple]:
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UserError(f"{path}: the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                        f"edgekit converts single-input, single-output classifiers")
    return tuple(model.inputs[0].shape[1:]), tuple(model.outputs[0].shape[1:])


def _dense_as_conv_layer():
    """A Dense layer computed as a 1x1 convolution on a [1, 1, 1, C] tensor.

    Why: LiteRT's reference FULLY_CONNECTED requantizes with one rounding step, tflite-micro's
    with two (gemmlowp style), so the two golden interpreters disagree by 1 LSB on some inputs
    (11 of 1500 KWS test samples). Their CONV_2D kernels agree bit for bit, and a 1x1 CONV_2D
    computes the same dot products (with per-channel weights, at that)."""
    import keras
    from keras import ops

    class DenseAsConv1x1(keras.layers.Layer):
        def __init__(self, dense, **kw):
            super().__init__(name=dense.name, **kw)
            self.units = dense.units
            self.activation = dense.activation
            self.use_bias = dense.use_bias
            w = dense.get_weights()
            self.kernel = self.add_weight(shape=(1, 1, *w[0].shape), initializer="zeros", name="kernel")
            self.kernel.assign(w[0][None, None])
            if self.use_bias:
                self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
                self.bias.assign(w[1])

        def call(self, x):
            y = ops.conv(ops.reshape(x, (1, 1, 1, x.shape[-1])), self.kernel, padding="valid")
            if self.use_bias:
                y = y + self.bias
            return self.activation(ops.reshape(y, (1, self.units)))

    return DenseAsConv1x1


def with_batch_one(model, dense_as_conv: bool = True):
    """Rebuild the model with a fixed batch of 1 and copy the weights; returns (model, notes).

    Keras 3 leaves the batch dimension dynamic, which makes the converter emit SHAPE,
    STRIDED_SLICE and PACK ops around every reshape; MCU runtimes have none of them.
    dense_as_conv: emit Dense layers on flat inputs as 1x1 CONV_2D (see _dense_as_conv_layer).
    """
    import keras

    inp = keras.Input(batch_shape=(1, *model.inputs[0].shape[1:]), dtype=model.inputs[0].dtype)
    replaced: list[str] = []
    as_conv = _dense_as_conv_layer() if dense_as_conv else None

    def clone(layer):
        if as_conv is not None and isinstance(layer, keras.layers.Dense) and len(layer.input.shape) == 2:
            replaced.append(layer.name)
            return as_conv(layer)
        return layer.__class__.from_config(layer.get_config())

    try:
        rebuilt = keras.models.clone_model(model, input_tensors=inp, clone_function=clone)
        originals = {l.name: l for l in model.layers}
        for layer in rebuilt.layers:
            if layer.name in replaced or layer.name not in originals:
                continue
            w = originals[layer.name].get_weights()
            if w:
                layer.set_weights(w)
    except Exception:
        # Subclassed models cannot be cloned: call the model on a batch-1 input instead (the
        # weights are shared, not copied; Dense layers stay FULLY_CONNECTED).
        return keras.Model(inp, model(inp)), ["subclassed model: called with a batch-1 input, not rebuilt"]
    notes = []
    if replaced:
        notes.append(f"Dense layer(s) {', '.join(replaced)} emitted as 1x1 CONV_2D: LiteRT's reference "
                     f"FULLY_CONNECTED rounds once where tflite-micro rounds twice (1 LSB apart on some "
                     f"inputs); their CONV_2D kernels agree bit for bit")
    return rebuilt, notes


def _converter(model):
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model)


def _converter_error(exc: Exception, what: str) -> UserError:
    lines = [l.strip() for l in str(exc).splitlines() if l.strip()]
    # The converter's useful line names the op ("... op 'tfl.xxx' ..."); prefer it.
    useful = next((l for l in lines if "op" in l.lower() and ("not" in l.lower() or "unsupported" in l.lower())),
                  lines[0] if lines else type(exc).__name__)
    return UserError(f"{what}: the TFLite converter failed: {useful[:300]}; replace the layer it names "
                     f"by a TFLite builtin one")


def to_float_tflite(model, what: str) -> bytes:
    try:
        with quiet_tf():
            return _converter(model).convert()
    except UserError:
        raise
    except Exception as exc:
        raise _converter_error(exc, what) from None


def to_quantized_tflite(model, calibration: np.ndarray, activations: str, what: str) -> bytes:
    """Full-integer model: int8 (or int16) input and output, per-channel int8 weights."""
    import tensorflow as tf

    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    # Per-channel weights for convolutions; per-tensor for dense layers: on per-channel
    # FULLY_CONNECTED, LiteRT's reference kernel rounds once where tflite-micro rounds twice
    # (1 LSB apart on some inputs), and per-tensor is what MCU FC kernels take anyway.
    conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    cal = np.asarray(calibration, np.float32)
    conv.representative_dataset = lambda: ([cal[i:i + 1]] for i in range(len(cal)))
    if activations == "int16":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int16
    else:
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    try:
        with quiet_tf():
            return conv.convert()
    except Exception as exc:
        raise _converter_error(exc, what) from None


def check_calibration(cal: Optional[np.ndarray], input_shape: tuple, what: str) -> np.ndarray:
    if cal is None or len(cal) == 0:
        raise UserError(f"{what}: the calibration set is empty; prepare data (`edgekit data prepare`) or put "
                        f"representative samples in calibration_data/")
    cal = np.asarray(cal, np.float32)
    if tuple(cal.shape[1:]) != tuple(input_shape):
        raise UserError(f"{what}: calibration samples have shape {tuple(cal.shape[1:])}, the model takes "
                        f"{tuple(input_shape)}; regenerate the calibration set for this preprocessing spec")
    if not np.isfinite(cal).all():
        raise UserError(f"{what}: the calibration set holds NaN/Inf features; check the raw data and the "
                        f"preprocessing spec")
    return cal


def read_tflite(path: Path) -> bytes:
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != TFLITE_MAGIC:
        raise UserError(f"{path}: not a .tflite model (no TFL3 identifier: corrupt or truncated); export it again")
    from edgekit.interpreters import InterpreterError, litert_interpreter

    try:
        litert_interpreter(data, reference=False)
    except InterpreterError as exc:
        raise UserError(f"{path}: unreadable .tflite ({exc}); export it again") from None
    return data


def check_prequantized(data: bytes, path: Path, expected_input: tuple) -> str:
    """An already quantized .tflite is checked, not re-quantized: returns its activation type."""
    from edgekit.interpreters import litert_interpreter

    it = litert_interpreter(data, reference=False)
    ind, outd = it.get_input_details(), it.get_output_details()
    if len(ind) != 1 or len(outd) != 1:
        raise UserError(f"{path}: the model has {len(ind)} inputs and {len(outd)} outputs; edgekit converts "
                        f"single-input, single-output classifiers")
    ind, outd = ind[0], outd[0]
    in_dt = np.dtype(ind["dtype"]).name
    if in_dt not in ("int8", "int16") or np.dtype(outd["dtype"]).name != in_dt:
        raise UserError(f"{path}: a .tflite must be full-integer (int8 or int16 input and output), this one "
                        f"takes {in_dt} and gives {np.dtype(outd['dtype']).name}; give the float Keras model "
                        f"instead and let edgekit quantize it")
    sig = tuple(int(s) for s in ind.get("shape_signature", ind["shape"]))
    if sig[0] != 1:
        raise UserError(f"{path}: the .tflite has a dynamic batch ({sig}); export it with batch size 1")
    check_input_shape(sig[1:], expected_input, path)
    for t in it.get_tensor_details():
        dt = np.dtype(t["dtype"]).name
        if dt in ("float32", "float16"):
            raise UserError(f"{path}: tensor '{t['name']}' is {dt}: the model is not fully quantized; give "
                            f"the float Keras model instead and let edgekit quantize it")
        qp = t.get("quantization_parameters") or {}
        scales = np.asarray(qp.get("scales", []), np.float64)
        if scales.size and not np.isfinite(scales).all():
            raise UserError(f"{path}: tensor '{t['name']}' has NaN/Inf quantization scales; the model is "
                            f"broken: re-export it")
    return in_dt

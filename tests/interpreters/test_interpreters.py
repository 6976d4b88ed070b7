"""The reference interpreters: LiteRT BUILTIN_REF and tflite-micro (in a subprocess)."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.interpreters import (InterpreterError, TensorQuant, io_quant, run_litert_ref, run_tflm, tflm_arena,
                                  tflm_arena_bytes)


@pytest.fixture(scope="module")
def int8_path(syn_converted):
    return syn_converted.int8_path


def _random_inputs(n, seed=1):
    return np.random.default_rng(seed).integers(-128, 128, size=(n, 16, 16, 3), dtype=np.int8)


def test_litert_ref_and_tflm_agree_bit_for_bit(int8_path):
    x = _random_inputs(300)
    a = run_litert_ref(int8_path, x)
    b = run_tflm(int8_path, x)
    assert a.shape == b.shape == (300, 3) and a.dtype == b.dtype == np.int8
    assert np.array_equal(a, b)
    assert len({tuple(r) for r in a}) > 1  # outputs depend on the input


def test_litert_ref_single_sample_and_input_checks(int8_path):
    x = _random_inputs(2)
    assert np.array_equal(run_litert_ref(int8_path, x[0]), run_litert_ref(int8_path, x[:1]))
    with pytest.raises(ValueError, match="quantize first"):
        run_litert_ref(int8_path, x.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        run_litert_ref(int8_path, np.zeros((2, 8, 8, 3), np.int8))


def test_tflm_failure_is_an_exception_not_a_crash(tmp_path, int8_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(int8_path.read_bytes()[:200])
    with pytest.raises(InterpreterError, match="tflite-micro interpreter failed"):
        run_tflm(bad, _random_inputs(1))


def test_tflm_arena_is_the_smallest_that_works(int8_path):
    arena = tflm_arena(int8_path)
    n = arena.smallest_working_bytes
    assert n == tflm_arena_bytes(int8_path)
    assert arena.recorded_total_bytes is not None and abs(arena.recorded_total_bytes - n) <= 64
    x = _random_inputs(1)
    assert np.array_equal(run_tflm(int8_path, x, arena_bytes=n), run_litert_ref(int8_path, x))
    with pytest.raises(InterpreterError):
        run_tflm(int8_path, x, arena_bytes=n - 1)


def test_tensor_quant_rounds_like_tflite():
    q = TensorQuant("int8", (1,), 0.5, 3)
    # std::round: halves away from zero (numpy's round would give 2 and -2)
    assert q.quantize(np.array([1.25, -1.25])).tolist() == [6, 0]
    assert q.quantize(np.array([1000.0, -1000.0])).tolist() == [127, -128]
    assert q.dequantize(np.array([5], np.int8)).tolist() == [1.0]


def test_io_quant(int8_path):
    i, o = io_quant(int8_path)
    assert i.dtype == o.dtype == "int8" and i.shape == (1, 16, 16, 3)
    assert o.scale == pytest.approx(1 / 256) and o.zero_point == -128  # softmax output


def test_reference_softmax_guard(tmp_path):
    """A softmax fed near-constant logits would abort LiteRT's reference kernel (the whole
    process); the guard turns it into an exception."""
    import keras
    import tensorflow as tf

    inp = keras.Input(batch_shape=(1, 8))
    x = keras.layers.Dense(4, kernel_initializer=keras.initializers.Constant(1e-12), bias_initializer="zeros")(inp)
    model = keras.Model(inp, keras.layers.Softmax()(x))
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    cal = np.random.default_rng(0).normal(size=(8, 8)).astype(np.float32)
    conv.representative_dataset = lambda: ([cal[i:i + 1]] for i in range(8))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    p = tmp_path / "flat.tflite"
    p.write_bytes(conv.convert())
    with pytest.raises(InterpreterError, match="SOFTMAX"):
        run_litert_ref(p, np.zeros((1, 8), np.int8))

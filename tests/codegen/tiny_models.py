"""Tiny single-op (and small multi-op) int8 .tflite models, built with TF's converter.

Run as a script in a subprocess (`python tests/codegen/tiny_models.py cases.json`) so the
test process never imports TensorFlow; models are cached by a hash of their case spec under
edgekit's cache dir, so only the first run pays for the converter.

A case is a dict: {"op": ..., "seed": int, ...op parameters...}.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
BUILDER_VERSION = "4"


def cache_root() -> Path:
    sys.path.insert(0, str(REPO / "toolkit"))
    from edgekit import resources
    return resources.cache_dir() / "test-models" / "codegen"


def case_key(case: dict) -> str:
    extra = {}
    if (Path(__file__).parent / "op_cases" / f"{case['op']}.py").is_file():   # an op's own case module
        from tests.codegen import op_cases
        extra = {"src": op_cases.source_digest(case["op"])}
    blob = json.dumps({"v": BUILDER_VERSION, **extra, **case}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def model_path(case: dict) -> Path:
    return cache_root() / f"{case['op']}-{case_key(case)}.tflite"


def ensure_models(cases: list[dict], timeout: float = 1800) -> list[Path]:
    """Paths of the cached models for cases, building the missing ones in one subprocess."""
    paths = [model_path(c) for c in cases]
    missing = [c for c, p in zip(cases, paths) if not p.is_file()]
    if missing:
        cache_root().mkdir(parents=True, exist_ok=True)
        spec = cache_root() / f".todo-{os.getpid()}.json"
        spec.write_text(json.dumps(missing))
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
        proc = subprocess.run([sys.executable, __file__, str(spec)], capture_output=True,
                              text=True, timeout=timeout, env=env)
        spec.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise RuntimeError(f"building test models failed:\n{proc.stderr[-4000:]}")
    return paths


def input_shape(case: dict) -> list[int]:
    return [1, *case["in_shape"]]


# -- TF side (only in the subprocess) ------------------------------------------------------------

def _build(case: dict) -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(case["seed"])
    op = case["op"]
    shape = input_shape(case)
    lo, hi = case.get("in_range", [-1.0, 1.0])

    op_module = None

    def act(y, name):
        return {"none": y, "relu": tf.nn.relu(y), "relu6": tf.nn.relu6(y)}[name]

    def weights(*s, scale=0.5):
        # Per-channel scales differ a lot: exercise per-channel requantization.
        w = rng.normal(0, scale, s).astype(np.float32)
        if len(s) >= 2:
            w *= rng.uniform(0.05, 2.0, s[-1]).astype(np.float32)
        return tf.constant(w)

    if op == "conv":
        kh, kw = case["kernel"]
        cin, cout = shape[-1], case["cout"]
        w = weights(kh, kw, cin, cout)
        b = tf.constant(rng.normal(0, 0.3, cout).astype(np.float32))

        def f(x):
            y = tf.nn.conv2d(x, w, strides=[1, *case["stride"], 1], padding=case["padding"],
                             dilations=[1, *case.get("dilation", [1, 1]), 1])
            return act(y + b, case.get("act", "none"))
    elif op == "dwconv":
        kh, kw = case["kernel"]
        cin, dm = shape[-1], case.get("dm", 1)
        w = weights(kh, kw, cin, dm)
        b = tf.constant(rng.normal(0, 0.3, cin * dm).astype(np.float32))

        def f(x):
            y = tf.nn.depthwise_conv2d(x, w, strides=[1, *case["stride"], 1],
                                       padding=case["padding"],
                                       dilations=case.get("dilation", [1, 1]))
            return act(y + b, case.get("act", "none"))
    elif op == "fc":
        cin, units = int(np.prod(shape[1:])), case["units"]
        w = weights(cin, units, scale=0.3)
        b = tf.constant(rng.normal(0, 0.3, units).astype(np.float32))

        def f(x):
            return act(tf.matmul(tf.reshape(x, [1, cin]), w) + b, case.get("act", "none"))
    elif op == "add":
        cin = shape[-1]
        w = weights(3, 3, cin, 1)

        def f(x):
            y = tf.nn.depthwise_conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")
            return act(y + x, case.get("act", "none"))
    elif op in ("avgpool", "maxpool"):
        pool_fn = tf.nn.avg_pool2d if op == "avgpool" else tf.nn.max_pool2d

        def f(x):
            return act(pool_fn(x, ksize=case["kernel"], strides=case["stride"],
                          padding=case["padding"]), case.get("act", "none"))
    elif op == "mean":
        def f(x):
            return tf.reduce_mean(x, axis=[1, 2], keepdims=case.get("keepdims", False))
    elif op == "softmax":
        def f(x):
            # beta is set on the SOFTMAX op after conversion (TF would emit a MUL instead).
            return tf.nn.softmax(tf.reshape(x, [1, -1]))
    elif op == "pad":
        def f(x):
            return tf.pad(x, case["pads"])
    elif op == "reshape_fc":
        units = case["units"]
        w = weights(int(np.prod(shape[1:])), units, scale=0.3)

        def f(x):
            return tf.nn.softmax(tf.matmul(tf.reshape(x, [1, -1]), w))
    elif op == "cnn":
        # A small DS-CNN-like network: conv, depthwise, pointwise, residual add, pooling, FC.
        c = case["channels"]
        w0 = weights(3, 3, shape[-1], c)
        b0 = tf.constant(rng.normal(0, 0.2, c).astype(np.float32))
        wd = weights(3, 3, c, 1)
        wp = weights(1, 1, c, c, scale=0.3)
        wf = weights(c, case["units"], scale=0.3)

        def f(x):
            y = tf.nn.relu(tf.nn.conv2d(x, w0, strides=[1, 2, 2, 1], padding="SAME") + b0)
            z = tf.nn.relu6(tf.nn.depthwise_conv2d(y, wd, strides=[1, 1, 1, 1], padding="SAME"))
            z = tf.nn.conv2d(z, wp, strides=[1, 1, 1, 1], padding="VALID")
            y = tf.nn.relu(y + z)
            y = tf.nn.max_pool2d(y, ksize=2, strides=1, padding="VALID")
            y = tf.reduce_mean(y, axis=[1, 2])
            return tf.nn.softmax(tf.matmul(y, wf))
    elif op == "block":
        # Memory schedules (codegen.planner): a 1x1 expansion fused into the depthwise conv
        # after it, then an in-place projection (and a residual ADD); or with "ds", a
        # depthwise -> pointwise -> depthwise chain, each in place.
        c, e, cout = shape[-1], shape[-1] * case.get("expand", 1), case["cout"]
        we = weights(1, 1, c, e, scale=0.4)
        wd = weights(3, 3, e, 1)
        wp = weights(1, 1, e, cout, scale=0.3)
        wd2 = weights(3, 3, cout, 1)
        be = tf.constant(rng.normal(0, 0.2, e).astype(np.float32))

        def f(x):
            h = x if case.get("ds") else tf.nn.relu6(tf.nn.conv2d(x, we, strides=1, padding="VALID") + be)
            h = tf.nn.relu6(tf.nn.depthwise_conv2d(h, wd, strides=[1, *case["stride"], 1], padding=case["padding"]))
            h = tf.nn.conv2d(h, wp, strides=1, padding="VALID")
            if case.get("ds"):
                h = tf.nn.relu(tf.nn.depthwise_conv2d(tf.nn.relu(h), wd2, strides=[1, 1, 1, 1], padding="SAME"))
            if case.get("residual"):
                h = h + x
            return h
    elif op == "mul":
        # activation x constant per-channel vector (broadcast) and activation x activation
        c = tf.constant(rng.uniform(-2.0, 2.0, shape[-1]).astype(np.float32))

        def f(x):
            return act(x * c, case.get("act", "none")) * x
    elif op in ("sub", "add_bc", "maximum", "minimum"):
        # x against its per-channel mean: a [1, 1, 1, C] operand broadcast over H and W
        binop = {"sub": tf.subtract, "add_bc": tf.add, "maximum": tf.maximum, "minimum": tf.minimum}[op]

        def f(x):
            m = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
            return binop(x, m) if case.get("order", 0) == 0 else binop(m, x)
    elif op == "concat":
        w = weights(1, 1, shape[-1], case.get("cout", 3))

        def f(x):
            y = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")
            return tf.concat([x, y, x], axis=case.get("axis", -1))
    elif op == "squeeze":
        def f(x):
            return tf.squeeze(tf.reduce_mean(x, axis=[1, 2], keepdims=True), axis=[1, 2])
    elif op == "hard_swish":
        w = weights(3, 3, shape[-1], shape[-1])

        def f(x):
            y = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")
            return y * tf.nn.relu6(y + 3.0) / 6.0   # the converter fuses this into HARD_SWISH
    elif op == "resize_nearest":
        size, mode = case["size"], case.get("mode", "half_pixel")

        def f(x):
            if mode == "half_pixel":
                return tf.image.resize(x, size, method="nearest")
            return tf.compat.v1.image.resize_nearest_neighbor(x, size, align_corners=(mode == "align_corners"),
                                                              half_pixel_centers=False)
    elif op == "hs_resize":
        w = weights(3, 3, shape[-1], shape[-1])

        def f(x):
            y = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")
            y = y * tf.nn.relu6(y + 3.0) / 6.0
            return tf.image.resize(y, case["size"], method="nearest")[:, 1:-1:2, ::-1, 1:]
    elif op == "strided_slice":
        w = weights(1, 1, shape[-1], shape[-1])

        def f(x):
            y = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")   # a non-input operand
            if case.get("form") == "shrink":
                return y[:, 1, -5::2, :]
            return y[:, 1:-1:2, ::-1, 1:]
    elif op == "transpose_conv":
        kh, kw = case["kernel"]
        cin, cout = shape[-1], case["cout"]
        w = weights(kh, kw, cout, cin)   # conv2d_transpose filters are [h, w, out, in]
        sh, sw = case["stride"]
        if case["padding"] == "SAME":
            out = [shape[1] * sh, shape[2] * sw]
        else:
            out = [(shape[1] - 1) * sh + kh, (shape[2] - 1) * sw + kw]

        bias = tf.constant(rng.normal(0, 0.3, cout).astype(np.float32))

        def f(x):
            y = tf.nn.conv2d_transpose(x, w, [1, *out, cout], strides=[1, sh, sw, 1],
                                       padding=case["padding"])
            return y + bias if case.get("bias") else y
    elif op == "logistic":
        w = weights(1, 1, shape[-1], shape[-1])

        def f(x):
            return tf.sigmoid(tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME"))
    elif op == "elementwise":
        # every new element-wise and data-movement op in one graph: one firmware, one QEMU run
        c = tf.constant(rng.uniform(-2.0, 2.0, shape[-1]).astype(np.float32))
        w = weights(1, 1, shape[-1], shape[-1])

        def f(x):
            m = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
            a = tf.nn.relu(x * c) * x
            b = tf.nn.conv2d(x - m, w, strides=[1, 1, 1, 1], padding="SAME")
            d = tf.maximum(b, m) + tf.minimum(x, m)
            y = tf.concat([a + m, d], axis=-1)
            return tf.squeeze(tf.reduce_mean(y, axis=[1, 2], keepdims=True), axis=[1, 2])
    elif (Path(__file__).parent / "op_cases" / f"{op}.py").is_file():
        # an op's own case module (tests/codegen/op_cases/<op>.py) builds its models
        from tests.codegen import op_cases
        op_module = op_cases.module(op)
        f = op_module.build(case, shape, rng, weights)
    else:
        raise ValueError(op)

    spec = tf.TensorSpec(shape, tf.float32)
    fn = tf.function(f, input_signature=[spec])
    conc = fn.get_concrete_function()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([conc])
    conv.optimizations = [tf.lite.Optimize.DEFAULT]

    def rep():
        for _ in range(32):
            yield [rng.uniform(lo, hi, shape).astype(np.float32)]

    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    io = case.get("io", "int8")
    conv.inference_input_type = tf.int8 if io == "int8" else tf.float32
    conv.inference_output_type = tf.int8 if io == "int8" else tf.float32
    data = conv.convert()
    if op == "softmax" and case.get("beta", 1.0) != 1.0:
        data = _set_softmax_beta(data, case["beta"])
    if case.get("as") == "SQUEEZE":
        data = _reshape_as_squeeze(data)
    if "dw_act" in case:
        data = _set_last_depthwise_activation(data, case["dw_act"])
    if op_module is not None and hasattr(op_module, "rewrite"):
        data = op_module.rewrite(case, data)
    return data


def edit_flatbuffer(data: bytes, edit) -> bytes:
    """data with edit(model) applied to its unpacked flatbuffer (LiteRT's schema ModelT)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as S

    m = S.ModelT.InitFromPackedBuf(bytearray(data), 0)
    edit(m)
    b = flatbuffers.Builder(0)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _ops(m, builtin: int) -> list:
    """The operators of m's first subgraph whose builtin code is `builtin`."""
    return [op for op in m.subgraphs[0].operators
            if max(m.operatorCodes[op.opcodeIndex].builtinCode, m.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode)
            == builtin]


def _reshape_as_squeeze(data: bytes) -> bytes:
    """The converter turns tf.squeeze into RESHAPE; write the RESHAPE back as the SQUEEZE op
    (same tensors, SqueezeOptions) that other exporters emit."""
    from ai_edge_litert import schema_py_generated as S

    def edit(m):
        code = S.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = S.BuiltinOperator.SQUEEZE
        code.version = 1
        m.operatorCodes.append(code)
        for op in _ops(m, S.BuiltinOperator.RESHAPE):
            op.opcodeIndex = len(m.operatorCodes) - 1
            op.inputs = op.inputs[:1]
            op.builtinOptionsType = S.BuiltinOptions.SqueezeOptions
            op.builtinOptions = S.SqueezeOptionsT()
            op.builtinOptions.squeezeDims = [1, 2]
    return edit_flatbuffer(data, edit)


def _set_softmax_beta(data: bytes, beta: float) -> bytes:
    from ai_edge_litert import schema_py_generated as S

    def edit(m):
        for op in _ops(m, S.BuiltinOperator.SOFTMAX):
            op.builtinOptions.beta = beta
    return edit_flatbuffer(data, edit)


def _set_last_depthwise_activation(data: bytes, act: str) -> bytes:
    """The last DEPTHWISE_CONV_2D's fused activation set to `act` (a narrower clamp than its
    output's range, which the converter never emits from a calibrated model): the kernels'
    clamping paths, held against tflite-micro, which applies the same activation."""
    from ai_edge_litert import schema_py_generated as S

    code = {"relu_n1_to_1": S.ActivationFunctionType.RELU_N1_TO_1, "relu6": S.ActivationFunctionType.RELU6}[act]

    def edit(m):
        _ops(m, S.BuiltinOperator.DEPTHWISE_CONV_2D)[-1].builtinOptions.fusedActivationFunction = code
    return edit_flatbuffer(data, edit)


def _main(spec_path: str) -> int:
    sys.path.insert(0, str(REPO))   # the op case modules: tests.codegen.op_cases
    cases = json.loads(Path(spec_path).read_text())
    for case in cases:
        data = _build(case)
        out = model_path(case)
        # Per process: two test workers that both find a model missing build it side by side.
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))

"""The preprocessing entry-point registry and the Python-function entry point (fast: no
model runs)."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import UserError
from edgekit.interpreters import TensorQuant
from edgekit.models import load_model
from edgekit.skew import entrypoints as ep


@pytest.fixture(scope="module")
def kws_ctx():
    return ep.EntryPointContext(load_model("kws"), TensorQuant("int8", (1, 49, 10, 1), 0.5, 10))


def _sample(n=16000):
    return ep.RawSample("s1", (np.arange(n) % 200 - 100).astype(np.int16), {"mic": "flat"}, 2)


def test_builtin_entry_points_are_registered():
    assert {"captures", "firmware-variant", "python"} <= set(ep.available())
    assert ep.entry_point.__doc__


def test_unknown_entry_point_names_the_known_ones(kws_ctx):
    with pytest.raises(UserError, match="known: .*python"):
        ep.entry_point("nope", kws_ctx)


def test_registering_a_new_kind_is_one_decorator(kws_ctx):
    @ep.register("test-zeros")
    class Zeros(ep.PreprocessingEntryPoint):
        def tensor(self, sample):
            return ep.EntryPointOutput(tensor=np.zeros((49, 10, 1), np.float32))

    try:
        out = ep.entry_point("test-zeros", kws_ctx).tensor(_sample())
        assert out.tensor.shape == (49, 10, 1) and Zeros.on_device is False
    finally:
        ep._REGISTRY.pop("test-zeros")


def _write(tmp_path, body: str) -> str:
    p = tmp_path / "pipe.py"
    p.write_text("import numpy as np\n" + body)
    return str(p)


def test_python_function_float_and_int8_and_a_cohort_argument(tmp_path, kws_ctx):
    f = _write(tmp_path, "def a(raw):\n    return np.zeros((49, 10, 1), np.float32)\n"
                         "def b(raw, cohort):\n    assert cohort['mic'] == 'flat'\n"
                         "    return np.full((1, 49, 10, 1), 200, np.uint8)\n")
    out = ep.entry_point("python", kws_ctx, f"{f}:a").tensor(_sample())
    assert out.tensor.dtype == np.float32 and out.failure is None
    out = ep.entry_point("python", kws_ctx, f"{f}:b").tensor(_sample())
    assert out.tensor.dtype == np.int8 and int(out.tensor.max()) == 72  # uint8 = int8 + 128


def test_an_exception_in_the_users_function_is_that_samples_failure(tmp_path, kws_ctx):
    f = _write(tmp_path, "def a(raw):\n    raise RuntimeError('frame too short')\n"
                         "def b(raw):\n    return np.zeros((10, 49, 1), np.float32)\n")
    out = ep.entry_point("python", kws_ctx, f"{f}:a").tensor(_sample())
    assert out.tensor is None and out.failure == "RuntimeError: frame too short"
    out = ep.entry_point("python", kws_ctx, f"{f}:b").tensor(_sample())
    assert out.tensor is None and "(10, 49, 1)" in out.failure and "(49, 10, 1)" in out.failure


@pytest.mark.parametrize("option, words", [
    ("pipe.py", "FILE.py:FUNCTION"),
    ("missing.py:fn", "not found"),
    ("pipe.py:nofn", "has no function nofn; functions there: a"),
])
def test_bad_frontend_python_option_is_a_user_error(tmp_path, kws_ctx, option, words):
    _write(tmp_path, "def a(raw):\n    return raw\n")
    with pytest.raises(UserError, match=words):
        ep.entry_point("python", kws_ctx, str(tmp_path / option))


def test_a_module_failing_at_import_names_its_line(tmp_path, kws_ctx):
    f = _write(tmp_path, "x = 1\nraise ImportError('no cv2 here')\n")
    with pytest.raises(UserError, match=r"pipe.py:3: ImportError: no cv2 here"):
        ep.entry_point("python", kws_ctx, f"{f}:a")


def test_check_tensor_names_channels_first(kws_ctx):
    ctx = ep.EntryPointContext(load_model("mobilenetv2"), kws_ctx.input_quant)
    t, why = ep.check_tensor(ctx, np.zeros((3, 96, 96), np.float32), "tensor x.npy")
    assert t is None and "NCHW" in why and "np.transpose(t, (1, 2, 0))" in why
    t, why = ep.check_tensor(ctx, np.zeros((96, 96, 3), np.int32), "tensor x.npy")
    assert t is None and "int32" in why

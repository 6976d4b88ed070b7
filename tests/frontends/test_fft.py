"""The frontends' own real FFT (radix-4, the split fused with the last stage) against numpy."""

from __future__ import annotations

import ctypes
import subprocess

import numpy as np
import pytest

from edgekit.frontends.codegen import frontend_src_dir


@pytest.fixture(scope="module")
def fft_lib(tmp_path_factory):
    out = tmp_path_factory.mktemp("fft") / "libekfft.so"
    src = frontend_src_dir()
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fPIC",
                    "-shared", f"-I{src / 'include'}", str(src / "src" / "ek_fft.c"), "-o", str(out)], check=True)
    return ctypes.CDLL(str(out))


def _twiddles(n):
    k = np.arange(n // 2)
    return np.stack([np.cos(2 * np.pi * k / n), -np.sin(2 * np.pi * k / n)], 1).ravel()


def _unpack(buf, n):
    x = np.zeros(n // 2 + 1, complex)
    x[0], x[n // 2] = buf[0], buf[1]
    x[1:n // 2] = buf[2:n:2] + 1j * buf[3:n:2]
    return x


@pytest.mark.parametrize("log2n", [2, 3, 6, 10, 12])
def test_float_rfft_matches_numpy(fft_lib, log2n):
    n = 1 << log2n
    x = np.random.default_rng(log2n).standard_normal(n).astype(np.float32)
    buf, tw = x.copy(), _twiddles(n).astype(np.float32)
    fft_lib.ek_rfft_f32(buf.ctypes.data_as(ctypes.c_void_p), tw.ctypes.data_as(ctypes.c_void_p), log2n)
    ref = np.fft.rfft(x.astype(np.float64))
    np.testing.assert_allclose(_unpack(buf, n), ref, atol=2e-6 * n, rtol=0)


def test_q15_rfft_is_scaled_by_one_over_n_within_a_few_lsb(fft_lib):
    n = 1024
    rng = np.random.default_rng(0)
    x = np.round(rng.uniform(-0.9, 0.9, n) * 32767).astype(np.int16)
    buf = x.copy()
    tw = np.clip(np.round(_twiddles(n) * 32768), -32768, 32767).astype(np.int16)
    fft_lib.ek_rfft_q15(buf.ctypes.data_as(ctypes.c_void_p), tw.ctypes.data_as(ctypes.c_void_p), 10)
    ref = np.fft.rfft(x / 32768.0) / n * 32768  # X/N in Q15 units
    err = np.abs(_unpack(buf, n) - ref)
    # Truncation in 10 halving stages: a few LSB, never more; a pure tone still stands out.
    assert err.max() <= 6, err.max()
    tone = np.round(0.5 * 32767 * np.cos(2 * np.pi * 37 * np.arange(n) / n)).astype(np.int16)
    buf = tone.copy()
    fft_lib.ek_rfft_q15(buf.ctypes.data_as(ctypes.c_void_p), tw.ctypes.data_as(ctypes.c_void_p), 10)
    mag = np.abs(_unpack(buf, n))
    assert mag.argmax() == 37 and abs(mag[37] - 0.25 * 32768) < 8


def _bitreversed_pairs(x: np.ndarray) -> np.ndarray:
    m = x.size // 2
    bits = m.bit_length() - 1
    rev = np.array([int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(m)])
    return x.reshape(m, 2)[rev].ravel().copy()


@pytest.mark.parametrize("log2n", [2, 3, 4, 9, 10, 11])
@pytest.mark.parametrize("mode", [1, 2])  # EK_RFFT_MAGNITUDE, EK_RFFT_POWER
def test_spectrum_entry_points_give_twice_the_bins_of_the_complex_fft(fft_lib, log2n, mode):
    """The frontend's path (bit-reversed input, the passes, the fused last stage and split)
    yields |2 X[k]| (or its square) of what the complex entry point's X gives, for the wanted
    bins only, to float32 rounding (the two paths order their operations differently; the
    frontend's own device-vs-host check, tests/frontends/test_arm.py, is byte for byte)."""
    n = 1 << log2n
    x = np.random.default_rng(100 + log2n).standard_normal(n).astype(np.float32)
    tw = _twiddles(n).astype(np.float32)
    full = x.copy()
    fft_lib.ek_rfft_f32(full.ctypes.data_as(ctypes.c_void_p), tw.ctypes.data_as(ctypes.c_void_p), log2n)
    bins = _unpack(full, n)
    n_bins = n // 4 + 1
    buf = _bitreversed_pairs(x)
    out = np.full(n // 2 + 1, -1.0, np.float32)
    fft_lib.ek_cfft_f32_passes(buf.ctypes.data_as(ctypes.c_void_p), tw.ctypes.data_as(ctypes.c_void_p), None, log2n, 1)
    fft_lib.ek_rfft_f32_finish(buf.ctypes.data_as(ctypes.c_void_p), tw.ctypes.data_as(ctypes.c_void_p), log2n,
                               n_bins, mode, out.ctypes.data_as(ctypes.c_void_p))
    power = (2 * bins.real.astype(np.float64)) ** 2 + (2 * bins.imag.astype(np.float64)) ** 2
    want = power if mode == 2 else np.sqrt(power)
    np.testing.assert_allclose(out[:n_bins], want[:n_bins], rtol=1e-6, atol=1e-6)
    ref = np.abs(2 * np.fft.rfft(x.astype(np.float64)))[:n_bins] ** (2 if mode == 2 else 1)
    np.testing.assert_allclose(out[:n_bins], ref, rtol=0, atol=1e-5 * ref.max())
    assert (out[n_bins:] == -1.0).all(), "bins past n_bins are never written"


@pytest.mark.parametrize("log2n", [6, 9, 10, 12])
def test_stage_twiddle_table_gives_the_same_values(fft_lib, log2n):
    """The frontend's path reads the radix-4 stages' twiddles from the generated table in
    order (VLDM on the core); same floats, same operations: the same transform."""
    from edgekit.frontends.codegen import _stage_twiddles

    n = 1 << log2n
    tw = _twiddles(n).astype(np.float32)
    table = np.array(_stage_twiddles(tw, n) or [0.0], np.float32)
    x = np.random.default_rng(log2n).standard_normal(n).astype(np.float32)
    a, b = x.copy(), x.copy()
    ptr = lambda v: v.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
    fft_lib.ek_cfft_f32_passes(ptr(a), ptr(tw), None, log2n, 4)
    fft_lib.ek_cfft_f32_passes(ptr(b), ptr(tw), ptr(table), log2n, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, x), "the passes ran"

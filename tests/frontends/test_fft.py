"""The frontends' own radix-2 real FFT (no CMSIS-DSP here) against numpy."""

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


def _radix2_rfft_f32(x: np.ndarray, tw: np.ndarray, log2n: int) -> np.ndarray:
    """The plain radix-2 DIT order of operations in float32 (every op rounded, no fused
    multiply-add): what the C FFT computes, however it groups its stages."""
    f = np.float32
    n = 1 << log2n
    m = n // 2
    bits = max(m.bit_length() - 1, 0)
    rev = np.array([int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(m)])
    z = x.astype(f).reshape(m, 2)[rev].copy()
    length = 2
    while length <= m:
        half, step = length // 2, n // length
        j = np.arange(half)
        wr, wi = tw[2 * j * step], tw[2 * j * step + 1]
        for start in range(0, m, length):
            a, b = z[start:start + half].copy(), z[start + half:start + length].copy()
            tr = wr * b[:, 0] - wi * b[:, 1]
            ti = wr * b[:, 1] + wi * b[:, 0]
            z[start:start + half] = np.stack([a[:, 0] + tr, a[:, 1] + ti], 1)
            z[start + half:start + length] = np.stack([a[:, 0] - tr, a[:, 1] - ti], 1)
        length *= 2
    out = np.empty((m, 2), f)
    out[0] = [z[0, 0] + z[0, 1], z[0, 0] - z[0, 1]]
    k = np.arange(1, m // 2 + 1)
    p, q = z[k], z[m - k]
    er, ei = f(0.5) * (p[:, 0] + q[:, 0]), f(0.5) * (p[:, 1] - q[:, 1])
    orr, oi = f(0.5) * (p[:, 1] + q[:, 1]), f(-0.5) * (p[:, 0] - q[:, 0])
    wr, wi = tw[2 * k], tw[2 * k + 1]
    tr, ti = wr * orr - wi * oi, wr * oi + wi * orr
    out[k] = np.stack([er + tr, ei + ti], 1)
    out[m - k] = np.stack([er - tr, -(ei - ti)], 1)  # after p: the middle bin is q's
    return out.ravel()


@pytest.mark.parametrize("log2n", [2, 3, 4, 9, 10, 11])
def test_float_rfft_is_bit_for_bit_the_radix2_order_of_operations(fft_lib, log2n):
    """Stages run in fused pairs on the device; the results must not change by a bit."""
    n = 1 << log2n
    x = np.random.default_rng(100 + log2n).standard_normal(n).astype(np.float32)
    buf, tw = x.copy(), _twiddles(n).astype(np.float32)
    fft_lib.ek_rfft_f32(buf.ctypes.data_as(ctypes.c_void_p), tw.ctypes.data_as(ctypes.c_void_p), log2n)
    assert buf.tobytes() == _radix2_rfft_f32(x, tw, log2n).tobytes()

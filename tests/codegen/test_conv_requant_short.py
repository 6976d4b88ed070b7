"""The dsp conv kernel's short requantization data (codegen/ops/conv_2d.py,
requant_short_params, and the triple stream it travels in, pack_stream_dsp): its layout, its
value against TFLM's two-step rounding (the same integer operations conv.c's requant_short does, in Python's unbounded integers), and the layers that get
none (the kernel then requantizes the general way). The C is held bit-exact by
test_kernels_bitexact and test_qemu_kernels."""

from __future__ import annotations

import numpy as np

from edgekit.codegen.ops.conv_2d import pack_filter_dsp, pack_stream_dsp, requant_short_params


def _srdhm(a: int, b: int) -> int:
    """TFLM's SaturatingRoundingDoublingHighMul (no saturation case here: b > 0)."""
    ab = a * b
    v = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    return abs(v) >> 31 if v >= 0 else -(abs(v) >> 31)


def _rdbypot(x: int, e: int) -> int:
    mask = (1 << e) - 1
    return (x >> e) + ((x & mask) > (mask >> 1) + (x < 0))


def _tflm(acc: int, m: int, shift: int, zp: int) -> int:
    return max(-128, min(127, _rdbypot(_srdhm(acc, m), -shift) + zp))


def _short(acc: int, m: int, addend: int, r: int) -> int:
    x = acc << 1
    t = ((x * m + (1 << 31)) >> 32) + addend
    assert -(1 << 31) <= t < 1 << 31  # SMMLAR's accumulate stays inside int32
    return max(-128, min(127, (t - (x < 0)) >> r))


def _layer(C=5, seed=0):
    rng = np.random.default_rng(seed)
    folded = rng.integers(-50_000, 50_000, C + (C & 1)).astype(np.int32)
    mult = [int(v) for v in rng.integers(1 << 30, (1 << 31) - 1, C)]
    shift = [int(v) for v in rng.integers(-22, 0, C)]
    return folded, mult, shift


def test_layout_per_channel():
    folded, mult, shift = _layer()
    rq = requant_short_params(folded, mult, shift, k4=64, output_zp=-7, act_min=-128, act_max=127)
    assert rq.dtype == np.int32 and rq.shape == (15,)
    for c in range(5):
        r = -shift[c]
        assert list(rq[3 * c:3 * c + 3]) == [mult[c], (1 << (r - 1)) - 7 * (1 << r), r]


def test_value_is_tflms_on_ties_and_extremes():
    rng = np.random.default_rng(3)
    k4 = 1024
    bound = (1 << 30) - 1 - 60_000  # what requant_short_params allows for |bias| < 60,000
    for _ in range(400):
        folded, mult, shift = _layer(C=4, seed=int(rng.integers(1 << 30)))
        zp = int(rng.integers(-128, 128))
        rq = requant_short_params(folded, mult, shift, k4, zp, -128, 127)
        for c in range(4):
            m, addend, r = (int(v) for v in rq[3 * c:3 * c + 3])
            half = 1 << (r + 30)  # acc * m / 2^31 near a half step of the final shift
            accs = [0, 1, -1, bound, -bound, int(rng.integers(-bound, bound)),
                    *(int(round(k * half / m)) + d for k in (-3, -1, 1, 3) for d in (-1, 0, 1))]
            for acc in accs:
                assert _short(acc, m, addend, r) == _tflm(acc, m, shift[c], zp), (acc, m, shift[c], zp)


def test_none_where_the_short_path_would_not_be_exact():
    folded, mult, shift = _layer(C=4)
    full = dict(k4=64, output_zp=0, act_min=-128, act_max=127)
    assert requant_short_params(folded, mult, shift, **full) is not None
    assert requant_short_params(folded, mult, shift, k4=64, output_zp=-128, act_min=-128, act_max=100) is None
    assert requant_short_params(folded, mult, shift, k4=64, output_zp=0, act_min=0, act_max=127) is None
    assert requant_short_params(folded, mult, [0, *shift[1:]], **full) is None        # no right shift
    assert requant_short_params(folded, mult, [1, *shift[1:]], **full) is None        # a left shift
    assert requant_short_params(folded, mult, [-23, *shift[1:]], **full) is None      # r > 22
    assert requant_short_params(folded, [0, *mult[1:]], shift, **full) is None
    big = folded.copy()
    big[2] = (1 << 30) - (64 << 14)                                                   # 2 acc could overflow
    assert requant_short_params(big, mult, shift, **full) is None
    big[2] -= 1
    assert requant_short_params(big, mult, shift, **full) is not None


def test_the_triple_stream_is_bias_weights_requantization_per_triple():
    """pack_stream_dsp: per triple of output channels, in the order conv.c's mac_stream_rq reads
    them through one pointer, its 3 biases, its weight words (two int16, the first in the low
    half) and its 3 x {M, h, r}; the last triple's missing channels zero."""
    rng = np.random.default_rng(3)
    oc, k4 = 5, 8
    w = rng.integers(-128, 128, (oc, 1, 1, k4)).astype(np.int8)
    packed = 2 * pack_filter_dsp(w)
    folded = np.concatenate([rng.integers(-9_000, 9_000, oc), [0]]).astype(np.int32)
    rq = rng.integers(1, 1 << 20, 3 * oc).astype(np.int32)
    stream = pack_stream_dsp(packed, folded, rq)
    block = 3 + 3 * k4 // 2 + 9
    assert stream.dtype == np.int32 and len(stream) == 2 * block
    for t in range(2):
        b = stream[t * block:(t + 1) * block]
        assert list(b[:3]) == list(folded[3 * t:3 * t + 3])
        assert np.array_equal(b[3:block - 9].astype("<i4").view("<i2"), packed[t * 3 * k4:(t + 1) * 3 * k4])
        want = np.zeros(9, np.int32)
        got_rq = rq[9 * t:9 * t + 9]
        want[:len(got_rq)] = got_rq
        assert list(b[block - 9:]) == list(want)

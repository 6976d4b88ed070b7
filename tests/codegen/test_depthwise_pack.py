"""The DSP depthwise kernels' pre-packed 3x3 layer data (codegen/ops/depthwise_conv_2d.py):
its layout, and the conditions under which none is emitted (the kernels then requantize the
general way). The data's use is held bit-exact by test_kernels_bitexact / test_qemu_kernels."""

from __future__ import annotations

import numpy as np

from edgekit.codegen.ops.depthwise_conv_2d import GROUP_WORDS, HEADER_WORDS, dsp_pack_3x3


def _lane(word: int, hi: bool) -> int:
    v = (int(word) & 0xFFFFFFFF) >> (16 if hi else 0) & 0xFFFF
    return v - 0x10000 if v & 0x8000 else v


def _layer(C=6, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, (1, 3, 3, C)).astype(np.int8)
    b = rng.integers(-5000, 5000, C).astype(np.int32)
    mult = rng.integers(1 << 30, (1 << 31) - 1, C)
    shift = rng.integers(-12, -1, C)
    return w, b, mult, shift


def test_layout_per_group():
    w, b, mult, shift = _layer()
    packed = dsp_pack_3x3(w, b, mult, shift, input_offset=37, output_zp=-5, act_min=-128, act_max=100)
    assert packed.dtype == np.int32 and packed.size == HEADER_WORDS + GROUP_WORDS  # 6 channels: one group
    assert packed[0] == np.int32(np.uint32(0x80808080).view(np.int32))
    assert packed[1] == 0x64646464 and _lane(packed[2], False) == 37 and _lane(packed[2], True) == 37
    g = packed[HEADER_WORDS:]
    wt = w.reshape(9, 6).astype(np.int64)
    assert list(g[0:4]) == [2 * (b[c] + 37 * wt[:, c].sum()) for c in range(4)]
    assert list(g[4:8]) == [2 * b[c] for c in range(4)]
    for t in range(9):
        lo, hi = g[8 + 2 * t], g[9 + 2 * t]
        assert [_lane(lo, False), _lane(hi, False), _lane(lo, True), _lane(hi, True)] == list(2 * wt[t, :4])
    e = -shift[:4]
    assert list(g[26:30]) == list(mult[:4]) and list(g[34:38]) == list(e)
    assert list(g[30:34]) == [(1 << (k - 1)) - 5 * (1 << k) for k in e]


def test_none_where_the_fast_requantization_would_not_be_exact():
    w, b, mult, shift = _layer(C=8)
    args = dict(input_offset=0, output_zp=0, act_min=-128, act_max=127)
    assert dsp_pack_3x3(w, b, mult, shift, **args) is not None
    assert dsp_pack_3x3(w, b, mult, np.where(np.arange(8) == 3, 0, shift), **args) is None      # e = 0
    assert dsp_pack_3x3(w, b, mult, np.where(np.arange(8) == 3, -22, shift), **args) is None    # e > 21
    assert dsp_pack_3x3(w, np.where(np.arange(8) == 5, (1 << 29) - 9 * 128 * 255, b), mult, shift, **args) is None
    assert dsp_pack_3x3(w[..., :3], b[:3], mult[:3], shift[:3], **args) is None  # no group of four

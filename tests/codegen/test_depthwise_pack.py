"""The DSP depthwise kernels' pre-packed 3x3 layer data (codegen/ops/depthwise_conv_2d.py):
its layout, the in-place stride-1 kernel's planes (geometry, per-channel data), and the
conditions under which none is emitted (the kernels then requantize the general way). The data's use is held bit-exact by test_kernels_bitexact / test_qemu_kernels."""

from __future__ import annotations

import numpy as np

from edgekit.codegen.ops.depthwise_conv_2d import (
    CHANNEL_WORDS, GROUP_WORDS, HEADER_WORDS, PLANAR_HEADER_WORDS, PLANE_BUDGET, PlanarGeometry, dsp_pack_3x3,
    dsp_pack_planar, planar_geometry)


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
    rq = g[26:38].reshape(4, 3)   # per channel {multiplier, addend, shift}
    assert list(rq[:, 0]) == list(mult[:4]) and list(rq[:, 2]) == list(e)
    assert list(rq[:, 1]) == [(1 << (k - 1)) - 5 * (1 << k) for k in e]


def test_none_where_the_fast_requantization_would_not_be_exact():
    w, b, mult, shift = _layer(C=8)
    args = dict(input_offset=0, output_zp=0, act_min=-128, act_max=127)
    assert dsp_pack_3x3(w, b, mult, shift, **args) is not None
    assert dsp_pack_3x3(w, b, mult, np.where(np.arange(8) == 3, 0, shift), **args) is None      # e = 0
    assert dsp_pack_3x3(w, b, mult, np.where(np.arange(8) == 3, -22, shift), **args) is None    # e > 21
    assert dsp_pack_3x3(w, np.where(np.arange(8) == 5, (1 << 29) - 9 * 128 * 255, b), mult, shift, **args) is None
    assert dsp_pack_3x3(w[..., :3], b[:3], mult[:3], shift[:3], **args) is None  # no group of four


def test_planar_geometry_orientation_bands_and_scratch():
    # KWS's 25x5 maps: runs along H (transposed), all of it in one band.
    g = planar_geometry(25, 5)
    assert g == PlanarGeometry(transposed=True, band=5, row_bytes=2 * (28 + 2))
    assert g.scratch_bytes == 4 * 7 * 60
    # A square map: the tie goes to the rows; a 30x38 map does not fit one band of 8 KB, so it
    # is cut into bands of rows (transposed planes never band: in place, that is not safe).
    assert not planar_geometry(16, 16).transposed
    g = planar_geometry(30, 38)
    assert not g.transposed and g.row_bytes == 2 * (40 + 2) and 1 <= g.band < 30
    assert g.scratch_bytes <= PLANE_BUDGET < 4 * 32 * g.row_bytes
    assert planar_geometry(30, 38, budget=4 * 3 * 84) == PlanarGeometry(False, 1, 84)
    assert planar_geometry(30, 38, budget=4 * 3 * 84 - 1) is None


def test_planar_layout_per_channel():
    w, b, mult, shift = _layer(C=8, seed=3)
    geo = PlanarGeometry(transposed=False, band=4, row_bytes=20)
    packed = dsp_pack_planar(w, b, mult, shift, input_offset=-11, output_zp=7, geo=geo)
    assert packed.dtype == np.int32 and packed.size == PLANAR_HEADER_WORDS + 8 * CHANNEL_WORDS
    assert list(packed[:PLANAR_HEADER_WORDS]) == [0, 4, 20, 0]
    ch = packed[PLANAR_HEADER_WORDS:].reshape(8, CHANNEL_WORDS)
    wt = w.reshape(3, 3, 8).astype(np.int64)
    for c in range(8):
        assert ch[c, 0] == 2 * (b[c] - 11 * wt[..., c].sum())
        for r in range(3):   # plane row r = filter row r; lanes (t0, t1), (t1, t2), doubled
            assert [_lane(ch[c, 1 + 2 * r], False), _lane(ch[c, 1 + 2 * r], True)] == [2 * wt[r, 0, c], 2 * wt[r, 1, c]]
            assert [_lane(ch[c, 2 + 2 * r], False), _lane(ch[c, 2 + 2 * r], True)] == [2 * wt[r, 1, c], 2 * wt[r, 2, c]]
        e = -shift[c]
        assert list(ch[c, 7:]) == [mult[c], (1 << (e - 1)) + 7 * (1 << e), e]
    # Transposed: a plane row is a filter column, its taps run down the filter rows.
    t = dsp_pack_planar(w, b, mult, shift, -11, 7, PlanarGeometry(True, 5, 60))
    assert t[0] == 1
    tc = t[PLANAR_HEADER_WORDS:].reshape(8, CHANNEL_WORDS)
    assert [_lane(tc[2, 1 + 2 * 1], False), _lane(tc[2, 1 + 2 * 1], True)] == [2 * wt[0, 1, 2], 2 * wt[1, 1, 2]]
    assert [_lane(tc[2, 2 + 2 * 1], True)] == [2 * wt[2, 1, 2]]


def test_planar_none_without_whole_groups_or_exact_requantization():
    w, b, mult, shift = _layer(C=8)
    geo = planar_geometry(9, 7)
    assert dsp_pack_planar(w, b, mult, shift, 0, 0, geo) is not None
    assert dsp_pack_planar(w[..., :6], b[:6], mult[:6], shift[:6], 0, 0, geo) is None     # 6 channels
    assert dsp_pack_planar(w, b, mult, np.where(np.arange(8) == 1, 0, shift), 0, 0, geo) is None   # e = 0
    assert dsp_pack_planar(w, b, np.where(np.arange(8) == 2, -1, mult), shift, 0, 0, geo) is None  # mult < 0

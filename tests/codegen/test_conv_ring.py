"""The dsp conv's ring of widened input rows (codegen/ops/conv_2d.py ring_geometry and
ring_tap_order; the kernel is conv.c's conv2d_dsp_ring, bit-exact in test_kernels_bitexact)."""

import numpy as np
import pytest

from edgekit.codegen.ops.conv_2d import RING_BUDGET, pack_filter_dsp, ring_geometry, ring_tap_order


def slot_as_ring_pair(window: np.ndarray, k4: int) -> np.ndarray:
    """One pixel's tap pairs as conv.c's ring_pair writes them: per filter row its inputs two by
    two, then the odd rows' last inputs paired across rows, then zeros; [k4 // 2, 2]."""
    kh, run = window.shape
    pairs = [window[fy, 2 * j:2 * j + 2] for fy in range(kh) for j in range(run // 2)]
    if run % 2:
        last = list(window[:, run - 1]) + ([0] if kh % 2 else [])
        pairs += [np.array(last[i:i + 2]) for i in range(0, len(last), 2)]
    pairs += [np.zeros(2, window.dtype)] * (k4 // 2 - len(pairs))
    return np.stack(pairs)


@pytest.mark.parametrize("kh,kw,cin", [(3, 3, 3), (2, 3, 1), (3, 2, 2), (5, 5, 1), (1, 3, 3), (3, 3, 8)])
def test_packed_filter_in_ring_order_gives_the_convolution(kh, kw, cin):
    """The packed filter (the generator's order) times the slot (the kernel's layout) is the
    window's dot product with the filter, for every output channel."""
    rng = np.random.default_rng(kh * 100 + kw * 10 + cin)
    oc = 5
    w = rng.integers(-128, 128, (oc, kh, kw, cin)).astype(np.int8)
    window = rng.integers(-128, 128, (kh, kw * cin)).astype(np.int64)
    order = ring_tap_order(kh, kw, cin)
    k4 = len(order)
    assert k4 == (kh * kw * cin + 3) & ~3
    assert sorted(order[order >= 0]) == list(range(kh * kw * cin))   # every tap once
    packed = pack_filter_dsp(w, order).astype(np.int64)
    # packed: per triple, per tap pair, the triple's three channels' two weights
    triples = packed.reshape(-1, k4 // 2, 3, 2)
    slot = slot_as_ring_pair(window, k4)
    got = np.einsum("tpcj,pj->tc", triples, slot).reshape(-1)[:oc]
    want = (w.reshape(oc, -1).astype(np.int64) * window.reshape(-1)).sum(axis=1)
    assert np.array_equal(got, want)


def test_ring_geometry():
    # VWW's first conv: 3x3 stride 2 on 96x96x3, 48 outputs a row; a row is 97 columns of 3
    rows, nbytes = ring_geometry(3, 3, 3, 2, 2, 1, 1, 48)
    assert (rows, nbytes) == (3, 3 * 2 * (97 * 3 + 1))
    # an odd output width: a pixel pair may straddle two rows, the ring holds both rows' windows
    assert ring_geometry(3, 3, 3, 2, 2, 1, 1, 47)[0] == 5
    assert ring_geometry(1, 1, 16, 1, 1, 1, 1, 8) == (0, 0)        # pointwise: read in place
    assert ring_geometry(3, 3, 3, 1, 1, 2, 1, 8) == (0, 0)         # dilated
    assert ring_geometry(3, 3, 3, 1, 1, 1, 1, 8) == (0, 0)         # stride_w * cin odd
    assert ring_geometry(10, 4, 1, 2, 2, 1, 1, 5) == (0, 0)        # a filter row of one word
    wide = RING_BUDGET // (2 * 3 * 3) + 1                          # 3 rows of cin 3 over budget
    assert ring_geometry(3, 3, 3, 1, 2, 1, 1, wide // 2) == (0, 0)

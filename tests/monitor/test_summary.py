import numpy as np
import pytest

from edgekit.monitor.summary import CONF_BINS, conf_bin, feature_layout, per_sample, summarize, window_of


def test_feature_layout_is_the_last_axis_larger_than_one():
    assert feature_layout((49, 10, 1)) == (10, 1)
    assert feature_layout((96, 96, 3)) == (3, 1)
    assert feature_layout((4, 3, 2)) == (2, 1)


def test_confidence_bins_are_output_quantization_steps():
    q = np.array([-128, -113, -112, 0, 127])
    assert conf_bin(q).tolist() == [0, 0, 1, 8, 15]


def test_summary_matches_a_hand_computation():
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, size=(7, 49, 10, 1), dtype=np.int64).astype(np.int8)
    y = rng.integers(-128, 128, size=(7, 12)).astype(np.int8)
    s = summarize(x, y)
    assert s.count == 7 and sum(s.class_hist) == 7 and sum(s.conf_hist) == 7 and len(s.conf_hist) == CONF_BINS
    for k in range(7):
        assert s.class_hist[int(np.argmax(y[k]))] >= 1
    xf = x.astype(np.int64).reshape(7, 49, 10)
    assert s.feature_sum == xf.sum(axis=(0, 1)).tolist()
    assert s.feature_sumsq == (xf * xf).sum(axis=(0, 1)).tolist()
    assert s.feature_elements == 49
    m = np.array(s.feature_mean())
    assert np.allclose(m, xf.mean(axis=(0, 1)))
    assert np.allclose(s.feature_var(), xf.var(axis=(0, 1)))


def test_windows_are_sums_of_samples_and_ties_take_the_first_class():
    x = np.zeros((3, 2, 3), np.int8)
    y = np.array([[5, 5, 0], [0, 9, 9], [-1, -2, 7]], np.int8)
    ps = per_sample(x, y)
    assert ps.pred.tolist() == [0, 1, 2]
    w = window_of(ps, np.array([0, 0, 2]), 3)
    assert w.count == 3 and w.class_hist == [2, 0, 1]


def test_too_many_classes_for_the_device_sketch_is_refused():
    with pytest.raises(ValueError, match="at most"):
        per_sample(np.zeros((1, 4), np.int8), np.zeros((1, 100), np.int8))

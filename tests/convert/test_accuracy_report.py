"""convert's per-cohort accuracy comes from edgekit.stats: the same groups, keys, intervals and
McNemar flags as `edgekit eval`'s quantization stage, and the figures a plain count gives."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit import stats
from edgekit.convert.analysis import accuracy_report


def _case(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    pf = np.where(rng.random(n) < 0.9, y, (y + 1) % 4)
    cohorts = [{"snr_db": [5.0, 10.0, 20.0][i % 3], "mic": ["flat", "cheap"][i % 2]} for i in range(n)]
    # int8 loses accuracy on the cheap microphone only
    pq = np.array([(p + 1) % 4 if c["mic"] == "cheap" and rng.random() < 0.15 else p for p, c in zip(pf, cohorts)])
    return pf, pq, y, cohorts


def test_figures_are_the_counts_and_the_keys_are_the_eval_ones():
    pf, pq, y, cohorts = _case()
    rep = accuracy_report(pf, pq, y, cohorts, ["mic", "snr_db"])
    assert list(rep.per_cohort["snr_db"]) == ["5", "10", "20"]   # stats.value_key, numeric order
    for field, groups in rep.per_cohort.items():
        for value, g in groups.items():
            m = np.array([stats.value_key(c[field]) == value for c in cohorts])
            assert g.n == m.sum()
            assert g.float_accuracy == pytest.approx((pf[m] == y[m]).mean())
            assert g.int8_accuracy == pytest.approx((pq[m] == y[m]).mean())
            assert g.agreement == pytest.approx((pf[m] == pq[m]).mean())
            assert g.int8_ci_low <= g.int8_accuracy <= g.int8_ci_high
    assert rep.overall.n == len(y) and rep.overall.delta_points == pytest.approx(
        100 * ((pq == y).mean() - (pf == y).mean()), abs=1e-3)


def test_a_significant_drop_is_flagged_where_it_is():
    pf, pq, y, cohorts = _case()
    rep = accuracy_report(pf, pq, y, cohorts, ["mic"])
    assert rep.per_cohort["mic"]["cheap"].flagged and rep.per_cohort["mic"]["cheap"].p_value < 0.05
    assert not rep.per_cohort["mic"]["flat"].flagged and rep.per_cohort["mic"]["flat"].delta_points == 0.0


def test_without_a_float_model_only_int8_figures():
    _, pq, y, cohorts = _case(60)
    rep = accuracy_report(None, pq, y, cohorts, ["mic"])
    assert rep.overall.float_accuracy is None and rep.overall.agreement is None and rep.overall.flagged is None
    assert rep.per_cohort["mic"]["flat"].int8_accuracy == pytest.approx(
        (pq[::2] == y[::2]).mean())

"""Statistics against hand-computed cases."""

from __future__ import annotations


import pytest

from edgekit import stats


def test_wilson_matches_hand_computation():
    # p = 0.8, n = 10, z = 1.96: centre 0.71673, half-width 0.22658 (worked by hand).
    lo, hi = stats.wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4)
    assert hi == pytest.approx(0.9433, abs=1e-4)


def test_wilson_edges():
    lo, hi = stats.wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = stats.wilson_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(1 - 0.2775, abs=1e-4)
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        stats.wilson_interval(11, 10)


def test_mcnemar_exact_for_few_discordant_pairs():
    # b=1, c=9: P(X<=1 | n=10, p=.5) = 11/1024, two-sided 22/1024.
    t = stats.mcnemar(1, 9)
    assert t.method == "exact binomial"
    assert t.p_value == pytest.approx(22 / 1024)
    assert stats.mcnemar(5, 5).p_value == 1.0
    assert stats.mcnemar(0, 0).p_value == 1.0


def test_mcnemar_chi_square_for_many_discordant_pairs():
    # b=10, c=30: (|10-30|-1)^2 / 40 = 9.025, chi2(1) survival = 0.002663.
    t = stats.mcnemar(10, 30)
    assert t.method.startswith("chi-square")
    assert t.p_value == pytest.approx(0.002663, abs=2e-6)
    scipy_stats = pytest.importorskip("scipy.stats")
    assert t.p_value == pytest.approx(scipy_stats.chi2.sf(9.025, 1))


def test_paired_difference_interval():
    # b=10, c=30, n=100: d = 0.2; var = (0.4 - 0.04)/100 = 0.0036; half = 1.96*0.06.
    lo, hi = stats.paired_difference_interval(10, 30, 100)
    assert lo == pytest.approx(0.2 - stats.Z95 * 0.06)
    assert hi == pytest.approx(0.2 + stats.Z95 * 0.06)


def test_percentiles_nearest_rank():
    vals = list(range(1, 101))
    assert stats.percentile_nearest_rank(vals, 50) == 50
    assert stats.percentile_nearest_rank(vals, 90) == 90
    assert stats.percentile_nearest_rank(vals, 99) == 99
    assert stats.percentile_nearest_rank(vals, 100) == 100
    assert stats.percentile_nearest_rank([5, 1, 3], 50) == 3
    assert stats.percentile_nearest_rank([7], 99) == 7
    with pytest.raises(ValueError):
        stats.percentile_nearest_rank([], 50)


def test_latency_summary_instructions_are_estimated_time():
    s = stats.latency_summary([1_000_000] * 9 + [2_000_000], "instructions (emulated)", clock_mhz=64, cpi=1.2)
    assert s.p50 == 1_000_000 and s.p99 == 2_000_000 and s.max == 2_000_000
    # 1e6 instructions x 1.2 cycles / 64 MHz = 18.75 ms
    assert s.p50_ms == pytest.approx(18.75)
    assert s.p99_ms == pytest.approx(37.5)
    assert s.time_how.startswith("estimated")
    assert "emulator" in s.how


def test_latency_summary_cycles_are_measured_time():
    s = stats.latency_summary([64_000], "cycles", clock_mhz=64, cpi=1.2)
    assert s.p99_ms == pytest.approx(1.0)  # cpi does not apply to measured cycles
    assert s.time_how.startswith("measured")


def _rec(i, label, cohort, **preds):
    paths = {}
    for path, p in preds.items():
        paths[path] = {"status": "ok", "pred": p} if p is not None else {"status": "error", "reason": "timeout"}
    return {"id": f"s{i}", "label": label, "cohort": cohort, "paths": paths}


def test_accuracy_by_cohort_fields_and_combinations():
    recs = [
        _rec(0, 1, {"mic": "a", "snr_db": 10.0}, float=1),
        _rec(1, 1, {"mic": "a", "snr_db": 20.0}, float=0),
        _rec(2, 0, {"mic": "b", "snr_db": 10.0}, float=0),
        _rec(3, 0, {"mic": "b", "snr_db": 10.0}, float=None),  # failed: not counted
    ]
    rows = stats.accuracy_by_cohort(recs, "float", ["mic", "snr_db"], [["mic", "snr_db"]])
    by = {(r.field, r.value): r for r in rows}
    assert by[("all", "all")].n == 3 and by[("all", "all")].correct == 2
    assert by[("mic", "a")].accuracy == 0.5
    assert by[("mic", "b")].n == 1 and by[("mic", "b")].accuracy == 1.0
    assert by[("snr_db", "10")].n == 2  # 10.0 is shown as 10
    assert by[("mic+snr_db", "a+20")].accuracy == 0.0
    assert [r.value for r in rows if r.field == "snr_db"] == ["10", "20"]
    lo, hi = stats.wilson_interval(2, 3)
    assert (by[("all", "all")].ci_low, by[("all", "all")].ci_high) == (lo, hi)


def test_compare_paths_flags_significant_large_drop_only():
    recs = []
    # cohort "bad": 40 samples, float right on all, device wrong on 12 -> b=12, c=0, drop 30 pts.
    for i in range(40):
        recs.append(_rec(i, 1, {"mic": "bad"}, float=1, device=0 if i < 12 else 1))
    # cohort "noisy": small drop that is not significant: b=2, c=1.
    for i in range(40):
        dev = 0 if i < 2 else 1
        fl = 0 if i == 39 else 1
        if i == 39:
            dev = 1
        recs.append(_rec(100 + i, 1, {"mic": "noisy"}, float=fl, device=dev))
    rows = {(r.field, r.value): r for r in stats.compare_paths(recs, "float", "device", ["mic"], threshold=0.02)}
    bad = rows[("mic", "bad")]
    assert (bad.b, bad.c) == (12, 0)
    assert bad.p_value == pytest.approx(2 / 4096)
    assert bad.difference == pytest.approx(-0.3)
    assert bad.significant and bad.flagged
    noisy = rows[("mic", "noisy")]
    assert (noisy.b, noisy.c) == (2, 1)
    assert not noisy.significant and not noisy.flagged
    # a large threshold unflags the significant cohort
    rows2 = {(r.field, r.value): r for r in stats.compare_paths(recs, "float", "device", ["mic"], threshold=0.5)}
    assert rows2[("mic", "bad")].significant and not rows2[("mic", "bad")].flagged


def test_confusion_matrix_and_combo_parsing():
    recs = [_rec(0, 0, {}, d=0), _rec(1, 0, {}, d=1), _rec(2, 1, {}, d=1), _rec(3, 1, {}, d=None)]
    assert stats.confusion_matrix(recs, "d", 2) == [[1, 1], [0, 1]]
    assert stats.parse_combos("mic+snr_db, accent+voice") == [["mic", "snr_db"], ["accent", "voice"]]
    assert stats.parse_combos(None) == []

"""Budget figures and failure messages."""

from __future__ import annotations

import pytest

from edgekit.budget import (HOW_EMULATED, HOW_LINK, Figures, average_power_mw, check, energy_per_inference_uj,
                            estimate_figures, latency_from_instructions)
from edgekit.errors import CheckFailed
from edgekit.targets import load_target


def test_latency_and_energy_from_instructions():
    t = load_target("cortex-m4")  # 64 MHz, cpi 1.2, 52 uA/MHz at 3.0 V, sleep 3.16 uA
    lat = latency_from_instructions(t, 1_000_000)
    assert lat == pytest.approx(1e6 * 1.2 / 64e6 * 1e3)            # 18.75 ms
    assert energy_per_inference_uj(t, lat) == pytest.approx(52 * 64 * 3.0 / 1000 * 18.75)
    p = average_power_mw(t, lat)                                    # 1 Hz: 1.875% duty
    assert p == pytest.approx(9.984 * 0.01875 + 3.16 * 3.0 / 1000 * (1 - 0.01875))


def test_all_within_budget_passes_with_how_labels():
    t = load_target("cortex-m4")
    f = estimate_figures(t, flash_bytes=100 * 1024, ram_bytes=50 * 1024, instructions=2_000_000)
    r = check(t, f)
    assert r.passed and len(r.rows) == 5
    hows = {row.name: row.how for row in r.rows}
    assert hows["flash"] == HOW_LINK and hows["latency (estimated)"] == HOW_EMULATED
    assert all("estimated" in row.name or row.how == HOW_LINK for row in r.rows)
    r.raise_if_failed()  # no exception


def test_failure_names_what_does_not_fit_and_by_how_much():
    t = load_target("cortex-m4-small")  # 384 KB flash, 80 KB RAM budgets
    f = Figures(flash_bytes=500 * 1024, ram_bytes=100 * 1024)
    r = check(t, f)
    assert not r.passed
    with pytest.raises(CheckFailed) as e:
        r.raise_if_failed()
    msg = str(e.value)
    assert "flash 500 KB > 384 KB (over by 116 KB" in msg
    assert "RAM 100 KB > 80 KB (over by 20 KB" in msg
    assert "cortex-m4-small" in msg and "\n" not in msg
    table = e.value.table
    assert [row["result"] for row in table] == ["FAIL", "FAIL"]
    assert table[0]["margin"].startswith("-116 KB")


def test_exactly_at_budget_passes_and_unknown_figures_are_skipped():
    t = load_target("cortex-m4")
    r = check(t, Figures(flash_bytes=int(t.budgets.flash_kb * 1024)))
    assert r.passed and [row.name for row in r.rows] == ["flash"]


def test_measured_cycles_label():
    t = load_target("cortex-m4")
    f = estimate_figures(t, cycles=64_000)
    assert f.latency_ms == pytest.approx(1.0)
    assert f.latency_label == "latency (measured)"

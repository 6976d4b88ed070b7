"""Ethos-U through Vela on small int8 models: real Vela runs (well under a second each)."""

from __future__ import annotations

import configparser
import csv
import json

import pytest

from edgekit.errors import CheckFailed, UserError
from edgekit.npu import check_budgets, vela
from edgekit.targets import load_target


@pytest.fixture(scope="module")
def u55():
    return load_target("cortex-m55-ethos-u55")


def test_all_ops_on_npu_and_figures_against_budgets(small_tflite, u55, tmp_path):
    r = vela.build_from_tflite(small_tflite, u55, tmp_path, "small")
    assert r.runtime == "vela"
    assert r.ops_total == len(vela.tflite_ops(small_tflite)) > 0
    assert r.all_on_npu and r.cpu_ops == []
    assert r.artefacts["vela_tflite"].is_file()
    # Every budget figure is there, positive, checked by edgekit.budget against the profile.
    assert set(r.figures) == {"flash_kb", "ram_kb", "latency_ms", "energy_uj", "average_power_mw"}
    rows = r.budget_rows
    assert [b.budget for b in rows] == [u55.budgets.flash_kb, u55.budgets.ram_kb, u55.budgets.latency_p99_ms,
                                        u55.budgets.energy_per_inference_uj, u55.budgets.average_power_mw]
    assert [b.value for b in rows] == pytest.approx([r.figures[k] for k in
                                                     ("flash_kb", "ram_kb", "latency_ms", "energy_uj", "average_power_mw")])
    for b in rows:
        assert b.value > 0 and b.passed == (b.value <= b.budget)
        assert b.how.startswith(("measured", "estimated"))
    f = r.figures
    assert f["flash_kb"] == pytest.approx(r.artefacts["vela_tflite"].stat().st_size / 1024)
    # Vela's own CSV: the SRAM figure and the cycle count are what we report.
    with open(r.artefacts["vela_summary_csv"]) as fh:
        row = next(csv.DictReader(fh))
    assert f["ram_kb"] == pytest.approx(float(row["sram_memory_used"]), abs=1e-3)
    # Vela ran at the profile's NPU clock (our generated vela.ini), not its config's default.
    assert float(row["core_clock"]) == pytest.approx(u55.npu.clock_mhz * 1e6)
    assert f["latency_ms"] == pytest.approx(float(row["cycles_total"]) / u55.npu.clock_mhz / 1e3, rel=1e-3)
    assert f["energy_uj"] == pytest.approx(u55.active_power_mw() * f["latency_ms"])
    assert "estimated by Vela" in rows[2].name
    check_budgets(r)  # a small model passes


def test_report_section_says_accuracy_comes_from_int8_reference(small_tflite, u55, tmp_path):
    r = vela.build_from_tflite(small_tflite, u55, tmp_path, "small")
    section = json.loads((tmp_path / "report.json").read_text())["npu"]
    assert section["runtime"] == "vela" and section["all_on_npu"] is True
    assert "int8 reference" in section["accuracy_source"]
    assert section["details"]["vela_summary"]["cycles_total"] > 0
    assert section["figures_how"]["latency_ms"].startswith("estimated by Vela")
    assert r.report_path == tmp_path / "report.json"


def test_cpu_fallback_ops_are_named(fallback_tflite, u55, tmp_path):
    r = vela.build_from_tflite(fallback_tflite, u55, tmp_path, "fb")
    assert not r.all_on_npu
    assert [o.op_type for o in r.cpu_ops] == ["LOG_SOFTMAX"]
    assert "Unsupported" in r.cpu_ops[0].reason
    assert r.ops_on_npu == r.ops_total - 1
    assert "NPU part only" in r.figures_how["latency_ms"]
    assert any("LOG_SOFTMAX" in n for n in r.notes)


def test_u65_dedicated_sram_gets_the_ram_budget_as_cache(small_tflite, tmp_path):
    u65 = load_target("cortex-m55-ethos-u65")
    r = vela.build_from_tflite(small_tflite, u65, tmp_path, "small")
    ini = configparser.ConfigParser()
    ini.read(r.artefacts["vela_ini"])
    assert ini[f"Memory_Mode.{u65.npu.vela_memory_mode}"]["arena_cache_size"] == str(int(u65.budgets.ram_kb * 1024))
    assert r.details["accelerator"] == "ethos-u65-256"
    assert any("Dedicated_Sram" in n for n in r.notes)


def test_over_budget_fails_the_gate(small_tflite, u55, tmp_path):
    tiny = u55.model_copy(update={"budgets": u55.budgets.model_copy(update={"ram_kb": 0.5})})
    r = vela.build_from_tflite(small_tflite, tiny, tmp_path, "small")
    assert not r.budgets_passed
    with pytest.raises(CheckFailed) as exc:
        check_budgets(r)
    assert "RAM" in str(exc.value)
    assert [t["budget"] for t in exc.value.table if t["result"] == "FAIL"] == ["RAM"]


def test_unknown_system_config_is_a_user_error(small_tflite, u55, tmp_path):
    bad = u55.model_copy(update={"npu": u55.npu.model_copy(update={"vela_system_config": "Ethos_U55_Nope"})})
    with pytest.raises(UserError) as exc:
        vela.build_from_tflite(small_tflite, bad, tmp_path, "small")
    msg = str(exc.value)
    assert "npu.vela_system_config" in msg and "Ethos_U55_High_End_Embedded" in msg


def test_missing_model_and_wrong_target_are_user_errors(u55, tmp_path):
    with pytest.raises(UserError, match="int8 model not found"):
        vela.run_vela(tmp_path / "nope.tflite", u55, tmp_path)
    with pytest.raises(UserError, match="Vela compiles for an Ethos-U NPU"):
        vela.run_vela(tmp_path / "nope.tflite", load_target("snapdragon-htp"), tmp_path)


def test_profile_vela_names_exist_in_velas_own_ini():
    """The lead's profiles must name system configs and memory modes Vela 5.2 really has."""
    ini = configparser.ConfigParser()
    ini.read(vela.vela_ini_path())
    for name in ("cortex-m55-ethos-u55", "cortex-m55-ethos-u65"):
        npu = load_target(name).npu
        assert ini.has_section(f"System_Config.{npu.vela_system_config}")
        assert ini.has_section(f"Memory_Mode.{npu.vela_memory_mode}")

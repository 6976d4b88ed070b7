"""`edgekit build` on an edgekit-micro target, with a small committed int8 model of the KWS
shape (tests/build/make_tiny_model.py), so it runs in seconds without training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from edgekit.build import build
from edgekit.errors import CheckFailed
from edgekit.models import load_model
from edgekit.targets import load_target

TINY = Path(__file__).parent / "data" / "tiny_kws_int8.tflite"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    res = build(load_model("kws"), load_target("cortex-m4"), firmware_variant="none", tflite_path=TINY, out_dir=out)
    return res, out


def test_build_writes_firmware_and_report_within_budget(built):
    res, out = built
    assert res.elf.is_file() and res.elf.name == "firmware.elf"
    report = json.loads((out / "report.json").read_text())
    b = report["build"]
    assert b["flash"]["how"] == "measured from link" and b["flash"]["bytes"] == res.flash_bytes > 0
    assert b["ram"]["bytes"] == sum(b["sections_bytes"][k] for k in ("data", "bss", "arena", "stack"))
    ipi = b["instructions_per_inference"]
    assert ipi["unit"] == "instructions (emulated)" and ipi["value"] > 10_000
    assert b["latency_ms_estimated"] > 0 and b["energy_per_inference_uj_estimated"] > 0
    assert b["arena"]["linked_bytes"] >= b["arena"]["planned_bytes"] > 0
    assert b["device_matches_tflm"] is True
    assert report["budget"]["passed"] is True
    assert {r["name"] for r in report["budget"]["rows"]} >= {"flash", "RAM", "latency (estimated)"}


def test_per_op_profile_accounts_for_the_model(built):
    res, out = built
    prof = json.loads((out / "report.json").read_text())["build"]["per_op"]
    ops = prof["ops"]
    assert len(ops) == len(res.per_op["ops"]) > 3 and [o["index"] for o in ops] == sorted(o["index"] for o in ops)
    assert all(o["count"] > 0 for o in ops)
    # the ops sum to the model's count of the same inference, less the hooks' own calls
    assert prof["model_count"] - 150 * (len(ops) + 1) < prof["sum"] < prof["model_count"] <= res.instructions_per_inference
    assert sum(o["share"] for o in ops) == pytest.approx(1.0, abs=1e-4)
    convs = [o for o in ops if o["op"] == "CONV_2D"]
    assert convs and all(o["per_mac"] == pytest.approx(o["count"] / o["macs"], rel=1e-3) for o in convs)
    by_type = prof["by_type"]
    assert sum(t["ops"] for t in by_type.values()) == len(ops)
    assert list(by_type) == sorted(by_type, key=lambda t: -by_type[t]["count"])


def test_latency_estimate_follows_the_cycle_estimate(built):
    res, out = built
    t = load_target("cortex-m4")
    cyc = json.loads((out / "report.json").read_text())["build"]["cycles_per_inference"]
    assert cyc["unit"] == "cycles (estimated from the executed instruction mix)" and cyc["core"] == "cortex-m4"
    # The traced inference is the same code: its instruction count is the emulator's, within
    # the timer reads, and the M4 spends more than a cycle per instruction.
    assert abs(cyc["instructions_traced"] - res.instructions_per_inference) < 0.01 * res.instructions_per_inference
    assert res.cycles_per_inference_estimated > res.instructions_per_inference
    assert res.latency_ms_estimated == pytest.approx(res.cycles_per_inference_estimated / (t.core.clock_mhz * 1e3))


def test_over_budget_fails_cleanly_after_writing_the_report(tmp_path):
    profile = tmp_path / "tiny-budget.yaml"
    profile.write_text(
        "extends: cortex-m4\n"
        "description: a part with almost no room\n"
        "budgets: {flash_kb: 8, ram_kb: 8, latency_p99_ms: 0.5, energy_per_inference_uj: 4500,"
        " average_power_mw: 5, inference_rate_hz: 1}\n")
    shutil.copy(Path(__file__).resolve().parents[2] / "targets" / "cortex-m4.yaml", tmp_path / "cortex-m4.yaml")
    target = load_target(str(profile))
    with pytest.raises(CheckFailed) as e:
        build(load_model("kws"), target, firmware_variant="none", tflite_path=TINY, out_dir=tmp_path / "out")
    msg = str(e.value)
    assert "flash" in msg and "RAM" in msg and "latency" in msg and "over by" in msg
    assert {r["result"] for r in e.value.table} == {"pass", "FAIL"}
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["budget"]["passed"] is False
    assert (tmp_path / "out" / "firmware.elf").is_file()
    # A caller that gates later (an evaluation) gets the result and the failed rows instead.
    res = build(load_model("kws"), target, firmware_variant="none", tflite_path=TINY, out_dir=tmp_path / "out",
                check_budgets=False)
    assert res.budget.passed is False and {r.name for r in res.budget.failed_rows} >= {"flash", "RAM"}


def test_cli_build_json_and_exit_codes(run_cli, tmp_path):
    stage = tmp_path / "build" / "cortex-m4" / "kws"
    stage.mkdir(parents=True)
    shutil.copy(TINY, stage / "model_int8.tflite")  # reused: newer than (absent) weights
    proc = run_cli("build", "--target", "cortex-m4", "--model", "kws", "--firmware-variant", "none", "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["instructions_per_inference"] > 0 and d["budget"]["passed"] is True
    assert (stage / "firmware.elf").is_file()
    bad = run_cli("build", "--target", "cortex-m4", "--model", "kws", "--kernels", "mve")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "--kernels mve: target cortex-m4 has no MVE extension; use --kernels dsp" in bad.stderr


def test_default_build_links_the_on_device_frontend(tmp_path):
    import numpy as np

    from edgekit import frontends
    from edgekit.devices import open_device

    spec, target = load_model("kws"), load_target("cortex-m4")
    res = build(spec, target, tflite_path=TINY, out_dir=tmp_path)
    assert res.firmware_variant == "default"
    pcm = np.random.default_rng(0).normal(0, 2000, spec.preprocessing.clip_samples).astype(np.int16)
    with open_device("qemu", target, res.elf) as dev:
        assert dev.info().preprocessing == "default"
        raw = frontends.raw_bytes(spec.preprocessing, pcm)
        r = dev.infer_batch([raw], "raw")[0]
        # BATCH flag 1: the same inference also returns the model input its frontend made,
        # copied outside the timed regions (the counts do not move), and that input run as
        # features gives the same output (what lets eval skip the features pass).
        both = dev.infer_batch([raw, raw], "raw", send_model_input=True)
        assert r.model_input is None and all(len(b.model_input) == dev.info().input_bytes for b in both)
        assert [(b.output, b.model_count, b.frontend_count) for b in both] == [(r.output, r.model_count, r.frontend_count)] * 2
        assert dev.infer(both[0].model_input, "features").output == r.output
    # Frontend and model are counted apart.
    assert r.frontend_count > 0 and r.model_count > 0
    assert len(r.output) == len(spec.labels)


def test_unknown_kernel_variant_is_a_user_error(run_cli):
    proc = run_cli("build", "--target", "cortex-m4", "--model", "kws", "--kernels", "turbo")
    assert proc.returncode == 2 and "--kernels turbo: use 'reference', 'dsp' or 'mve'" in proc.stderr

"""The user C frontend in the skew and eval paths: cohort manifests that name frontend
sources instead of a variant (one firmware per distinct frontend), the `user_c` entry point,
the CLI's bad-input lines (exit 2), and on QEMU: the planted example flagged in the cohort
that carries it, a faulting or hanging frontend that loses no records."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgekit.data import SampleRecord
from edgekit.errors import UserError
from edgekit.harness import fleet
from edgekit.models import load_model

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "byo-preprocessing"


def recs(mics=("flat", "telephone", "mems")):
    return [SampleRecord(f"x{i:03d}", Path(f"/nonexistent/{i}.wav"), i % 12, "test", {"mic": m, "snr_db": 10})
            for i, m in enumerate(mics * 3)]


@pytest.fixture(scope="module")
def kws():
    return load_model("kws")


def test_manifest_names_frontend_sources_per_cohort(kws):
    m = fleet.load_cohort_firmware(kws, str(EXAMPLES / "kws-fleet.yaml"), records=recs())
    assert m.others == "user-audio_fe"
    (entry,) = m.entries
    assert (entry.field, entry.value, entry.variant) == ("mic", "telephone", "user-audio_fe-AFE_PREEMPHASIS=1")
    assert set(m.frontends) == {"user-audio_fe", "user-audio_fe-AFE_PREEMPHASIS=1"}
    planted = m.frontends[entry.variant]
    assert planted.defines == (("AFE_PREEMPHASIS", "1"),)
    assert planted.sources == ((EXAMPLES / "audio_fe" / "audio_fe.c").resolve(),)
    assert m.variant_for({"mic": "telephone"}) == entry.variant and m.variant_for({"mic": "flat"}) == m.others
    # The same sources twice are one firmware; a generated variant and a frontend mix.
    same = {"frontend": [str(EXAMPLES / "audio_fe" / "audio_fe.c")], "include": [str(EXAMPLES / "audio_fe" / "include")]}
    m2 = fleet.load_cohort_firmware(kws, {"telephone": same, "mems": same, "flat": "fixed-q15"}, records=recs(),
                                    others=None)
    assert m2.variants == ["default", "user-audio_fe", "fixed-q15"] and len(m2.frontends) == 1


def test_manifest_relative_paths_and_bad_entries(kws, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=r"^--cohort-firmware: telephone: fw/x.c: file not found$"):
        fleet.load_cohort_firmware(kws, {"telephone": {"frontend": ["fw/x.c"]}}, records=recs())
    with pytest.raises(UserError, match=r"unknown key\(s\) sources; a user frontend takes frontend:"):
        fleet.load_cohort_firmware(kws, {"telephone": {"sources": ["a.c"]}}, records=recs())
    # Inline: a value ending in .c is a frontend source, relative to the current folder.
    (tmp_path / "fe.c").write_text("/* */\n")
    m = fleet.load_cohort_firmware(kws, "telephone:fe.c", records=recs())
    assert m.entries[0].variant == "user-fe" and m.frontends["user-fe"].sources == ((tmp_path / "fe.c"),)


def test_user_c_entry_point_is_registered_and_fails_per_sample(kws, tmp_path):
    from edgekit.frontends import InputQuant
    from edgekit.frontends.user_c import UserCFrontend
    from edgekit.skew.entrypoints import EntryPointContext, RawSample, available, entry_point

    assert "user_c" in available()
    src = tmp_path / "fe.c"
    src.write_text(textwrap.dedent("""\
        #include "ek_user_frontend.h"
        const char *ek_user_frontend_name(void) { return "t 1"; }
        int ek_user_audio_to_int8(const ek_user_audio_t *in, const ek_user_tensor_t *t, int8_t *out) {
            if (in->samples[0] == 1) *(volatile int *)0 = 1;
            for (uint32_t i = 0; i < t->elements; i++) out[i] = 3;
            return 0;
        }
    """))
    ep = entry_point("user_c", EntryPointContext(kws, InputQuant(0.25, 0)), UserCFrontend.from_options(str(src)))
    assert ep.on_device and ep.version.startswith("t 1 (user-fe")
    ok = ep.tensor(RawSample("a", np.zeros(16000, np.int16), {}, 0))
    assert ok.tensor.dtype == np.int8 and (ok.tensor == 3).all()
    bad = ep.tensor(RawSample("b", np.ones(16000, np.int16), {}, 0))
    assert bad.tensor is None and bad.failure.startswith("fault: ") and "SIGSEGV" in bad.failure
    assert (ep.tensor(RawSample("c", np.zeros(16000, np.int16), {}, 0)).tensor == 3).all()
    assert ep.describe()["failures"] == {"fault": 1}
    ep.close()


@pytest.mark.parametrize("cmd", ["eval", "skew"])
def test_cli_bad_frontend_is_one_line_exit_2(run_cli, tmp_path, cmd):
    bad = tmp_path / "bad.c"
    bad.write_text('#include "ek_user_frontend.h"\nconst char *ek_user_frontend_name(void) { return "x" }\n')
    proc = run_cli(cmd, "-t", "cortex-m4", "-m", "kws", "--frontend", str(bad))
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line and line.startswith("edgekit: error: bad.c:2: expected ")
    noname = tmp_path / "noname.c"
    noname.write_text('#include "ek_user_frontend.h"\nint ek_user_audio_to_float(const ek_user_audio_t *i, '
                      'const ek_user_tensor_t *t, float *o) { return 0; }\n')
    proc = run_cli(cmd, "-t", "cortex-m4", "-m", "kws", "--frontend", str(noname))
    assert proc.returncode == 2 and "\n" not in proc.stderr.strip()
    assert "no ek_user_frontend_name() defined" in proc.stderr and "ek_user_frontend.h requires it" in proc.stderr
    proc = run_cli(cmd, "-t", "cortex-m4", "-m", "kws", "--frontend-define", "X=1")
    assert proc.returncode == 2 and "give the sources they are for with --frontend" in proc.stderr
    proc = run_cli(cmd, "-t", "cortex-m4", "-m", "kws", "--frontend", str(bad), "--firmware-variant", "fixed-q15")
    assert proc.returncode == 2 and "--frontend and --firmware-variant fixed-q15: give one" in proc.stderr


@pytest.mark.slow
def test_faulty_frontend_on_qemu_and_a_serial_board_loses_no_records(tmp_path, monkeypatch, seed_stage):
    """A user frontend that faults on one clip, hangs on one and overruns its tensor on one
    (tests/skew/data/faulty_fe.c, chosen by the first five test clips): eval on QEMU records
    all five samples, the three as device failures with their reasons, counted per firmware;
    a rerun resumes them all; the same firmware over a serial port (QEMU's UART on a pty,
    as a flashed board) gives the QEMU outputs, the frontend counted apart from the model."""
    import re
    import signal
    import subprocess
    import time

    from edgekit import data
    from edgekit.devices import open_device
    from edgekit.devices.kinds.qemu import qemu_base_args
    from edgekit.firmware import ICOUNT_SHIFT
    from edgekit.frontends import raw_bytes
    from edgekit.frontends.user_c import UserCFrontend
    from edgekit.harness.evaluate import evaluate
    from edgekit.reportstore import read_report
    from edgekit.targets import load_target

    monkeypatch.setenv("EDGEKIT_BUILD", str(tmp_path / "build"))
    seed_stage(tmp_path / "build", "kws", "cortex-m4")   # the session's one conversion (tests/conftest.py)
    spec, target = load_model("kws"), load_target("cortex-m4")
    data.prepare(spec)
    fe = UserCFrontend.from_options(str(ROOT / "tests" / "skew" / "data" / "faulty_fe.c"),
                                    include=[str(EXAMPLES / "audio_fe" / "include")],
                                    device_time_limit=10_000_000, host_time_limit_s=2.0)
    fleet_map = fleet.load_cohort_firmware(spec, None, others=fe)
    res = evaluate(spec, target, limit=5, jobs=1, cohort_firmware=fleet_map, enforce_gates=False)
    assert res.samples == 5 and res.new == 5
    ev = read_report(res.directory)["eval"]
    build = ev["cohort_firmware"]["builds"][fe.label]
    assert build["device_frontend_failures"] == {"fault": 1, "overrun": 1, "timeout": 1}
    assert build["device_preprocessing"] == "user:acme-kws-fe 2.3"
    assert 0 < build["frontend"]["flash_bytes"] < build["flash_bytes"]
    assert build["instructions"]["n"] == 2 and build["instructions"]["frontend_p50"] > 1_000_000
    records = [json.loads(line) for line in (res.directory / "skew" / f"records-{fe.label}" /
                                              "records.jsonl").read_text().splitlines()]
    e2e = {r["id"]: r["paths"]["device_e2e"] for r in records}
    assert len(e2e) == 5 and sum(p["status"] == "ok" for p in e2e.values()) == 2
    assert all(p["status"] == "ok" for r in records for k, p in r["paths"].items() if k != "device_e2e")
    details = " ".join(p.get("detail", "") for p in e2e.values())
    assert "frontend time limit" in details and "overrun: wrote past the end" in details
    assert evaluate(spec, target, limit=5, jobs=1, cohort_firmware=fleet_map, enforce_gates=False).resumed == 5

    # The same firmware on a "board": QEMU's UART on a pseudo-terminal, reached through pyserial.
    elf = res.directory / "skew" / f"fw-{fe.label}" / "firmware.elf"
    proc = subprocess.Popen([*qemu_base_args(target, elf, ICOUNT_SHIFT), "-serial", "pty"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True)
    try:
        pts, deadline = None, time.monotonic() + 20
        while pts is None and time.monotonic() < deadline:
            m = re.search(r"(/dev/pts/\d+)", proc.stdout.readline())
            pts = m.group(1) if m else None
        assert pts, "QEMU did not report its pty"
        recs = {r.id: r for r in data.load_dataset(spec).split("test")[:5]}
        ok_id = next(i for i, p in e2e.items() if p["status"] == "ok")
        with open_device(f"serial:{pts}@115200", target, None) as dev:
            assert dev.info().preprocessing == "user:acme-kws-fe 2.3"
            out = dev.infer(raw_bytes(spec, data.load_raw(spec, recs[ok_id])), "raw")
        assert list(np.frombuffer(out.output, np.int8)) == e2e[ok_id]["q"]
        assert out.frontend_count > 1_000_000 and out.model_count > 1_000_000
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

"""`edgekit eval` input errors: one line, exit 2, before anything is built."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("args, message", [
    (["--limit", "0"], "--limit 0: must be a positive"),
    (["--jobs", "0"], "--jobs 0: must be at least 1"),
    (["--cohorts", "mic+bogus"], "unknown cohort field 'bogus'"),
    (["--min-accuracy", "85"], "--min-accuracy 85.0: must be a fraction"),
    (["--device", "usb"], "unknown device"),
    (["--cohort-firmware", "telephone:turbo"], "--cohort-firmware: telephone: variant turbo unknown for model kws"),
    (["--cohort-firmware", "bogus:fixed-q15"], "--cohort-firmware: bogus: no cohort has this value"),
    (["--cohorts", "mic+firmware"], "unknown cohort field 'firmware'"),
])
def test_bad_input_is_a_one_line_user_error(run_cli, args, message):
    proc = run_cli("eval", "--target", "cortex-m4", "--model", "kws", *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ethos_u_eval_points_to_the_int8_reference(run_cli):
    proc = run_cli("eval", "--target", "cortex-m55-ethos-u55", "--model", "kws")
    assert proc.returncode == 2 and "int8 semantics" in proc.stderr and "edgekit convert" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cohort_firmware_needs_a_target_with_an_on_device_frontend(run_cli):
    proc = run_cli("eval", "--target", "snapdragon-htp", "--model", "mobilenetv2",
                   "--cohort-firmware", "sensor-a:no-crop")
    assert proc.returncode == 2 and "no on-device frontend" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_json_stdout_is_kept_clean_of_library_prints(capfd):
    import os

    from edgekit.cli._common import stdout_to_stderr

    with stdout_to_stderr(True):
        os.write(1, b"TensorSpec noise\n")  # what a library writing to fd 1 does
    os.write(1, b"{}\n")
    out, err = capfd.readouterr()
    assert out == "{}\n" and "TensorSpec noise" in err

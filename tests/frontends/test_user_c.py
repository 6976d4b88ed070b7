"""A user's own C frontend (ek_user_frontend.h), host side: the examples match the reference
within one int8 step, their planted switches do not; bad sources are one-line UserErrors
naming file:line or the missing function; a frontend that crashes, overruns its tensor or
hangs fails that sample with its reason and the next sample runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgekit.errors import UserError
from edgekit.frontends import raw_bytes, reference_int8
from edgekit.frontends.user_c import UserCFrontend, build_host_frontend
from edgekit.frontends.user_c.compile import first_error

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "byo-preprocessing"
AUDIO = dict(frontend=str(EXAMPLES / "audio_fe" / "audio_fe.c"), include=[str(EXAMPLES / "audio_fe" / "include")])
CAMERA = dict(frontend=str(EXAMPLES / "camera_fe" / "camera_fe.c"))


def _steps(host, spec, raws, quant) -> np.ndarray:
    return np.concatenate([np.abs(reference_int8(spec.preprocessing, r, quant).astype(int) - host.run(r).astype(int))
                           .ravel() for r in raws])


def test_audio_example_matches_the_reference_and_its_planted_switch_does_not(kws, clips, kws_quant, tmp_path):
    with build_host_frontend(UserCFrontend.from_options(**AUDIO), kws, kws_quant, cache=tmp_path) as host:
        assert host.name == "user:acme-kws-fe 2.3"
        d = _steps(host, kws, clips, kws_quant)
    assert d.max() <= 1 and (d > 0).mean() < 0.01
    planted = UserCFrontend.from_options(**AUDIO, define=["AFE_PREEMPHASIS=1"])
    with build_host_frontend(planted, kws, kws_quant, cache=tmp_path) as host:
        assert "pre-emphasis" in host.name
        assert (_steps(host, kws, clips, kws_quant) > 1).mean() > 0.3


def test_camera_example_matches_the_reference_and_its_planted_switch_does_not(mobilenet, images, image_quant,
                                                                              tmp_path):
    with build_host_frontend(UserCFrontend.from_options(**CAMERA), mobilenet, image_quant, cache=tmp_path) as host:
        d = _steps(host, mobilenet, images, image_quant)
    assert d.max() <= 1, "fixed-point resize: within one int8 step of the float reference"
    planted = UserCFrontend.from_options(**CAMERA, define=["CAM_SWAP_RB=1"])
    with build_host_frontend(planted, mobilenet, image_quant, cache=tmp_path) as host:
        assert _steps(host, mobilenet, images, image_quant).max() > 20


def test_camera_example_reads_bgr_and_gray_frames(mobilenet, images, image_quant, tmp_path):
    """The header's pixel formats: a BGR888 frame (format code 1 in the raw header) gives the
    same tensor as its RGB original; a GRAY8 frame is replicated to three channels."""
    with build_host_frontend(UserCFrontend.from_options(**CAMERA), mobilenet, image_quant, cache=tmp_path) as host:
        rgb = images[0]
        data = bytearray(raw_bytes(mobilenet, rgb[:, :, ::-1].copy()))
        data[6] = 1  # pixel format BGR888
        assert np.array_equal(host.run_bytes(bytes(data)), host.run(rgb))
        gray = host.run(rgb[:, :, 1].copy())
        assert np.array_equal(gray[..., 0], gray[..., 2])


def _write(tmp_path: Path, body: str, name: str = "fe.c") -> Path:
    p = tmp_path / name
    p.write_text('#include "ek_user_frontend.h"\n' + textwrap.dedent(body))
    return p


AUDIO_OK = """
const char *ek_user_frontend_name(void) { return "test-fe 0.1"; }
int ek_user_audio_to_int8(const ek_user_audio_t *in, const ek_user_tensor_t *t, int8_t *out) {
    BODY
    for (uint32_t i = 0; i < t->elements; i++) out[i] = (int8_t)(in->samples[i] >> 8);
    return 0;
}
"""


def _frontend(tmp_path, body: str = "", **kw) -> UserCFrontend:
    return UserCFrontend.from_options(str(_write(tmp_path, AUDIO_OK.replace("BODY", body))), **kw)


def test_compile_error_names_file_and_line(kws, kws_quant, tmp_path):
    src = _write(tmp_path, """
        const char *ek_user_frontend_name(void) { return "x"; }
        int ek_user_audio_to_int8(const ek_user_audio_t *in, const ek_user_tensor_t *t, int8_t *out) {
            return undeclared_thing;
        }
    """)
    with pytest.raises(UserError) as exc:
        build_host_frontend(UserCFrontend.from_options(str(src)), kws, kws_quant, cache=tmp_path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"{src}:5: ") and "undeclared_thing" in msg, msg


def test_missing_functions_are_named(kws, mobilenet, kws_quant, image_quant, tmp_path):
    no_name = _write(tmp_path, "int ek_user_audio_to_float(const ek_user_audio_t *i, const ek_user_tensor_t *t, "
                               "float *o) { return 0; }\n", "a.c")
    with pytest.raises(UserError, match=r"no ek_user_frontend_name\(\) defined; .*ek_user_frontend.h requires it"):
        build_host_frontend(UserCFrontend.from_options(str(no_name)), kws, kws_quant, cache=tmp_path)
    no_run = _write(tmp_path, 'const char *ek_user_frontend_name(void) { return "x"; }\n', "b.c")
    with pytest.raises(UserError, match=r"no ek_user_audio_to_int8\(\) or ek_user_audio_to_float\(\) defined"):
        build_host_frontend(UserCFrontend.from_options(str(no_run)), kws, kws_quant, cache=tmp_path)
    # An audio frontend for an image model: named as the wrong kind.
    with pytest.raises(UserError, match=r"no ek_user_image_to_int8\(\) or ek_user_image_to_float\(\).*other kind"):
        build_host_frontend(_frontend(tmp_path), mobilenet, image_quant, cache=tmp_path)
    calls_missing = _write(tmp_path, AUDIO_OK.replace("BODY", "extern int acme_dsp_init(void); acme_dsp_init();"),
                           "c.c")
    with pytest.raises(UserError, match=r"undefined reference to acme_dsp_init"):
        build_host_frontend(UserCFrontend.from_options(str(calls_missing)), kws, kws_quant, cache=tmp_path)


def test_bad_options_are_user_errors(tmp_path):
    with pytest.raises(UserError, match=r"--frontend: nope.c: file not found"):
        UserCFrontend.from_options("nope.c", base=tmp_path)
    (tmp_path / "fe.h").write_text("")
    with pytest.raises(UserError, match=r"not a C source"):
        UserCFrontend.from_options("fe.h", base=tmp_path)
    _write(tmp_path, AUDIO_OK)
    with pytest.raises(UserError, match=r"--frontend-define 1X=2: expected NAME=VALUE"):
        UserCFrontend.from_options("fe.c", define=["1X=2"], base=tmp_path)
    with pytest.raises(UserError, match=r"--frontend-include nodir: not a folder"):
        UserCFrontend.from_options("fe.c", include=["nodir"], base=tmp_path)


def test_defines_reach_the_users_code(kws, kws_quant, tmp_path):
    fe = _frontend(tmp_path, "if (SHIFT_FAIL) return 7;", define=["SHIFT_FAIL=1"])
    from edgekit.frontends.user_c import FrontendSampleError

    with build_host_frontend(fe, kws, kws_quant, cache=tmp_path) as host:
        with pytest.raises(FrontendSampleError) as exc:
            host.run(np.zeros(16000, np.int16))
    assert exc.value.reason == "returned" and "returned 7" in exc.value.detail


def test_crash_overrun_and_hang_fail_only_their_sample(kws, kws_quant, tmp_path):
    """Sample value 1 segfaults, 2 writes past the tensor, 3 loops forever, 4 writes before
    it; every other sample is converted, before and after each failure."""
    from edgekit.frontends.user_c import FrontendSampleError

    fe = _frontend(tmp_path, """
        if (in->samples[0] == 1) *(volatile int *)0 = 1;
        if (in->samples[0] == 2) out[t->elements + 3] = 5;
        if (in->samples[0] == 3) for (;;) {}
        if (in->samples[0] == 4) out[-1] = 5;
    """, host_time_limit_s=1.0)
    with build_host_frontend(fe, kws, kws_quant, cache=tmp_path) as host:
        outcomes = []
        for first in (0, 1, 0, 2, 0, 3, 0, 4, 0):
            clip = np.full(16000, 256 * 9, np.int16)
            clip[0] = first
            try:
                out = host.run(clip)
                outcomes.append(("ok", int(out.ravel()[5])))
            except FrontendSampleError as exc:
                outcomes.append((exc.reason, exc.detail))
    assert [o[0] for o in outcomes] == ["ok", "fault", "ok", "overrun", "ok", "timeout", "ok", "overrun", "ok"]
    assert all(o[1] == 9 for o in outcomes if o[0] == "ok")
    assert "SIGSEGV" in outcomes[1][1]
    assert "past the end" in outcomes[3][1] and "before the start" in outcomes[7][1]
    assert "1 s" in outcomes[5][1]
    assert host.failures == {"fault": 1, "overrun": 2, "timeout": 1}


def test_float_output_is_quantized_and_nan_fails(kws, tmp_path):
    from edgekit.frontends import InputQuant
    from edgekit.frontends.user_c import FrontendSampleError

    src = _write(tmp_path, """
        const char *ek_user_frontend_name(void) { return "f"; }
        int ek_user_audio_to_float(const ek_user_audio_t *in, const ek_user_tensor_t *t, float *out) {
            for (uint32_t i = 0; i < t->elements; i++) out[i] = 0.25f * (float)i - 20.0f;
            if (in->samples[0] == 1) out[7] = 0.0f / 0.0f;
            return 0;
        }
    """)
    q = InputQuant(0.5, 3)
    with build_host_frontend(UserCFrontend.from_options(str(src)), kws, q, cache=tmp_path) as host:
        got = host.run(np.zeros(16000, np.int16)).ravel()
        with pytest.raises(FrontendSampleError, match="NaN in the float output at element 7"):
            host.run(np.ones(16000, np.int16))
    x = 0.25 * np.arange(got.size) - 20.0
    want = np.clip(np.sign(x / 0.5) * np.floor(np.abs(x / 0.5) + 0.5) + 3, -128, 127)
    assert np.array_equal(got, want.astype(np.int8))


def test_first_error_formats():
    log = ("In file included from /tmp/x/ekuser0_fe.c:2:\n"
           "/home/u/fw/fe.c:12:9: error: expected ';' before 'return'\n   12 | x\n")
    assert first_error(log) == "/home/u/fw/fe.c:12: expected ';' before 'return'"
    ld = "/usr/bin/ld: /tmp/a/ekuser0_fe.o: in function `f':\nfe.c:(.text+0x1c): undefined reference to `dsp_fft'\n"
    assert first_error(ld) == "fe.c: undefined reference to dsp_fft: define it in one of the --frontend sources"


def test_frontend_memory_and_failure_reasons_from_device_records():
    from edgekit.frontends.user_c import classify_device_failure, frontend_memory
    from edgekit.frontends.user_c.report import build_lines

    by_object = {"007_ek_user_adapter.o": {"text": 900, "rodata": 40, "bss": 33000},
                 "008_ekuser0_audio_fe.o": {"text": 2500, "data": 8, "bss": 20000},
                 "003_ek_kernels.o": {"text": 30000, "rodata": 9000}}
    mem = frontend_memory(by_object, [Path("x/ek_user_adapter.c"), Path("y/ekuser0_audio_fe.c")])
    assert (mem["flash_bytes"], mem["ram_bytes"]) == (900 + 40 + 2500 + 8, 33000 + 8 + 20000)
    crash = {"status": "error", "reason": "crash", "detail": "device crash: ...; EK-FAULT exception=0x3 pc=..."}
    hang = {"status": "error", "reason": "crash", "detail": "EK-FAULT frontend time limit: the user frontend ran past"}
    over = {"status": "error", "reason": "protocol", "detail": "device error model failed: frontend failed: overrun: x"}
    init = {"status": "error", "reason": "protocol",
            "detail": "device error model failed: frontend failed: ek_user_frontend_init returned 3"}
    assert [classify_device_failure(p) for p in (crash, hang, over, init, {"status": "ok"})] == \
        ["fault", "timeout", "overrun", "init", None]
    lines = build_lines({"user-fe": {"flash_bytes": 62140, "ram_bytes": 93232, "device_preprocessing": "user:fe 1",
                                     "frontend": mem, "device_frontend_failures": {"fault": 1, "timeout": 2},
                                     "instructions": {"frontend_p50": 5.5e6, "model_p50": 9.5e6,
                                                      "frontend_share": 5.5 / 15, "unit": "instructions (emulated)"}}})
    assert lines[0].startswith("firmware user-fe (user:fe 1): frontend flash 3,448 B and RAM 53,008 B")
    assert "5,500,000 frontend + 9,500,000 model instructions (emulated) (median): the frontend is 36.7%" in lines[0]
    assert lines[1] == "  user frontend failures: 3 samples on the device (fault 1, timeout 2)"

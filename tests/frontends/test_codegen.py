"""The frontend's config header and tables are generated from the preprocessing spec."""

from __future__ import annotations

import re

import numpy as np
import pytest

from edgekit.errors import UserError
from edgekit.frontends import AudioVariant, ImageVariant, InputQuant, generate
from edgekit.frontends.codegen import default_sensor
from edgekit.preprocess import audio as ref_audio


def c_array(text: str, name: str) -> np.ndarray:
    m = re.search(rf"{name}\[\d+\] = \{{(.*?)\}};", text, re.S)
    assert m, f"{name} not in generated tables"
    return np.array([float(v.strip().rstrip("f")) for v in m.group(1).replace("\n", " ").split(",") if v.strip()])


def defines(text: str) -> dict[str, str]:
    return dict(re.findall(r"#define (EK_FE_\w+) (.+)", text))


def test_audio_header_carries_the_spec(kws, tmp_path):
    q = InputQuant(0.25, -10)
    src = generate(kws, AudioVariant(), q, tmp_path)
    d = defines((tmp_path / "ek_frontend_config.h").read_text())
    pre = kws.preprocessing
    assert int(d["EK_FE_FRAMES"]) == pre.frames == 49
    assert 1 << int(d["EK_FE_FFT_LOG2"]) == pre.fft_size
    assert int(d["EK_FE_MEL_BINS"]) == pre.mel_bins and int(d["EK_FE_DCT_COEFFS"]) == pre.dct_coefficients
    assert int(d["EK_FE_WINDOW_SAMPLES"]) == pre.window_samples and int(d["EK_FE_STRIDE_SAMPLES"]) == pre.stride_samples
    assert int(d["EK_FE_SPECTRUM_POWER"]) == (pre.spectrum == "power")
    assert float(d["EK_FE_LOG_OFFSET"].rstrip("f")) == pytest.approx(pre.log_offset, rel=1e-6)
    assert float(d["EK_FE_INPUT_SCALE"].rstrip("f")) == 0.25 and int(d["EK_FE_INPUT_ZERO_POINT"]) == -10
    assert d["EK_FE_VARIANT"] == '"default"'
    assert int(d["EK_FE_RAW_CAPACITY"]) == 2 * pre.clip_samples == src.raw_capacity
    assert src.sources[-1] == tmp_path / "ek_frontend_tables.c" and all(p.is_file() for p in src.sources)


def test_audio_tables_are_the_reference_constants(kws, tmp_path):
    generate(kws, AudioVariant(), InputQuant(0.5, 0), tmp_path)
    text = (tmp_path / "ek_frontend_tables.c").read_text()
    pre = kws.preprocessing
    np.testing.assert_array_equal(c_array(text, "ek_fe_window").astype(np.float32),
                                  ref_audio.window(pre).astype(np.float32))
    # The sparse mel filterbank expands back into the reference matrix.
    first, count, offset = (c_array(text, n).astype(int) for n in
                            ("ek_fe_mel_first_bin", "ek_fe_mel_n_bins", "ek_fe_mel_offset"))
    weights = c_array(text, "ek_fe_mel_weights")
    mel = np.zeros((pre.fft_size // 2 + 1, pre.mel_bins))
    for m in range(pre.mel_bins):
        mel[first[m]:first[m] + count[m], m] = weights[offset[m]:offset[m] + count[m]]
    np.testing.assert_allclose(mel, ref_audio.mel_matrix(pre), rtol=1e-7, atol=1e-8)
    dct = c_array(text, "ek_fe_dct").reshape(pre.dct_coefficients, pre.mel_bins)
    np.testing.assert_allclose(dct.T, ref_audio.dct_matrix(pre), rtol=1e-7, atol=1e-8)
    tw = c_array(text, "ek_fe_twiddle").reshape(-1, 2)
    k = np.arange(pre.fft_size // 2)
    np.testing.assert_allclose(tw[:, 0] - 1j * tw[:, 1], np.exp(2j * np.pi * k / pre.fft_size), atol=1e-7)


def test_another_spec_gives_other_tables(kws, tmp_path):
    other = kws.preprocessing.model_copy(update={"window": "hamming", "mel_bins": 32, "fft_size": 2048})
    generate(other, AudioVariant(), InputQuant(0.5, 0), tmp_path)
    d = defines((tmp_path / "ek_frontend_config.h").read_text())
    assert int(d["EK_FE_MEL_BINS"]) == 32 and int(d["EK_FE_FFT_LOG2"]) == 11
    win = c_array((tmp_path / "ek_frontend_tables.c").read_text(), "ek_fe_window")
    assert win[0] == pytest.approx(0.08)  # Hamming starts at 0.08, Hann at 0


def test_variant_and_quantization_change_the_hash(kws, tmp_path):
    base = generate(kws, AudioVariant(), InputQuant(0.5, 0), tmp_path / "a").spec_hash
    assert generate(kws, AudioVariant(), InputQuant(0.5, 0), tmp_path / "b").spec_hash == base
    assert generate(kws, AudioVariant(name="x", fft="q15"), InputQuant(0.5, 0), tmp_path / "c").spec_hash != base
    assert generate(kws, AudioVariant(), InputQuant(0.5, 1), tmp_path / "d").spec_hash != base


def test_image_header_and_channel_order(mobilenet, tmp_path):
    q = InputQuant(2 / 255, -1)
    src = generate(mobilenet, ImageVariant(), q, tmp_path / "rgb")
    d = defines((tmp_path / "rgb" / "ek_frontend_config.h").read_text())
    assert (int(d["EK_FE_IMAGE_HEIGHT"]), int(d["EK_FE_IMAGE_WIDTH"]), int(d["EK_FE_IMAGE_CHANNELS"])) == (96, 96, 3)
    assert int(d["EK_FE_SQUARE_CROP"]) == int(mobilenet.preprocessing.square_crop)
    assert int(d["EK_FE_RESIZE_NEAREST"]) == 0
    # The dataset's largest sensor frame is the default raw format.
    sensor = default_sensor(mobilenet)
    assert sensor is not None and src.sensor == sensor
    assert (int(d["EK_FE_IMAGE_SRC_H"]), int(d["EK_FE_IMAGE_SRC_W"])) == sensor
    assert src.raw_capacity == 8 + 3 * sensor[0] * sensor[1]
    order = c_array((tmp_path / "rgb" / "ek_frontend_tables.c").read_text(), "ek_fe_channel_source")
    assert list(order) == [0, 1, 2]
    generate(mobilenet, ImageVariant(name="bgr", swap_red_blue=True), q, tmp_path / "bgr")
    order = c_array((tmp_path / "bgr" / "ek_frontend_tables.c").read_text(), "ek_fe_channel_source")
    assert list(order) == [2, 1, 0]
    bgr_spec = mobilenet.preprocessing.model_copy(update={"color_order": "bgr"})
    generate(bgr_spec, ImageVariant(), q, tmp_path / "spec-bgr")
    order = c_array((tmp_path / "spec-bgr" / "ek_frontend_tables.c").read_text(), "ek_fe_channel_source")
    assert list(order) == [2, 1, 0]


@pytest.mark.parametrize("scale, zp", [(0.0, 0), (-1.0, 0), (float("nan"), 0), (0.1, 128), (0.1, -129)])
def test_bad_input_quantization_is_a_user_error(scale, zp):
    with pytest.raises(UserError, match="input quantization"):
        InputQuant(scale, zp)


def test_bad_spec_values_are_user_errors(kws, mobilenet, tmp_path):
    # The spec validators already refuse these in model.yaml; the generator refuses them too
    # when handed an unvalidated spec (model_construct), naming the field.
    bad_fft = kws.preprocessing.model_construct(**{**kws.preprocessing.model_dump(), "fft_size": 1000})
    with pytest.raises(UserError, match="fft_size"):
        generate(bad_fft, AudioVariant(), InputQuant(0.5, 0), tmp_path)
    tiny_std = mobilenet.preprocessing.model_copy(update={"std": [1e-6, 1.0, 1.0]})
    with pytest.raises(UserError, match="std"):
        generate(tiny_std, ImageVariant(), InputQuant(1e-3, 0), tmp_path)
    with pytest.raises(UserError, match="another kind"):
        generate(kws, ImageVariant(), InputQuant(0.5, 0), tmp_path)
    with pytest.raises(UserError, match="sensor"):
        generate(mobilenet, ImageVariant(), InputQuant(0.5, 0), tmp_path, sensor=(0, 10))
    assert not (tmp_path / "ek_frontend_config.h").exists()  # nothing half-written

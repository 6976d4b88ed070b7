"""The image preprocessing reference against an independent computation (tf.image)."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.preprocess import apply
from edgekit.preprocess.image import (ImageSpec, crop_box, dequantize, preprocess, quantize_input,
                                      resize)

tf = pytest.importorskip("tensorflow")

# (frame H, W) -> (out H, W): down- and up-scaling, integer and awkward ratios, the sensors' sizes.
SIZES = [((120, 160), (96, 96)), ((128, 128), (96, 96)), ((112, 144), (96, 96)),
         ((97, 101), (96, 96)), ((31, 17), (96, 64)), ((240, 320), (24, 40))]


def _frame(h, w, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
@pytest.mark.parametrize("src,dst", SIZES)
def test_resize_matches_tf_image_resize(src, dst, method):
    img = _frame(*src)
    ours = resize(img, *dst, method=method)
    ref = tf.image.resize(tf.constant(img, tf.float32), dst, method=method, antialias=False).numpy()
    assert ours.shape == ref.shape == (*dst, 3)
    assert ours.dtype == np.float32
    # float32 arithmetic in both; differences are rounding in the last bits only.
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-3)


@pytest.mark.parametrize("fraction", [1.0, 0.875, 0.7, 0.5, 0.33])
@pytest.mark.parametrize("h,w", [(120, 160), (112, 144), (101, 77)])
def test_crop_box_matches_tf_central_crop(h, w, fraction):
    img = _frame(h, w)
    spec = ImageSpec(crop_fraction=fraction)
    top, left, ch, cw = crop_box(spec, h, w)
    ref = tf.image.central_crop(tf.constant(img), fraction).numpy()
    np.testing.assert_array_equal(img[top:top + ch, left:left + cw], ref)


def test_square_crop_takes_the_central_square():
    spec = ImageSpec(square_crop=True)
    assert crop_box(spec, 120, 160) == (0, 20, 120, 120)
    assert crop_box(spec, 112, 144) == (0, 16, 112, 112)
    assert crop_box(spec, 161, 100) == (30, 0, 100, 100)


@pytest.mark.parametrize("order", ["rgb", "bgr"])
def test_whole_pipeline_matches_a_tf_pipeline(order):
    spec = ImageSpec(width=96, height=96, square_crop=True, crop_fraction=0.875, color_order=order,
                     mean=[120.0, 110.0, 100.0], std=[60.0, 65.0, 70.0])
    img = _frame(120, 160, seed=3)
    x = tf.image.crop_to_bounding_box(tf.constant(img), 0, 20, 120, 120)
    x = tf.image.central_crop(x, 0.875)
    x = tf.image.resize(tf.cast(x, tf.float32), (96, 96), method="bilinear", antialias=False)
    if order == "bgr":
        x = x[..., ::-1]
    ref = ((x - tf.constant([120.0, 110.0, 100.0])) / tf.constant([60.0, 65.0, 70.0])).numpy()
    ours = apply(spec, img)
    assert ours.shape == spec.output_shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-5)


def test_grey_output_uses_bt601_luma():
    spec = ImageSpec(channels=1, mean=[0.0], std=[1.0], width=32, height=24)
    img = _frame(48, 64, seed=5)
    ref = tf.image.resize(tf.image.rgb_to_grayscale(tf.constant(img, tf.float32)), (24, 32),
                          antialias=False).numpy()
    # tf weighs red 0.2989 where BT.601 says 0.299: at most 0.0001 * 255 apart.
    np.testing.assert_allclose(preprocess(spec, img), ref, rtol=0, atol=0.03)


def test_grey_frame_is_replicated_to_rgb():
    img = _frame(40, 40, c=1, seed=6)
    out = preprocess(ImageSpec(width=20, height=20), img[:, :, 0])
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_spec_rejects_mean_of_wrong_length():
    with pytest.raises(ValueError, match="mean needs 3"):
        ImageSpec(mean=[0.0], std=[1.0, 1.0, 1.0])


def test_quantize_rounds_half_away_from_zero_and_clamps():
    x = np.array([0.25, -0.25, 0.75, -0.75, 0.0, 100.0, -100.0], np.float32)
    q = quantize_input(x, scale=0.5, zero_point=-1)
    # 0.5 -> 1, -0.5 -> -1, 1.5 -> 2, -1.5 -> -2, then + zero point, clamped to int8.
    np.testing.assert_array_equal(q, np.array([0, -2, 1, -3, -1, 127, -128], np.int8))
    assert q.dtype == np.int8
    back = dequantize(q, 0.5, -1)
    np.testing.assert_allclose(back[:5], [0.5, -0.5, 1.0, -1.0, 0.0])


@pytest.mark.parametrize("level,expected", [(255, 127), (0, -128), (191, 64), (64, -64)])
def test_quantized_input_of_uniform_frames(level, expected):
    # mean/std 127.5 maps 0..255 to -1..1; scale 1/128, zero point 0: 255 -> 128 clamps to 127,
    # 0 -> -128, 191 -> 63.75 -> 64, 64 -> -63.75 -> -64.
    spec = ImageSpec()
    x = preprocess(spec, np.full((120, 160, 3), level, np.uint8))
    assert set(np.unique(quantize_input(x, 1 / 128, 0)).tolist()) == {expected}

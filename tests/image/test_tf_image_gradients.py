"""float64 gradient checks of the differentiable tf.image ops (central differences)."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

rng = np.random.default_rng(11)
IMG = rng.uniform(0.1, 0.9, (2, 5, 6, 3))
OTHER = np.clip(IMG + rng.normal(0, 0.1, IMG.shape), 0, 1)


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "area", "lanczos3", "gaussian", "mitchellcubic",
                                    "nearest"])
def test_resize_gradients(method):
    check_gradients(lambda x: tf.image.resize(x, (7, 4), method), [IMG])
    check_gradients(lambda x: tf.image.resize(x, (3, 4), method, antialias=True), [IMG[0]])


CASES = {
    "crop_and_resize": lambda x: tf.image.crop_and_resize(x, [[0.1, 0.2, 0.9, 0.7], [-0.1, 0, 0.5, 1.2]], [1, 0],
                                                          (3, 4), extrapolation_value=0.5),
    "resize_with_pad": lambda x: tf.image.resize_with_pad(x, 8, 4),
    "rot90": lambda x: tf.image.rot90(x, 3),
    "crop_or_pad": lambda x: tf.image.resize_with_crop_or_pad(x, 3, 8),
    "central_crop": lambda x: tf.image.central_crop(x, 0.5),
    "extract_patches": lambda x: tf.image.extract_patches(x, [1, 2, 2, 1], [1, 1, 2, 1], [1, 1, 1, 1], "SAME"),
    "brightness": lambda x: tf.image.adjust_brightness(x, 0.1),
    "gamma": lambda x: tf.image.adjust_gamma(x, 0.7, 1.2),
    "hsv": lambda x: tf.image.hsv_to_rgb(tf.image.rgb_to_hsv(x) * 0.9),
    "yuv_yiq": lambda x: tf.image.yiq_to_rgb(tf.image.rgb_to_yuv(x)),
    "grayscale": lambda x: tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(x)),
    "standardization": tf.image.per_image_standardization,
    "sobel": tf.image.sobel_edges,
    "image_gradients": lambda x: tf.image.image_gradients(x)[0] * tf.image.image_gradients(x)[1],
    "total_variation": tf.image.total_variation,
    "psnr": lambda x: tf.image.psnr(x, OTHER, 1.0),
    "ssim": lambda x: tf.image.ssim(x, OTHER, 1.0, filter_size=3),
    "draw_bounding_boxes": lambda x: tf.image.draw_bounding_boxes(x, [[[0.2, 0.2, 0.6, 0.8]]] * 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients(name):
    check_gradients(CASES[name], [IMG], rtol=1e-4, atol=1e-6)


def test_gradients_of_tensor_factors():
    check_gradients(lambda x, d: tf.image.adjust_brightness(x, d), [IMG, np.float64(0.2)], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name, op_type, fn", [
    ("contrast", "AdjustContrastv2", lambda x, f: tf.image.adjust_contrast(x, f)),
    ("saturation", "AdjustSaturation", lambda x, f: tf.image.adjust_saturation(x, f)),
    ("hue", "AdjustHue", lambda x, f: tf.image.adjust_hue(x, f * 0.1)),
    ("random_contrast", "AdjustContrastv2", lambda x, f: tf.image.random_contrast(x, 0.2, 0.5)),
])
def test_ops_without_a_tf_gradient_raise_tfs_lookup_error(name, op_type, fn):
    """TF registers no gradient for these raw ops; the autodiff guide catches the LookupError."""
    image = tf.Variable(IMG)
    factor = tf.Variable(1.3, dtype=tf.float64)
    with tf.GradientTape() as tape:
        out = fn(image, factor)
    with pytest.raises(LookupError, match=f"gradient registry has no entry for: {op_type}"):
        tape.gradient(out, [image, factor])
    with tf.GradientTape() as tape:  # the values are there, and other paths still differentiate
        total = tf.reduce_sum(tf.stop_gradient(fn(image, factor)) + image)
    np.testing.assert_array_equal(tape.gradient(total, image).numpy(), np.ones_like(IMG))
    if name != "random_contrast":  # the same values inside a tf.function
        traced = tf.function(lambda x: fn(x, tf.constant(1.3, tf.float64)))
        np.testing.assert_allclose(traced(IMG).numpy(), fn(IMG, tf.constant(1.3, tf.float64)).numpy())


def test_ssim_multiscale_gradient():
    big = rng.uniform(0.1, 0.9, (1, 11, 13, 2))
    other = np.clip(big + rng.normal(0, 0.1, big.shape), 0, 1)
    check_gradients(lambda x: tf.image.ssim_multiscale(x, other, 1.0, (0.5, 0.5), filter_size=3), [big],
                    rtol=1e-4, atol=1e-6)


def test_float64_kept():
    assert tf.image.resize(IMG, (3, 3)).dtype == tf.float64
    assert tf.image.adjust_hue(IMG, 0.1).dtype == tf.float64

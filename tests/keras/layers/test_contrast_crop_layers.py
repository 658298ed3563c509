"""RandomContrast and RandomCrop: Keras's transform for the same draw, the ranges of the draws,
Keras's fallbacks for small images, inference, tf.function and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import layers

X = np.random.default_rng(0).uniform(0, 255, (8, 6, 5, 3)).astype("float32")


def _contrast_factors(out: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Recover each image's factor c from out = (x - mean) * c + mean (before clipping)."""
    mean = x.mean(axis=(1, 2), keepdims=True)
    dev, new = (x - mean).reshape(len(x), -1), (out - mean).reshape(len(x), -1)
    inside = (out.reshape(len(x), -1) > 0.5) & (out.reshape(len(x), -1) < 254.5) & (np.abs(dev) > 1)
    return np.array([np.median(n[m] / d[m]) for n, d, m in zip(new, dev, inside, strict=True)])


def test_random_contrast_draws_in_range_per_image():
    out = layers.RandomContrast((0.2, 0.6), seed=2)(X).numpy()
    factors = _contrast_factors(out, X)
    assert np.all(factors > 0.8 - 1e-4) and np.all(factors < 1.6 + 1e-4)
    assert np.ptp(factors) > 0.05
    assert out.min() >= 0 and out.max() <= 255
    single = layers.RandomContrast(0.5)
    assert single.factor == (0.0, 0.5)
    assert np.all(_contrast_factors(single(X).numpy(), X) >= 1 - 1e-4)
    np.testing.assert_array_equal(layers.RandomContrast(0.5)(X, training=False).numpy(), X)


@pytest.mark.oracle
def test_random_contrast_equals_keras_for_the_same_factors():
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    out = layers.RandomContrast((0.5, 0.5), value_range=(0, 200))(X).numpy()
    mean = X.mean(axis=(1, 2), keepdims=True)
    inside = (out > 0.5) & (out < 199.5) & (np.abs(X - mean) > 1)
    factors = np.array([np.median(((o - m) / (x - m))[i]) for o, x, m, i in zip(out, X, mean, inside, strict=True)])
    ref = keras.layers.RandomContrast((0.5, 0.5), value_range=(0, 200)).transform_images(
        X, {"contrast_factor": factors.reshape(-1, 1, 1, 1).astype("float32")})
    np.testing.assert_allclose(out, np.asarray(ref), atol=2e-3)
    np.testing.assert_allclose(layers.RandomContrast((0.0, 0.0))(X).numpy(),
                               np.asarray(keras.layers.RandomContrast((0.0, 0.0))(X)), atol=1e-4)


def _window_of(out: np.ndarray, x: np.ndarray) -> tuple:
    h, w = out.shape[1:3]
    for top in range(x.shape[1] - h + 1):
        for left in range(x.shape[2] - w + 1):
            if np.array_equal(x[:, top:top + h, left:left + w], out):
                return top, left
    raise AssertionError("the output is not a window of the input")


def test_random_crop_takes_one_random_window_per_batch():
    crop = layers.RandomCrop(3, 2, seed=4)
    windows = {_window_of(crop(X).numpy(), X) for _ in range(30)}
    assert len(windows) > 4
    assert all(0 <= t <= 3 and 0 <= s <= 3 for t, s in windows)
    assert crop(X[0]).shape == (3, 2, 3)
    np.testing.assert_array_equal(crop(X, training=False).numpy(), X)
    assert crop.compute_output_shape((None, 6, 5, 3)) == (None, 3, 2, 3)
    traced = tf.function(lambda t: crop(t))
    assert len({_window_of(traced(tf.constant(X)).numpy(), X) for _ in range(30)}) > 4


@pytest.mark.oracle
@pytest.mark.parametrize("hw", [(8, 8), (3, 5), (6, 2), (10, 3), (2, 9), (6, 5)])
def test_random_crop_small_images_against_keras(hw):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    np.testing.assert_allclose(layers.RandomCrop(*hw)(X).numpy(), np.asarray(keras.layers.RandomCrop(*hw)(X)),
                               atol=2e-4)
    first = np.transpose(X, (0, 3, 1, 2))
    np.testing.assert_allclose(layers.RandomCrop(*hw, data_format="channels_first")(first).numpy(),
                               np.asarray(keras.layers.RandomCrop(*hw, data_format="channels_first")(first)),
                               atol=2e-4)


@pytest.mark.oracle
def test_random_crop_window_equals_keras_for_the_same_offsets():
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    out = layers.RandomCrop(4, 3, seed=9)(X).numpy()
    top, left = _window_of(out, X)
    ref = keras.layers.RandomCrop(4, 3).transform_images(X, (top, left))
    np.testing.assert_array_equal(out, np.asarray(ref))


def test_contrast_and_crop_errors():
    with pytest.raises(ValueError, match=r"RandomContrast: .*\[0, 1\]. Received: factor=1.5"):
        layers.RandomContrast(1.5)
    with pytest.raises(ValueError, match="RandomContrast"):
        layers.RandomContrast((0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match="height=0"):
        layers.RandomCrop(0, 3)
    with pytest.raises(ValueError, match="data_format"):
        layers.RandomCrop(2, 2, data_format="nhwc")
    config = layers.RandomCrop(3, 4, seed=1).get_config()
    assert (config["height"], config["width"], config["seed"]) == (3, 4, 1)
    assert layers.RandomContrast.from_config(layers.RandomContrast((0.1, 0.4)).get_config()).factor == (0.1, 0.4)

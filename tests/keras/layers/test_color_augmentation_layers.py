"""RandomInvert, RandomGrayscale, Solarization: per-image choices, Keras's transforms for the
same draws, inference identity, tf.function and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import layers

X = np.random.default_rng(0).uniform(0, 255, (32, 4, 5, 3)).astype("float32")


def _keras():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


def test_random_invert_inverts_some_images_whole():
    out = layers.RandomInvert(seed=1)(X).numpy()
    inverted = [np.allclose(o, 255 - x) for o, x in zip(out, X, strict=True)]
    kept = [np.array_equal(o, x) for o, x in zip(out, X, strict=True)]
    assert all(i or k for i, k in zip(inverted, kept, strict=True))
    assert 4 <= sum(inverted) <= 28
    always = layers.RandomInvert(factor=(1.0, 1.0), value_range=(0, 1))(X / 255).numpy()
    np.testing.assert_allclose(always, 1 - X / 255, atol=1e-6)
    np.testing.assert_array_equal(layers.RandomInvert(factor=(1.0, 1.0))(X, training=False).numpy(), X)
    traced = tf.function(lambda t: layers.RandomInvert(factor=(1.0, 1.0))(t))
    np.testing.assert_allclose(traced(tf.constant(X[:2])).numpy(), 255 - X[:2], atol=1e-4)


def test_random_grayscale_by_probability():
    gray = np.repeat((X @ np.array([0.2989, 0.587, 0.114], "float32"))[..., None], 3, -1)
    out = layers.RandomGrayscale(0.5, seed=3)(X).numpy()
    made_gray = [np.allclose(o, g, atol=1e-3) for o, g in zip(out, gray, strict=True)]
    kept = [np.array_equal(o, x) for o, x in zip(out, X, strict=True)]
    assert all(m or k for m, k in zip(made_gray, kept, strict=True))
    assert 4 <= sum(made_gray) <= 28
    np.testing.assert_array_equal(layers.RandomGrayscale(0.0)(X).numpy(), X)
    np.testing.assert_array_equal(layers.RandomGrayscale(1.0)(X, training=False).numpy(), X)


@pytest.mark.oracle
def test_fixed_color_transforms_against_keras():
    keras = _keras()
    np.testing.assert_allclose(layers.RandomGrayscale(1.0)(X).numpy(), np.asarray(keras.layers.RandomGrayscale(1.0)(X)),
                               atol=1e-4)
    first = np.transpose(X, (0, 3, 1, 2))
    np.testing.assert_allclose(layers.RandomGrayscale(1.0, data_format="channels_first")(first).numpy(),
                               np.asarray(keras.layers.RandomGrayscale(1.0, data_format="channels_first")(first)),
                               atol=1e-4)
    np.testing.assert_allclose(layers.Solarization()(X).numpy(), np.asarray(keras.layers.Solarization()(X)), atol=1e-4)
    assert layers.RandomInvert().factor == tuple(float(f) for f in keras.layers.RandomInvert().factor)


@pytest.mark.oracle
@pytest.mark.parametrize("value_range", [(0, 255), (0, 1), (-1, 1)])
def test_solarization_equals_keras_for_the_same_draws(value_range):
    keras = _keras()
    lo, hi = value_range
    x = X / 255 * (hi - lo) + lo
    rng = np.random.default_rng(1)
    add = rng.uniform(0, 60, (32, 1, 1, 1)).astype("float32")
    threshold = rng.uniform(0, 255, (32, 1, 1, 1)).astype("float32")
    ours = layers.Solarization(value_range=value_range)._solarize(tf.constant(x), add, threshold)
    ref = keras.layers.Solarization(value_range=value_range).transform_images(
        x, {"additions": add, "thresholds": threshold})
    np.testing.assert_allclose(ours.numpy(), np.asarray(ref), atol=1e-5)


def test_solarization_draws_in_keras_ranges():
    out = layers.Solarization(addition_factor=(0.0, 0.0), threshold_factor=(0.5, 0.5), seed=4)(X).numpy()
    for o, x in zip(out, X, strict=True):
        below = o == x
        assert np.all(below | np.isclose(o, 255 - x, atol=1e-4))
        if below.any() and (~below).any():
            assert x[below].max() <= x[~below].min() + 1e-4
            assert 0.5 - 1e-4 <= x[~below].min() and x[below].max() <= 127.5 + 1e-4
    np.testing.assert_array_equal(layers.Solarization(threshold_factor=0.5)(X, training=False).numpy(), X)


def test_color_layer_errors_and_configs():
    with pytest.raises(ValueError, match=r"RandomInvert: .*Received: factor=1.5"):
        layers.RandomInvert(1.5)
    with pytest.raises(ValueError, match="factor=2"):
        layers.RandomGrayscale(2)
    with pytest.raises(ValueError, match="threshold_factor=-0.1"):
        layers.Solarization(threshold_factor=-0.1)
    with pytest.raises(ValueError, match="value_range"):
        layers.Solarization(value_range=255)
    clone = layers.Solarization.from_config(layers.Solarization(0.2, (0.1, 0.3), value_range=(0, 1)).get_config())
    assert (clone.addition_factor, clone.threshold_factor, clone.value_range) == ((0.0, 0.2), (0.1, 0.3), (0, 1))

"""Adaptive pooling layers: contract, float64 gradients, Keras oracle (outputs and gradients)."""

from __future__ import annotations

import numpy as np
import pytest
from layer_check import check_against_keras, check_layer, check_layer_gradients

from tapeflow.keras import layers

CASES = [
    ("AdaptiveAveragePooling1D", 3, "channels_last", (2, 7, 3), (2, 3, 3)),
    ("AdaptiveMaxPooling1D", (4,), "channels_first", (2, 3, 10), (2, 3, 4)),
    ("AdaptiveAveragePooling2D", (2, 3), "channels_last", (2, 5, 7, 2), (2, 2, 3, 2)),
    ("AdaptiveMaxPooling2D", 3, "channels_first", (2, 2, 7, 6), (2, 2, 3, 3)),
    ("AdaptiveAveragePooling3D", (2, 2, 3), "channels_last", (1, 4, 5, 6, 2), (1, 2, 2, 3, 2)),
    ("AdaptiveMaxPooling3D", 2, "channels_first", (1, 2, 5, 3, 4), (1, 2, 2, 2, 2)),
]
IDS = [f"{c[0]}-{c[2]}" for c in CASES]


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("cls, size, fmt, shape, out", CASES, ids=IDS)
def test_contract_and_gradients(cls, size, fmt, shape, out):
    layer = check_layer(lambda: getattr(layers, cls)(size, data_format=fmt), shape, expected_output_shape=out,
                        expected_weight_shapes=[], check_training=False)
    assert tuple(layer.compute_output_shape(shape)) == out
    check_layer_gradients(getattr(layers, cls)(size, data_format=fmt, dtype="float64"), _x(shape).astype("float64"))


def test_windows_follow_the_floor_ceil_rule():
    x = np.arange(7, dtype="float32").reshape(1, 7, 1)
    out = layers.AdaptiveAveragePooling1D(3)(x).numpy().ravel()
    np.testing.assert_allclose(out, [np.mean([0, 1, 2]), np.mean([2, 3, 4]), np.mean([4, 5, 6])])
    np.testing.assert_array_equal(layers.AdaptiveMaxPooling1D(3)(x).numpy().ravel(), [2, 4, 6])


@pytest.mark.oracle
@pytest.mark.parametrize("cls, size, fmt, shape, out", CASES, ids=IDS)
def test_against_keras(cls, size, fmt, shape, out):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    check_against_keras(lambda: getattr(layers, cls)(size, data_format=fmt),
                        lambda: getattr(keras.layers, cls)(size, data_format=fmt), _x(shape))


def test_bad_arguments():
    with pytest.raises(TypeError, match=r"AdaptiveAveragePooling2D: `output_size` must be an integer or \(height"):
        layers.AdaptiveAveragePooling2D((2, 2, 2))
    with pytest.raises(ValueError, match="positive integers"):
        layers.AdaptiveMaxPooling1D(0)
    with pytest.raises(ValueError, match="data_format"):
        layers.AdaptiveMaxPooling3D(2, data_format="ndhwc")
    config = layers.AdaptiveMaxPooling2D((2, 3), data_format="channels_first").get_config()
    assert config["output_size"] == (2, 3) and config["data_format"] == "channels_first"

"""ZeroPadding3D, Cropping3D, UpSampling3D, SpatialDropout3D."""

from __future__ import annotations

import numpy as np
import pytest
from layer_check import check_against_keras, check_layer, check_layer_gradients

from tapeflow.keras import layers

CASES = [
    ("ZeroPadding3D", {}, (2, 3, 4, 2, 3), (2, 5, 6, 4, 3)),
    ("ZeroPadding3D", {"padding": ((1, 0), (0, 2), (1, 1)), "data_format": "channels_first"},
     (2, 3, 4, 2, 3), (2, 3, 5, 4, 5)),
    ("Cropping3D", {}, (2, 4, 5, 6, 2), (2, 2, 3, 4, 2)),
    ("Cropping3D", {"cropping": (1, 0, 2)}, (2, 4, 5, 6, 2), (2, 2, 5, 2, 2)),
    ("UpSampling3D", {"size": (1, 2, 3)}, (2, 2, 3, 2, 3), (2, 2, 6, 6, 3)),
    ("UpSampling3D", {"size": 2, "data_format": "channels_first"}, (2, 3, 2, 2, 2), (2, 3, 4, 4, 4)),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("cls, kwargs, shape, out", CASES, ids=IDS)
def test_contract(cls, kwargs, shape, out):
    check_layer(lambda: getattr(layers, cls)(**kwargs), shape, expected_output_shape=out, expected_weight_shapes=[])


@pytest.mark.parametrize("cls, kwargs, shape, out", CASES, ids=IDS)
def test_gradients(cls, kwargs, shape, out):
    check_layer_gradients(getattr(layers, cls)(dtype="float64", **kwargs), _x(shape).astype("float64"))


@pytest.mark.oracle
@pytest.mark.parametrize("cls, kwargs, shape, out", CASES, ids=IDS)
def test_against_keras(cls, kwargs, shape, out):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    check_against_keras(lambda: getattr(layers, cls)(**kwargs), lambda: getattr(keras.layers, cls)(**kwargs),
                        _x(shape))


def test_spatial_dropout3d_drops_whole_channels():
    x = np.ones((4, 3, 3, 3, 8), np.float32)
    y = layers.SpatialDropout3D(0.5, seed=1)(x, training=True).numpy()
    per_channel = y.reshape(4, 27, 8)
    assert np.all((per_channel == 0).all(axis=1) | (per_channel == 2).all(axis=1))
    np.testing.assert_array_equal(layers.SpatialDropout3D(0.5)(x, training=False).numpy(), x)
    with pytest.raises(ValueError, match="Cropping3D"):
        layers.Cropping3D(((1, 1), (1, 1)))

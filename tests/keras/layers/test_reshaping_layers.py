"""ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D, SpatialDropout1D/2D."""

from __future__ import annotations

import numpy as np
import pytest
from layer_check import check_against_keras, check_layer, check_layer_gradients

from tapeflow.keras import layers


@pytest.fixture(scope="module")
def tk():
    ktf = pytest.importorskip("tensorflow")
    return ktf.keras


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


CASES = [
    ("ZeroPadding1D", {}, (2, 4, 3), (2, 6, 3)),
    ("ZeroPadding1D", {"padding": (1, 3)}, (2, 4, 3), (2, 8, 3)),
    ("ZeroPadding1D", {"padding": 2, "data_format": "channels_first"}, (2, 3, 4), (2, 3, 8)),
    ("ZeroPadding2D", {}, (2, 3, 4, 2), (2, 5, 6, 2)),
    ("ZeroPadding2D", {"padding": ((1, 0), (2, 1))}, (2, 3, 4, 2), (2, 4, 7, 2)),
    ("ZeroPadding2D", {"padding": (1, 2), "data_format": "channels_first"}, (2, 2, 3, 4), (2, 2, 5, 8)),
    ("Cropping1D", {}, (2, 5, 3), (2, 3, 3)),
    ("Cropping1D", {"cropping": (2, 0)}, (2, 5, 3), (2, 3, 3)),
    ("Cropping2D", {"cropping": ((1, 0), (1, 2))}, (2, 4, 5, 2), (2, 3, 2, 2)),
    ("Cropping2D", {"cropping": 1, "data_format": "channels_first"}, (2, 2, 4, 5), (2, 2, 2, 3)),
    ("Cropping2D", {}, (2, 3, 3, 2), (2, 3, 3, 2)),
    ("UpSampling1D", {"size": 3}, (2, 4, 3), (2, 12, 3)),
    ("UpSampling2D", {}, (2, 3, 4, 2), (2, 6, 8, 2)),
    ("UpSampling2D", {"size": (3, 2), "data_format": "channels_first"}, (2, 2, 3, 4), (2, 2, 9, 8)),
    ("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}, (2, 3, 4, 2), (2, 6, 12, 2)),
    (
        "UpSampling2D",
        {"size": 2, "interpolation": "bilinear", "data_format": "channels_first"},
        (2, 2, 3, 4),
        (2, 2, 6, 8),
    ),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls, kwargs, shape, out", CASES, ids=IDS)
def test_contract(cls, kwargs, shape, out):
    check_layer(
        lambda: getattr(layers, cls)(**kwargs), shape, expected_output_shape=out, expected_weight_shapes=[]
    )


@pytest.mark.parametrize("cls, kwargs, shape, out", CASES, ids=IDS)
def test_gradients(cls, kwargs, shape, out):
    check_layer_gradients(getattr(layers, cls)(dtype="float64", **kwargs), _x(shape).astype("float64"))


def test_values():
    x = np.arange(6, dtype="float32").reshape(1, 3, 2)
    np.testing.assert_array_equal(layers.ZeroPadding1D((1, 2))(x).numpy()[0, :, 0], [0, 0, 2, 4, 0, 0])
    np.testing.assert_array_equal(layers.Cropping1D((1, 1))(x).numpy(), x[:, 1:2])
    np.testing.assert_array_equal(layers.UpSampling1D(2)(x).numpy()[0, :, 1], [1, 1, 3, 3, 5, 5])
    img = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
    np.testing.assert_array_equal(
        layers.UpSampling2D((1, 2))(img).numpy()[0, :, :, 0], [[0, 0, 1, 1], [2, 2, 3, 3]]
    )


def test_bad_input():
    with pytest.raises(ValueError, match=r"cropping \(3, 3\).*5 entries of axis 1"):
        layers.Cropping1D(3)(_x((1, 5, 2)))
    with pytest.raises(ValueError, match=r"zero_padding2d.*expected ndim=4, found ndim=3"):
        layers.ZeroPadding2D(name="zero_padding2d_bad")(_x((1, 5, 2)))
    with pytest.raises(ValueError, match="interpolation"):
        layers.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match="padding"):
        layers.ZeroPadding2D(((1, 2, 3), 1))


# --- SpatialDropout -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, kwargs, shape, chan_axis",
    [
        ("SpatialDropout1D", {}, (4, 6, 5), 2),
        ("SpatialDropout2D", {}, (4, 3, 3, 5), 3),
        ("SpatialDropout2D", {"data_format": "channels_first"}, (4, 5, 3, 3), 1),
    ],
)
def test_spatial_dropout(cls, kwargs, shape, chan_axis):
    check_layer(
        lambda: getattr(layers, cls)(0.5, **kwargs), shape, expected_output_shape=shape, deterministic=False
    )
    layer = getattr(layers, cls)(0.5, seed=3, **kwargs)
    x = np.ones(shape, "float32")
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    y = layer(x, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    # One decision per (sample, channel): constant over the spatial axes.
    spatial = tuple(i for i in range(1, len(shape)) if i != chan_axis)
    assert np.all(y.min(axis=spatial) == y.max(axis=spatial))
    assert 0 < (y == 0).mean() < 1


# --- Keras oracle ---------------------------------------------------------------------------


@pytest.mark.oracle
@pytest.mark.parametrize("cls, kwargs, shape, out", CASES, ids=IDS)
def test_matches_keras(tk, cls, kwargs, shape, out):
    check_against_keras(
        lambda: getattr(layers, cls)(**kwargs),
        lambda: getattr(tk.layers, cls)(**kwargs),
        _x(shape),
        training=True,
    )


@pytest.mark.oracle
def test_spatial_dropout_inference_matches_keras(tk):
    x = _x((2, 3, 3, 4))
    check_against_keras(
        lambda: layers.SpatialDropout2D(0.3), lambda: tk.layers.SpatialDropout2D(0.3), x, training=False
    )
    check_against_keras(
        lambda: layers.SpatialDropout1D(0.3), lambda: tk.layers.SpatialDropout1D(0.3), x[:, 0], training=False
    )

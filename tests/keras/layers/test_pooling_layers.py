"""Pooling layers: contract, float64 gradients, tf.keras oracle, masks, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from layer_check import check_against_keras, check_layer, check_layer_gradients

from tapeflow import keras
from tapeflow.keras import layers


@pytest.fixture(scope="module")
def tk():
    ktf = pytest.importorskip("tensorflow")
    return ktf.keras


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


CASES = [
    ("MaxPooling1D", {}, (2, 6, 3), (2, 3, 3)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 3), (2, 4, 3)),
    ("MaxPooling1D", {"pool_size": 2, "data_format": "channels_first"}, (2, 3, 6), (2, 3, 3)),
    ("MaxPooling2D", {}, (2, 4, 6, 3), (2, 2, 3, 3)),
    ("MaxPooling2D", {"pool_size": (3, 2), "strides": (2, 1), "padding": "same"}, (2, 5, 4, 2), (2, 3, 4, 2)),
    ("MaxPooling2D", {"pool_size": 2, "data_format": "channels_first"}, (2, 3, 4, 5), (2, 3, 2, 2)),
    ("MaxPooling3D", {}, (1, 4, 4, 2, 2), (1, 2, 2, 1, 2)),
    (
        "MaxPooling3D",
        {"pool_size": 2, "strides": 1, "padding": "same", "data_format": "channels_first"},
        (1, 2, 3, 3, 3),
        (1, 2, 3, 3, 3),
    ),
    ("AveragePooling1D", {"pool_size": 2}, (2, 6, 3), (2, 3, 3)),
    ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 3), (2, 4, 3)),
    ("AveragePooling2D", {"pool_size": 2}, (2, 4, 6, 3), (2, 2, 3, 3)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 5, 6, 2), (2, 3, 3, 2)),
    ("AveragePooling2D", {"pool_size": (2, 3), "data_format": "channels_first"}, (2, 3, 4, 6), (2, 3, 2, 2)),
    ("AveragePooling3D", {"pool_size": 2, "padding": "same"}, (1, 3, 4, 3, 2), (1, 2, 2, 2, 2)),
    ("GlobalMaxPooling1D", {}, (2, 5, 3), (2, 3)),
    ("GlobalMaxPooling1D", {"keepdims": True, "data_format": "channels_first"}, (2, 3, 5), (2, 3, 1)),
    ("GlobalAveragePooling1D", {}, (2, 5, 3), (2, 3)),
    ("GlobalAveragePooling1D", {"keepdims": True}, (2, 5, 3), (2, 1, 3)),
    ("GlobalMaxPooling2D", {}, (2, 4, 3, 5), (2, 5)),
    ("GlobalMaxPooling2D", {"keepdims": True, "data_format": "channels_first"}, (2, 5, 4, 3), (2, 5, 1, 1)),
    ("GlobalAveragePooling2D", {}, (2, 4, 3, 5), (2, 5)),
    ("GlobalAveragePooling2D", {"keepdims": True}, (2, 4, 3, 5), (2, 1, 1, 5)),
    ("GlobalMaxPooling3D", {}, (2, 3, 2, 3, 4), (2, 4)),
    ("GlobalAveragePooling3D", {"keepdims": True, "data_format": "channels_first"}, (2, 4, 3, 2, 3),
     (2, 4, 1, 1, 1)),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls, kwargs, shape, out", CASES, ids=IDS)
def test_contract(cls, kwargs, shape, out):
    check_layer(
        lambda: getattr(layers, cls)(**kwargs), shape, expected_output_shape=out, expected_weight_shapes=[]
    )


@pytest.mark.parametrize("cls, kwargs, shape, out", CASES, ids=IDS)
def test_gradients(cls, kwargs, shape, out):
    # Distinct values one apart: no ties, so max pooling is differentiable at the point.
    x = np.random.default_rng(3).permutation(int(np.prod(shape))).reshape(shape).astype("float64")
    check_layer_gradients(getattr(layers, cls)(dtype="float64", **kwargs), x)


def test_aliases_and_defaults():
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    pool = layers.MaxPooling2D()
    assert (pool.pool_size, pool.strides, pool.padding, pool.data_format) == (
        (2, 2),
        (2, 2),
        "valid",
        "channels_last",
    )
    assert layers.AveragePooling1D(3).strides == (3,)


def test_average_same_padding_does_not_count_padding():
    x = np.ones((1, 3, 3, 1), "float32")
    y = layers.AveragePooling2D(2, strides=2, padding="same")(x).numpy()
    np.testing.assert_allclose(y, np.ones((1, 2, 2, 1)))


def test_global_pooling_1d_mask():
    x = _x((2, 4, 3))
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    avg = layers.GlobalAveragePooling1D()(x, mask=mask).numpy()
    np.testing.assert_allclose(avg[0], x[0, :2].mean(0), rtol=1e-5)
    np.testing.assert_allclose(avg[1], x[1].mean(0), rtol=1e-5)
    x[0, 2:] = 100.0
    # As Keras 3: GlobalMaxPooling1D takes no mask (its call has no `mask` argument).
    with pytest.raises(TypeError, match="GlobalMaxPooling1D.call.. got an unexpected keyword argument 'mask'"):
        layers.GlobalMaxPooling1D()(x, mask=mask)


def test_mask_propagates_from_embedding_into_global_average():
    inputs = keras.Input((4,), dtype="int32")
    embedding = layers.Embedding(10, 3, mask_zero=True)
    out = layers.GlobalAveragePooling1D()(embedding(inputs))
    model = keras.Model(inputs, out)
    y = model(np.array([[1, 2, 0, 0]])).numpy()
    table = embedding.get_weights()[0]
    np.testing.assert_allclose(y[0], table[[1, 2]].mean(0), rtol=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match=r"pool_small.*pool size \(3, 3\).*spatial size \(2, 5\)"):
        layers.MaxPooling2D(3, name="pool_small")(_x((1, 2, 5, 1)))
    with pytest.raises(ValueError, match=r"pool_rank.*expected ndim=4, found ndim=3"):
        layers.MaxPooling2D(name="pool_rank")(_x((1, 4, 4)))
    with pytest.raises(ValueError, match=r"gap_rank.*expected ndim=3, found ndim=4"):
        layers.GlobalAveragePooling1D(name="gap_rank")(_x((1, 4, 4, 2)))
    with pytest.raises(ValueError, match="padding"):
        layers.AveragePooling2D(padding="causal")


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
def test_masked_global_average_matches_keras(tk):
    x = _x((2, 4, 3))
    mask = np.array([[1, 1, 0, 0], [1, 0, 1, 1]], bool)
    check_against_keras(
        lambda: layers.GlobalAveragePooling1D(),
        lambda: tk.layers.GlobalAveragePooling1D(),
        x,
        call_kwargs={"mask": mask},
    )

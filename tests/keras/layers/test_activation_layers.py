"""ReLU, LeakyReLU, PReLU, ELU and Softmax layers: contract, gradients, Keras oracle."""

from __future__ import annotations

import numpy as np
import pytest
from layer_check import check_against_keras, check_layer, check_layer_gradients

import tapeflow as tf
from tapeflow.keras import layers

CASES = [
    ("ReLU", {}, []),
    ("ReLU", {"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.5}, []),
    ("LeakyReLU", {}, []),
    ("LeakyReLU", {"negative_slope": 0.05}, []),
    ("ELU", {"alpha": 0.7}, []),
    ("Softmax", {}, []),
    ("Softmax", {"axis": 1}, []),
    ("PReLU", {"alpha_initializer": "ones"}, [(3, 4)]),
    ("PReLU", {"shared_axes": [1]}, [(1, 4)]),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def _x(shape=(2, 3, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("cls, kwargs, weights", CASES, ids=IDS)
def test_contract(cls, kwargs, weights):
    check_layer(lambda: getattr(layers, cls)(**kwargs), (2, 3, 4), expected_output_shape=(2, 3, 4),
                expected_weight_shapes=weights)


@pytest.mark.parametrize("cls, kwargs, weights", CASES, ids=IDS)
def test_gradients(cls, kwargs, weights):
    check_layer_gradients(getattr(layers, cls)(dtype="float64", **kwargs), _x().astype("float64") + 0.05)


@pytest.mark.oracle
@pytest.mark.parametrize("cls, kwargs, weights", CASES, ids=IDS)
def test_against_keras(cls, kwargs, weights):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    check_against_keras(lambda: getattr(layers, cls)(**kwargs), lambda: getattr(keras.layers, cls)(**kwargs),
                        _x())


def test_softmax_mask_and_leaky_relu_alpha():
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    out = layers.Softmax()(tf.constant(x), mask=tf.constant([[True, False, True]])).numpy()
    np.testing.assert_allclose(out[0, 1], 0.0, atol=1e-7)
    np.testing.assert_allclose(out.sum(), 1.0, rtol=1e-6)
    with pytest.warns(UserWarning, match="alpha"):
        layer = layers.LeakyReLU(alpha=0.2)
    assert layer.get_config()["negative_slope"] == 0.2
    with pytest.raises(ValueError, match="negative_slope"):
        layers.ReLU(negative_slope=-1.0)
    with pytest.raises(ValueError, match="PReLU.*must be known"):
        layers.PReLU().build((None, None, 4))

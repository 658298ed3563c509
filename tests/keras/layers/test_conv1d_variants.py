"""DepthwiseConv1D and SeparableConv1D (and the SeparableConvolution aliases)."""

from __future__ import annotations

import numpy as np
import pytest
from layer_check import check_against_keras, check_layer, check_layer_gradients

from tapeflow.keras import layers

CASES = [
    ("DepthwiseConv1D", {"kernel_size": 3}, (2, 7, 4), [(3, 4, 1), (4,)]),
    ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2, "strides": 2, "padding": "same"}, (2, 5, 8),
     [(3, 4, 2), (8,)]),
    ("SeparableConv1D", {"filters": 5, "kernel_size": 3}, (2, 7, 5), [(3, 4, 1), (1, 4, 5), (5,)]),
    ("SeparableConv1D", {"filters": 5, "kernel_size": 2, "dilation_rate": 2, "padding": "same",
                         "depth_multiplier": 2}, (2, 9, 5), [(2, 4, 2), (1, 8, 5), (5,)]),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls, kwargs, out, weights", CASES, ids=IDS)
def test_contract(cls, kwargs, out, weights):
    check_layer(lambda: getattr(layers, cls)(**kwargs), (2, 9, 4), expected_output_shape=out,
                expected_weight_shapes=weights)


@pytest.mark.parametrize("cls, kwargs, out, weights", CASES, ids=IDS)
def test_gradients(cls, kwargs, out, weights):
    x = np.random.default_rng(0).standard_normal((2, 9, 4))
    check_layer_gradients(getattr(layers, cls)(dtype="float64", **kwargs), x)


@pytest.mark.oracle
@pytest.mark.parametrize("cls, kwargs, out, weights", CASES, ids=IDS)
def test_against_keras(cls, kwargs, out, weights):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(0).standard_normal((2, 9, 4)).astype("float32")
    check_against_keras(lambda: getattr(layers, cls)(**kwargs), lambda: getattr(keras.layers, cls)(**kwargs), x)


def test_aliases():
    assert layers.SeparableConvolution1D is layers.SeparableConv1D
    assert layers.SeparableConvolution2D is layers.SeparableConv2D

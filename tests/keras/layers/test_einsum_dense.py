"""EinsumDense: shapes from the equation, contract, gradients, Keras oracle."""

from __future__ import annotations

import numpy as np
import pytest
from layer_check import check_against_keras, check_layer, check_layer_gradients

from tapeflow.keras import layers

CASES = [
    ("ab,bc->ac", 4, "c", (2, 3), (2, 4), [(3, 4), (4,)]),
    ("abc,cde->abde", (None, 2, 3), "de", (2, 5, 7), (2, 5, 2, 3), [(7, 2, 3), (2, 3)]),
    ("...b,bc->...c", 4, "c", (2, 5, 3), (2, 5, 4), [(3, 4), (4,)]),
    ("abc,cd->abd", (5, 6), None, (2, 5, 3), (2, 5, 6), [(3, 6)]),
    ("abcd,cde->abe", (None, 5), "e", (2, 4, 2, 3), (2, 4, 5), [(2, 3, 5), (5,)]),
    ("ab...,bc->ac...", 4, "c", (2, 3, 5), (2, 4, 5), [(3, 4), (4, 1)]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("eq, out, bias, shape, expected, weights", CASES, ids=IDS)
def test_contract(eq, out, bias, shape, expected, weights):
    check_layer(lambda: layers.EinsumDense(eq, out, bias_axes=bias, activation="tanh"), shape,
                expected_output_shape=expected, expected_weight_shapes=weights)


@pytest.mark.parametrize("eq, out, bias, shape, expected, weights", CASES, ids=IDS)
def test_gradients(eq, out, bias, shape, expected, weights):
    x = np.random.default_rng(0).standard_normal(shape)
    check_layer_gradients(layers.EinsumDense(eq, out, bias_axes=bias, dtype="float64"), x)


@pytest.mark.oracle
@pytest.mark.parametrize("eq, out, bias, shape, expected, weights", CASES, ids=IDS)
def test_against_keras(eq, out, bias, shape, expected, weights):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    check_against_keras(lambda: layers.EinsumDense(eq, out, bias_axes=bias, activation="relu"),
                        lambda: keras.layers.EinsumDense(eq, out, bias_axes=bias, activation="relu"), x)


def test_bad_equations_and_variants():
    with pytest.raises(ValueError, match="invalid einsum equation"):
        layers.EinsumDense("ab->b", 3).build((2, 3))
    with pytest.raises(ValueError, match="bias axis 'z'"):
        layers.EinsumDense("ab,bc->ac", 3, bias_axes="z").build((2, 3))
    with pytest.raises(ValueError, match="LoRA"):
        layers.EinsumDense("ab,bc->ac", 3, lora_rank=2)

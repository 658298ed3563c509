"""Keras layers on SparseTensor inputs: Dense multiplies sparse @ kernel, as Keras 3 does."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

X = np.array([[0, 1.5, 0, 0], [2.0, 0, 0, -1.0], [0, 0, 0, 0]], np.float32)
KERNEL = np.arange(12, dtype=np.float32).reshape(4, 3) / 10


def _dense(k, m):
    layer = k.layers.Dense(3, activation="relu")
    layer.build((None, 4))
    layer.set_weights([KERNEL, np.full(3, -0.5, np.float32)])
    return layer(m.sparse.from_dense(X))


def test_dense_on_sparse_equals_dense_input():
    np.testing.assert_allclose(_dense(keras, tf).numpy(), np.maximum(X @ KERNEL - 0.5, 0), rtol=1e-6)


@pytest.mark.oracle
def test_dense_on_sparse_matches_keras():
    real_keras = pytest.importorskip("keras")
    real_tf = pytest.importorskip("tensorflow")
    np.testing.assert_allclose(_dense(keras, tf).numpy(), np.asarray(_dense(real_keras, real_tf)),
                               rtol=1e-6)


def test_functional_model_with_sparse_input_trains_its_kernel():
    inp = keras.Input(shape=(4,), sparse=True)
    model = keras.Model(inp, keras.layers.Dense(3, kernel_initializer="ones")(inp))
    assert model.layers[0].get_config()["sparse"] is True
    sp = tf.sparse.from_dense(X)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(model(sp))
    dk, db = tape.gradient(y, model.trainable_variables)
    np.testing.assert_allclose(dk.numpy(), np.repeat(X.sum(0)[:, None], 3, 1))
    np.testing.assert_allclose(db.numpy(), [3.0, 3.0, 3.0])

"""A model built by its first call inside a traced step (predict / fit / a tf.function): the
Keras functional build is not recorded into the trace (Keras 3 builds in a scratch graph)."""

from __future__ import annotations

import numpy as np

import tapeflow as tf
from tapeflow import keras


class _RandomScale(keras.layers.Layer):
    """The migration guide's layer: a tf.function `call` with a tensor `if` (a cond)."""

    @tf.function()
    def call(self, inputs):
        if tf.random.uniform(()) > 0.5:
            return inputs * 2
        else:
            return inputs / 2


def test_sequential_built_in_the_first_predict_step_runs_again():
    data = np.random.default_rng(0).uniform(size=(3, 3)).astype("float32")
    model = keras.Sequential([_RandomScale()])
    for _ in range(3):
        out = model.predict(data, verbose=0)
        ok = np.isclose(out, data * 2) | np.isclose(out, data / 2)
        assert out.shape == (3, 3) and ok.all()
        assert np.isclose(out, data * 2).all() or np.isclose(out, data / 2).all()


def test_sequential_built_inside_a_tf_function_trains():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 4)).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")
    model = keras.Sequential([keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    first = model.train_on_batch(x, y)
    second = model.train_on_batch(x, y)
    assert np.isfinite(first) and second < first

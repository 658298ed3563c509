"""Training steps of everyday Keras models differentiate at trace time (issue 11).

A custom training step under `tf.function` must become one graph of primitives — forward,
backward and optimizer update — that replays on arrays: no tape enacted at each call. And it
must compute what the same step computes eagerly, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

L = keras.layers


def _convnet():
    return keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2),
                             L.Conv2D(6, 3, activation="relu"), L.Flatten(), L.Dense(5, activation="softmax")])


def _resnet_block():
    inputs = keras.Input((8, 8, 3))
    h = L.ReLU()(L.BatchNormalization()(L.Conv2D(4, 3, padding="same", use_bias=False)(inputs)))
    r = L.BatchNormalization()(L.Conv2D(4, 3, padding="same", use_bias=False)(h))
    h = L.ReLU()(L.Add()([h, r]))
    return keras.Model(inputs, L.Dense(5)(L.GlobalAveragePooling2D()(h)))


def _mobilenet_block():
    inputs = keras.Input((8, 8, 3))
    h = L.Conv2D(4, 3, strides=2, padding="same", use_bias=False)(inputs)
    h = L.ReLU()(L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same", use_bias=False)(h)))
    h = L.ReLU()(L.BatchNormalization()(L.Conv2D(6, 1, use_bias=False)(h)))
    return keras.Model(inputs, L.Dense(5)(L.GlobalAveragePooling2D()(h)))


MODELS = {
    "convnet": (_convnet, (12, 12, 1), False),
    "resnet_block": (_resnet_block, (8, 8, 3), False),
    "mobilenet_block": (_mobilenet_block, (8, 8, 3), False),
    "text": (lambda: keras.Sequential([keras.Input((10,), dtype="int32"), L.Embedding(50, 4),
                                       L.GlobalAveragePooling1D(), L.Dense(8, activation="relu"), L.Dense(5)]),
             (10,), True),
    "conv1d_global_max": (lambda: keras.Sequential([keras.Input((12, 3)), L.Conv1D(4, 5, activation="relu"),
                                                    L.GlobalMaxPooling1D(), L.Dense(5)]), (12, 3), False),
    "avg_pool": (lambda: keras.Sequential([keras.Input((8, 8, 2)), L.Conv2D(4, 3, activation="tanh"),
                                           L.AveragePooling2D(2), L.Flatten(), L.Dense(5)]), (8, 8, 2), False),
    "overlapping_max_pool": (lambda: keras.Sequential([keras.Input((8, 8, 2)), L.Conv2D(4, 3, activation="relu"),
                                                       L.MaxPooling2D(3, 2, padding="same"), L.Flatten(),
                                                       L.Dense(5)]), (8, 8, 2), False),
    "lstm": (lambda: keras.Sequential([keras.Input((7, 3)), L.LSTM(6), L.Dense(5)]), (7, 3), False),
    "masked_gru": (lambda: keras.Sequential([keras.Input((7,), dtype="int32"), L.Embedding(50, 4, mask_zero=True),
                                             L.GRU(6), L.Dense(5)]), (7,), True),
    "bidirectional_simple_rnn": (lambda: keras.Sequential([keras.Input((7, 3)),
                                                           L.Bidirectional(L.SimpleRNN(4, return_sequences=True)),
                                                           L.GlobalAveragePooling1D(), L.Dense(5)]), (7, 3), False),
    "conv_transpose": (lambda: keras.Sequential([keras.Input((4, 4, 2)), L.Conv2DTranspose(3, 3, strides=2),
                                                 L.Flatten(), L.Dense(5)]), (4, 4, 2), False),
}


def _twins(name):
    """Two copies of the model with the same weights, and a batch for it."""
    build, shape, integer = MODELS[name]
    keras.utils.set_random_seed(0)
    a, b = build(), build()
    b.set_weights(a.get_weights())
    rng = np.random.default_rng(1)
    x = rng.integers(0, 50, (6, *shape)).astype("int32") if integer else rng.normal(size=(6, *shape)).astype("float32")
    y = rng.integers(0, 5, 6)
    return a, b, tf.constant(x), tf.constant(y)


def _step_fn(model):
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=model.layers[-1].activation is not
                                                         keras.activations.softmax)
    opt = keras.optimizers.Adam(0.01)

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return step


@pytest.mark.parametrize("name", sorted(MODELS))
def test_training_step_is_one_graph_and_equals_eager(name):
    eager_model, traced_model, x, y = _twins(name)
    eager = _step_fn(eager_model)
    traced = tf.function(_step_fn(traced_model))
    for _ in range(3):
        np.testing.assert_array_equal(eager(x, y).numpy(), traced(x, y).numpy())
    for a, b in zip(eager_model.weights, traced_model.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)
    concrete = traced.get_concrete_function(x, y)
    assert not any(n.name.startswith("tape_") for n in concrete._program.nodes)
    assert concrete._arrays is not None  # replays as one generated function on arrays
    # Sequences keep the reserve space their gradient reads (it is not recomputed).
    reserves = [n.function.reserve for n in concrete._program.nodes
                if getattr(getattr(n, "function", None), "reserve", None) is not None]
    assert all(reserves) and bool(reserves) == (name in ("lstm", "masked_gru", "bidirectional_simple_rnn"))


def test_inference_graph_runs_the_sequences_without_reserve_space():
    model = keras.Sequential([keras.Input((7, 3)), L.Bidirectional(L.LSTM(4)), L.Dense(5)])
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32"))
    predict = tf.function(lambda x: model(x))
    np.testing.assert_array_equal(predict(x).numpy(), model(x).numpy())
    assert predict.get_concrete_function(x).optimizations["drop_unused_reserves"] == 2
    with tf.GradientTape() as tape:
        y = predict(x)  # differentiated through the call: the reserves are read again
    grads = tape.gradient(y, model.trainable_variables)
    assert all(g is not None for g in grads)

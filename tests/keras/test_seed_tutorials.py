"""The behaviour the seed tutorials (shared/seeds/000, 001, 002) rely on, written as our own tests.

000: XOR with a two-layer sigmoid Sequential, SGD object, "mse", 3000 epochs of batch 1,
     summary (6 + 3 = 9 params), predict, printing the weights.
001: a custom Layer (build/call with add_weight) stacked in a Sequential without an input
     shape, compile with objects, fit with validation data, History.
002: the Fashion-MNIST MLP built with add(), summary, layers / get_layer / get_weights,
     compile with strings, fit with validation data, History, evaluate, predict.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


def test_xor_listing_behaviour(capsys):
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    x = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])  # integer arrays, as in the tutorial
    y = np.array([[0], [1], [1], [0]])
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(units=2, activation="sigmoid", input_shape=(2,)),
        tf.keras.layers.Dense(units=1, activation="sigmoid"),
    ])
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    history = model.fit(x, y, epochs=3000, batch_size=1)  # verbose "auto": one line per epoch here
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 3000 and "Epoch 3000/3000\n4/4 - " in out
    losses = history.history["loss"]
    assert len(losses) == 3000 and losses[-1] < losses[0] / 3
    model.summary()
    text = capsys.readouterr().out
    assert "│ dense (Dense)" in text and "│             6 │" in text and "│             3 │" in text
    assert " Trainable params: 9 (36.00 B)" in text
    pred = model.predict(x)
    assert isinstance(pred, np.ndarray) and pred.shape == (4, 1)
    np.testing.assert_array_equal(pred.round(), y)  # this seed learns XOR
    for weight in model.weights:
        print(weight)
    printed = capsys.readouterr().out
    assert printed.count("kernel") == 2 and printed.count("bias") == 2 and "shape=(2, 2)" in printed
    assert [tuple(w.shape) for w in model.weights] == [(2, 2), (2,), (2, 1), (1,)]


class SimpleDense(keras.layers.Layer):
    """A user-written dense layer, the way the 001 tutorial defines one."""

    def __init__(self, units, activation=None):
        super().__init__()
        self.units = units
        self.activation = activation

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.W = self.add_weight(shape=(input_dim, self.units), initializer="random_normal")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        y = tf.matmul(inputs, self.W) + self.b
        if self.activation is not None:
            y = self.activation(y)
        return y


def test_custom_layer_sequential_with_validation_data():
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    negative = rng.multivariate_normal([0, 3], [[1, 0.5], [0.5, 1]], 300)
    positive = rng.multivariate_normal([3, 0], [[1, 0.5], [0.5, 1]], 300)
    inputs = np.vstack((negative, positive)).astype("float32")
    targets = np.vstack((np.zeros((300, 1)), np.ones((300, 1)))).astype("float32")
    order = rng.permutation(600)
    inputs, targets = inputs[order], targets[order]
    model = keras.Sequential([SimpleDense(8, activation=tf.nn.relu),
                              SimpleDense(1, activation=tf.sigmoid)])
    assert not model.built
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01),
                  loss=keras.losses.BinaryCrossentropy(), metrics=[keras.metrics.BinaryAccuracy()])
    history = model.fit(inputs[:500], targets[:500], epochs=5, batch_size=16,
                        validation_data=(inputs[500:], targets[500:]), verbose=0)
    assert model.built and len(model.trainable_weights) == 4
    assert list(history.history) == ["binary_accuracy", "loss", "val_binary_accuracy", "val_loss"]
    assert history.history["val_binary_accuracy"][-1] > 0.9
    assert history.history["loss"][-1] < history.history["loss"][0]


def _fashion_mlp() -> keras.Sequential:
    model = keras.models.Sequential()
    model.add(keras.layers.Flatten(input_shape=[28, 28]))
    model.add(keras.layers.Dense(300, activation="relu"))
    model.add(keras.layers.Dense(100, activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    return model


def test_fashion_mlp_listing_behaviour_on_small_data(capsys):
    keras.backend.clear_session()
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (300, 28, 28)).astype("uint8")
    labels = rng.integers(0, 10, 300).astype("uint8")
    x_valid, x_train = images[:50] / 255.0, images[50:] / 255.0  # float64, as the tutorial makes it
    y_valid, y_train = labels[:50], labels[50:]
    model = _fashion_mlp()
    model.summary()
    text = capsys.readouterr().out
    for row in ("flatten (Flatten)", "(None, 784)", "235,500", "30,100", "1,010",
                " Total params: 266,610 (1.02 MB)"):
        assert row in text
    hidden1 = model.layers[1]
    assert hidden1.name == "dense" and model.get_layer("dense") is hidden1
    weights, biases = hidden1.get_weights()
    assert weights.shape == (784, 300) and biases.shape == (300,) and not biases.any()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=2, validation_data=(x_valid, y_valid), verbose=0)
    assert history.params == {"verbose": 0, "epochs": 2, "steps": 8}
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    loss, acc = model.evaluate(x_valid, y_valid, verbose=0)
    last = [history.history["val_loss"][-1], history.history["val_accuracy"][-1]]
    np.testing.assert_allclose([loss, acc], last, rtol=1e-5)
    y_proba = model.predict(x_valid[:3], verbose=0)
    assert y_proba.shape == (3, 10) and y_proba.round(2).dtype == np.float32
    np.testing.assert_allclose(y_proba.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
def test_fashion_mnist_mlp_reaches_84_percent(fashion_mnist_dir):
    os.environ["TAPEFLOW_DATA_DIR"] = str(fashion_mnist_dir)
    (x_full, y_full), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    x_valid, x_train = x_full[:5000] / 255.0, x_full[5000:] / 255.0
    y_valid, y_train = y_full[:5000], y_full[5000:]
    keras.utils.set_random_seed(42)
    model = _fashion_mlp()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, validation_data=(x_valid, y_valid), verbose=0)
    assert len(history.history["val_accuracy"]) == 5
    _, test_accuracy = model.evaluate(x_test / 255.0, y_test, verbose=0)
    assert test_accuracy >= 0.84, test_accuracy

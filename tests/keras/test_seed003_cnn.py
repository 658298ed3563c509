"""The seed-003 MNIST CNN written with Keras layers reaches the tutorial's accuracy and beyond."""

from __future__ import annotations

import time

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers


def seed003_cnn() -> keras.Model:
    """conv 5x5x32 same relu, max-pool 2, conv 5x5x64 same relu, max-pool 2, dense 1024 relu,
    dropout 0.5, dense 10 (logits)."""
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 5, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 5, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(1024, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10),
    ])


def test_architecture_matches_the_tutorial() -> None:
    model = seed003_cnn()
    shapes = [tuple(layer.output.shape) for layer in model.layers]
    assert shapes == [(None, 28, 28, 32), (None, 14, 14, 32), (None, 14, 14, 64), (None, 7, 7, 64),
                      (None, 3136), (None, 1024), (None, 1024), (None, 10)]
    assert model.count_params() == 832 + 51_264 + 3_212_288 + 10_250


@pytest.mark.slow
def test_seed003_cnn_reaches_97_8_percent_after_two_epochs(mnist_dir) -> None:
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = (x_train.astype(np.float32) / 255.0)[..., None]
    x_test = (x_test.astype(np.float32) / 255.0)[..., None]
    keras.utils.set_random_seed(3)
    model = seed003_cnn()
    model.compile(optimizer=keras.optimizers.Adam(1e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=100, epochs=2, verbose=0)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    print(f"seed-003 CNN: 2 epochs in {seconds:.0f} s, test accuracy {accuracy:.4f}")
    assert accuracy >= 0.978
    assert tf.reduce_all(tf.math.is_finite(model.layers[0].kernel)).numpy()

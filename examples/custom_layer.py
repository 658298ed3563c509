"""A custom Layer subclass (build creates weights, call computes) used in a Sequential model."""

import numpy as np
from _common import parse_args

import tapeflow as tf
from tapeflow import keras


class SimpleDense(keras.layers.Layer):
    def __init__(self, units: int, activation=None) -> None:
        super().__init__()
        self.units = units
        self.activation = activation

    def build(self, input_shape) -> None:
        input_dim = input_shape[-1]
        self.W = self.add_weight(shape=(input_dim, self.units), initializer="random_normal")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        y = tf.matmul(inputs, self.W) + self.b
        return self.activation(y) if self.activation is not None else y


args = parse_args(__doc__)
tf.keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
n = 1000 if args.quick else 4000
# Two Gaussian clouds: a binary classification problem.
negatives = rng.multivariate_normal([0, 3], [[1, 0.5], [0.5, 1]], n // 2)
positives = rng.multivariate_normal([3, 0], [[1, 0.5], [0.5, 1]], n // 2)
inputs = np.vstack([negatives, positives]).astype("float32")
targets = np.vstack([np.zeros((n // 2, 1)), np.ones((n // 2, 1))]).astype("float32")
order = rng.permutation(n)
inputs, targets = inputs[order], targets[order]

layer = SimpleDense(units=32, activation=tf.nn.relu)
print("output shape of one call:", layer(tf.ones(shape=(2, 784))).shape)

model = keras.Sequential([SimpleDense(32, activation=tf.nn.relu), SimpleDense(1, activation=tf.sigmoid)])
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-2),
              loss=keras.losses.BinaryCrossentropy(), metrics=[keras.metrics.BinaryAccuracy()])
split = int(0.7 * n)
history = model.fit(inputs[:split], targets[:split], epochs=3 if args.quick else 5, batch_size=16,
                    validation_data=(inputs[split:], targets[split:]))
print({k: round(v[-1], 4) for k, v in history.history.items()})

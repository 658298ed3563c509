"""A two-layer network written from scratch: Variables, GradientTape and a manual SGD update."""

import math

from _common import mnist, parse_args

import tapeflow as tf


class NaiveDense:
    def __init__(self, input_size: int, output_size: int, activation) -> None:
        self.activation = activation
        # Centred weights: all-positive ones (uniform in [0, 0.1]) saturate the softmax, and the
        # network then learns only from the 60,000-image MNIST, not from the shipped subset.
        self.W = tf.Variable(tf.random.uniform((input_size, output_size), minval=-0.05, maxval=0.05))
        self.b = tf.Variable(tf.zeros((output_size,)))

    def __call__(self, inputs):
        return self.activation(tf.matmul(inputs, self.W) + self.b)

    @property
    def weights(self) -> list:
        return [self.W, self.b]


class NaiveSequential:
    def __init__(self, layers: list) -> None:
        self.layers = layers

    def __call__(self, inputs):
        for layer in self.layers:
            inputs = layer(inputs)
        return inputs

    @property
    def weights(self) -> list:
        return [w for layer in self.layers for w in layer.weights]


def train_step(model, images, labels, learning_rate: float):
    with tf.GradientTape() as tape:
        probs = model(images)
        loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(labels, probs))
    for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
        w.assign_sub(g * learning_rate)
    return loss


args = parse_args(__doc__)
tf.random.set_seed(0)
(x_train, y_train), (x_test, y_test) = mnist(args.quick)
x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
model = NaiveSequential([NaiveDense(784, 512, tf.nn.relu), NaiveDense(512, 10, tf.nn.softmax)])
batch = 128
learning_rate = 0.1
for epoch in range(2 if args.quick else 10):
    for i in range(math.ceil(len(x_train) / batch)):
        loss = train_step(
            model, x_train[i * batch : (i + 1) * batch], y_train[i * batch : (i + 1) * batch], learning_rate
        )
    print(f"epoch {epoch}: last batch loss {loss:.3f}")
accuracy = (model(x_test).numpy().argmax(axis=1) == y_test).mean()
print(f"test accuracy: {accuracy:.2%}" + (" (--quick: a short run; try without it)" if args.quick else ""))

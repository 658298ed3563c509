"""The tf.Module part of the TF guide "Basic training loops", with only the import changed
(plots left out)."""

from __future__ import annotations

import tapeflow as tf

TRUE_W = 3.0
TRUE_B = 2.0
NUM_EXAMPLES = 201


class MyModel(tf.Module):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.w = tf.Variable(5.0)
        self.b = tf.Variable(0.0)

    def __call__(self, x):
        return self.w * x + self.b


def loss(target_y, predicted_y):
    return tf.reduce_mean(tf.square(target_y - predicted_y))


def train(model, x, y, learning_rate):
    with tf.GradientTape() as t:
        current_loss = loss(y, model(x))
    dw, db = t.gradient(current_loss, [model.w, model.b])
    model.w.assign_sub(learning_rate * dw)
    model.b.assign_sub(learning_rate * db)


def test_module_variables(capsys):
    model = MyModel()
    print("Variables:", model.variables)
    assert model(3.0).numpy() == 15.0
    assert capsys.readouterr().out == (
        "Variables: (<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=0.0>, "
        "<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=5.0>)\n")


def test_basic_training_loop():
    tf.random.set_seed(0)
    x = tf.linspace(-2, 2, NUM_EXAMPLES)
    x = tf.cast(x, tf.float32)

    def f(x):
        return x * TRUE_W + TRUE_B

    noise = tf.random.normal(shape=[NUM_EXAMPLES])
    y = f(x) + noise

    model = MyModel()
    losses = [float(loss(y, model(x)))]
    for _ in range(10):
        train(model, x, y, learning_rate=0.1)
        losses.append(float(loss(y, model(x))))
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))
    assert abs(float(model.w.numpy()) - TRUE_W) < 0.5 and abs(float(model.b.numpy()) - TRUE_B) < 0.5

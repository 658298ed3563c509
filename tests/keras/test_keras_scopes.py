"""keras.RematScope / StatelessScope / SymbolicScope."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


class Counting(keras.layers.Layer):
    calls = 0

    def build(self, shape):
        self.w = self.add_weight(shape=(shape[-1], 2))

    def call(self, x):
        Counting.calls += 1
        return tf.tanh(tf.matmul(x, self.w))


@pytest.mark.parametrize("mode, names, recomputed", [("full", None, True), ("list_of_layers", ["other"], False),
                                                     ("list_of_layers", ["counting"], True), (None, None, False)])
def test_remat_scope_recomputes_with_the_same_gradients(mode, names, recomputed) -> None:
    keras.backend.clear_session()
    with keras.RematScope(mode=mode, layer_names=names):
        layer = Counting(name="counting")
    x = tf.constant(np.random.default_rng(0).standard_normal((3, 4)).astype("float32"))
    layer(x)
    reference = keras.layers.Dense(2, use_bias=False, activation="tanh")
    reference.build((None, 4))
    reference.kernel.assign(layer.w.numpy())
    Counting.calls = 0
    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(layer(x) ** 2)
        y_ref = tf.reduce_sum(reference(x) ** 2)
    grad = tape.gradient(y, layer.w)
    assert Counting.calls == (2 if recomputed else 1)
    np.testing.assert_allclose(grad.numpy(), tape.gradient(y_ref, reference.kernel).numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="Invalid mode"):
        keras.RematScope(mode="some")


def test_remat_larger_than_and_activations() -> None:
    with keras.RematScope(mode="larger_than", output_size_threshold=10):
        small, large = keras.layers.Dense(2), keras.layers.Dense(20)
    with keras.RematScope(mode="activations"):
        activated = keras.layers.Dense(3, activation="relu")
    from tapeflow.keras.core_api import rematerialized

    x = tf.ones((1, 4))
    for layer in (small, large, activated):
        layer.build((None, 4))
    assert rematerialized(small, small.call, (x,)) == small.call
    assert rematerialized(large, large.call, (x,)) != large.call
    np.testing.assert_allclose(activated(x).numpy(), tf.nn.relu(tf.matmul(x, activated.kernel)).numpy())


def test_stateless_scope_reads_mapping_and_keeps_variables() -> None:
    dense = keras.layers.Dense(2)
    dense.build((None, 3))
    norm = keras.layers.BatchNormalization()
    norm.build((None, 2))
    kernel, moving = dense.kernel.numpy().copy(), norm.moving_mean.numpy().copy()
    x = np.ones((4, 3), "float32")
    with keras.StatelessScope(state_mapping=[(dense.kernel, np.ones((3, 2), "float32")),
                                             (norm.moving_mean, np.zeros(2, "float32"))]) as scope:
        out = dense(x)
        norm(out, training=True)
        dense.bias.assign([5.0, 5.0])
        np.testing.assert_allclose(out.numpy(), 3.0)
        np.testing.assert_allclose(dense.bias.numpy(), 5.0)  # reads inside see the scope's updates
    np.testing.assert_array_equal(dense.kernel.numpy(), kernel)
    np.testing.assert_array_equal(norm.moving_mean.numpy(), moving)
    np.testing.assert_array_equal(dense.bias.numpy(), 0.0)
    np.testing.assert_allclose(scope.get_current_value(norm.moving_mean).numpy(), 0.03, rtol=1e-5)
    np.testing.assert_allclose(scope.get_current_value(dense.bias).numpy(), 5.0)
    with pytest.raises(ValueError, match="shape that matches"):
        keras.StatelessScope(state_mapping=[(dense.kernel, np.zeros(3))])
    with pytest.raises(ValueError, match="initialize_variables=False"):
        keras.StatelessScope(initialize_variables=False)


def test_stateless_scope_collects_losses_and_symbolic_scope() -> None:
    layer = keras.layers.Dense(2, activity_regularizer="l2")
    with keras.StatelessScope(collect_losses=True) as scope:
        layer(np.ones((1, 3), "float32"))
    assert len(scope.losses) == 1 and layer.losses == []
    from tapeflow.keras.core_api import in_symbolic_scope

    with keras.SymbolicScope():
        assert in_symbolic_scope()
    assert not in_symbolic_scope()

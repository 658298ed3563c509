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
    with keras.StatelessScope(initialize_variables=False):  # variables are ready when created
        made = keras.Variable(initializer="ones", shape=(2,))
    np.testing.assert_array_equal(made.numpy(), 1.0)


def _value(v):
    out = v.value  # Keras 3's property; also callable as TF's v.value()
    np.testing.assert_array_equal(v.value().numpy(), out.numpy())
    return out.numpy().tolist()


def test_stateless_scope_in_place_updates_of_unmapped_state() -> None:
    """Metric updates, optimizer steps and seed draws change in-place state; inside a scope they
    change its copies only (Keras 3 routes every variable update to the scope)."""
    mean = keras.metrics.Mean()
    mean.update_state([1.0, 3.0])
    with keras.StatelessScope() as scope:
        mean.update_state([10.0, 20.0])
        assert float(mean.result()) == 8.5
    assert float(mean.result()) == 2.0
    assert [float(scope.get_current_value(v)) for v in mean.variables] == [34.0, 4.0]
    var = keras.Variable(np.array([1.0, 1.0], "float32"), name="d")
    opt = keras.optimizers.SGD(0.1)
    opt.build([var])
    with keras.StatelessScope() as scope:
        opt.apply([np.array([1.0, 2.0], "float32")], [var])
        np.testing.assert_allclose(_value(var), [0.9, 0.8])
        assert int(_value(opt.iterations)) == 1
    assert _value(var) == [1.0, 1.0] and int(_value(opt.iterations)) == 0
    np.testing.assert_allclose(scope.get_current_value(var).numpy(), [0.9, 0.8])
    gen = keras.random.SeedGenerator(3)
    before = gen.state.numpy().copy()
    with keras.StatelessScope() as scope:
        gen.next()
    np.testing.assert_array_equal(gen.state.numpy(), before)
    assert scope.get_current_value(gen.state).numpy()[1] == before[1] + 1


def test_stateless_scope_nesting_and_add_update() -> None:
    v = keras.Variable(np.array([1.0], "float32"))
    with keras.StatelessScope([(v, np.array([10.0], "float32"))]) as outer:
        with keras.StatelessScope() as inner:
            assert _value(v) == [1.0]  # only the innermost scope is consulted
            v.assign([3.0])
            assert _value(v) == [3.0]
        assert _value(v) == [10.0]  # the inner scope's update stays there
    assert _value(v) == [1.0]
    assert outer.get_current_value(v).numpy().tolist() == [10.0]
    assert inner.get_current_value(v).numpy().tolist() == [3.0]
    with keras.StatelessScope() as scope:
        scope.add_update((v, np.array([4.0], "float32")))
        assert _value(v) == [4.0]
    assert _value(v) == [1.0] and scope.get_current_value(v).numpy().tolist() == [4.0]


def test_keras_variable_constructor() -> None:
    v = keras.Variable(initializer="ones", shape=(2, 3), dtype="float32", trainable=False, name="v")
    assert v.shape == (2, 3) and not v.trainable and v.numpy().sum() == 6.0
    assert keras.Variable(keras.initializers.Constant(2.0), shape=(2,)).numpy().tolist() == [2.0, 2.0]
    assert keras.Variable(np.array([1, 2])).dtype == "int64"
    with pytest.raises(ValueError, match="`shape` argument should be specified"):
        keras.Variable(initializer="ones")
    dense = keras.layers.Dense(2)
    dense.build((None, 3))
    assert isinstance(dense.kernel, keras.Variable) and isinstance(v, tf.Variable)
    with keras.StatelessScope([(k, k.value) for k in dense.weights]):  # Keras 3's idiom
        pass


@pytest.mark.oracle
def test_stateless_scope_matches_keras() -> None:
    pytest.importorskip("tensorflow")
    K = pytest.importorskip("keras", minversion="3")

    def run(k):
        k.utils.set_random_seed(0)
        m = k.Sequential([k.Input((3,)), k.layers.Dense(3, kernel_initializer="ones"), k.layers.BatchNormalization()])
        bn = m.layers[1]
        x = np.arange(12, dtype="float32").reshape(4, 3)
        acc = k.metrics.SparseCategoricalAccuracy()
        with k.StatelessScope([(w, w.value) for w in m.trainable_weights]) as s:
            y = m(x, training=True)
            acc.update_state([0, 1, 2, 0], y)
        return (np.asarray(bn.moving_mean.numpy()), np.asarray(s.get_current_value(bn.moving_mean)),
                np.asarray(s.get_current_value(bn.moving_variance)), float(acc.result()),
                [float(np.asarray(s.get_current_value(v))) for v in acc.variables])

    ours, theirs = run(keras), run(K)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_stateless_scope_collects_losses_and_symbolic_scope() -> None:
    layer = keras.layers.Dense(2, activity_regularizer="l2")
    with keras.StatelessScope(collect_losses=True) as scope:
        layer(np.ones((1, 3), "float32"))
    assert len(scope.losses) == 1 and layer.losses == []
    from tapeflow.keras.core_api import in_symbolic_scope

    with keras.SymbolicScope():
        assert in_symbolic_scope()
    assert not in_symbolic_scope()


def test_keras_variable_autocast_under_mixed_precision() -> None:
    class Scaled(keras.layers.Layer):
        def __init__(self):
            super().__init__(dtype="mixed_float16")
            self.v = keras.Variable(np.full((3,), 2.0, "float32"), name="v")
            self.w = keras.Variable(np.ones((3,), "float32"), name="w", autocast=False)
            self.seen = None

        def call(self, x):
            self.seen = (self.v.dtype, self.w.dtype)
            return x * self.v

    layer = Scaled()
    y = layer(np.ones((2, 3), "float32"))
    assert layer.seen == (tf.float16, tf.float32)  # as Keras: autocast variables read in float16
    assert y.dtype == tf.float16 and layer.v.dtype == tf.float32

"""tf.gradients / tf.hessians inside tf.function (trace-time symbolic gradients), in compat.v1
graphs, and their eager refusal; oracle checks against TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf


def _fn(mod):
    v = mod.Variable([[1.0, 2.0], [3.0, -4.0]], dtype=mod.float64)

    @mod.function
    def f(x):
        y = mod.reduce_sum(mod.tanh(mod.matmul(x, v)) * x ** 2)
        z = mod.nn.softmax(mod.sin(x) * 3.0)
        grads = mod.gradients([y, z], [x, v], unconnected_gradients="zero")
        scaled = mod.gradients(z, x, grad_ys=mod.ones_like(z) * 2.0)
        return grads, scaled, mod.hessians(y, x), mod.gradients(y, mod.constant(1.0, mod.float64),
                                                                 unconnected_gradients="zero")

    return f


@pytest.mark.oracle
def test_gradients_and_hessians_match_tensorflow():
    real = pytest.importorskip("tensorflow")
    x = np.array([[0.3, -0.7]])
    ours = _fn(tf)(tf.constant(x))
    theirs = _fn(real)(real.constant(x))
    flat_ours, flat_theirs = tf.nest.flatten(ours), real.nest.flatten(theirs)
    assert len(flat_ours) == len(flat_theirs)
    for o, t in zip(flat_ours, flat_theirs, strict=True):
        assert tuple(o.shape) == tuple(t.shape)
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-10, atol=1e-12)


def test_hessian_is_the_tape_hessian_and_none_for_unconnected():
    x0 = tf.constant([0.5, -1.0, 2.0], tf.float64)

    @tf.function
    def f(x, other):
        y = tf.reduce_sum(tf.exp(x) * tf.reduce_sum(x ** 2))
        return tf.hessians(y, [x, other])

    h, unconnected = f(x0, tf.constant(1.0, tf.float64))
    with tf.GradientTape() as outer:
        outer.watch(x0)
        with tf.GradientTape() as inner:
            inner.watch(x0)
            y = tf.reduce_sum(tf.exp(x0) * tf.reduce_sum(x0 ** 2))
        g = inner.gradient(y, x0)
    expected = outer.jacobian(g, x0)
    np.testing.assert_allclose(h.numpy(), expected.numpy(), rtol=1e-12)
    assert unconnected is None


def test_eager_refusal_and_v1_graphs():
    with pytest.raises(RuntimeError, match="Use tf.GradientTape"):
        tf.gradients(tf.constant(1.0), tf.constant(2.0))
    with pytest.raises(RuntimeError, match="Use tf.GradientTape"):
        tf.hessians(tf.constant(1.0), tf.constant(2.0))
    graph = tf.compat.v1.Graph()
    with graph.as_default():
        p = tf.compat.v1.placeholder(tf.float32, [2])
        (g,) = tf.compat.v1.gradients(tf.reduce_sum(p ** 2), [p])
        with tf.compat.v1.Session() as sess:
            assert sess.run(g, {p: [1.0, 3.0]}).tolist() == [2.0, 6.0]

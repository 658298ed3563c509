"""tf.autodiff.ForwardAccumulator: Jacobian-vector products, checked against finite differences and TF."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf


def _programs(tf_mod):
    """JVPs computed the same way by Tapeflow and TensorFlow (the TF API doc's examples and more)."""
    out = {}
    v = tf_mod.Variable([1.0, 2.0])
    with tf_mod.autodiff.ForwardAccumulator(v, tf_mod.constant([1.0, 0.0])) as acc:
        with tf_mod.GradientTape() as tape:
            y = tf_mod.reduce_sum(v ** 3.0)
        backward = tape.gradient(y, v)
    out["hvp"] = acc.jvp(backward).numpy()

    x = tf_mod.constant([[2.0, 3.0], [1.0, 4.0]])
    targets = tf_mod.constant([[1.0], [-1.0]])
    kernel = tf_mod.Variable([[0.5], [-0.25]])
    with tf_mod.autodiff.ForwardAccumulator(primals=kernel, tangents=tf_mod.constant([[1.0], [0.0]])) as acc:
        loss = tf_mod.reduce_sum((tf_mod.matmul(x, kernel) - targets) ** 2.0)
    out["dense_loss"] = acc.jvp(loss).numpy()

    a = tf_mod.constant([[0.3, -1.2, 2.0]])
    b = tf_mod.constant([1.5, 0.5, -0.5])
    with tf_mod.autodiff.ForwardAccumulator((a, b), (tf_mod.ones_like(a), tf_mod.constant([0.1, 0.2, 0.3]))) as acc:
        s = tf_mod.nn.softmax(a * b)
        t = tf_mod.tanh(a) + tf_mod.exp(b)
        unrelated = tf_mod.constant(5.0)
    out["softmax"] = acc.jvp(s).numpy()
    out["pair"] = [r.numpy() for r in acc.jvp([t, a])]
    out["none"] = acc.jvp(unrelated)
    out["zero"] = acc.jvp(unrelated, unconnected_gradients="zero").numpy()
    return out


def test_jvp_matches_finite_differences():
    x = np.array([0.4, -1.3, 2.2])
    t = np.array([0.7, 0.1, -0.5])

    def f(arr):
        return np.sin(arr) * np.exp(arr / 3) + arr ** 2

    xt = tf.constant(x, dtype=tf.float64)
    with tf.autodiff.ForwardAccumulator(xt, tf.constant(t)) as acc:
        y = tf.sin(xt) * tf.exp(xt / 3) + xt ** 2
    eps = 1e-6
    np.testing.assert_allclose(acc.jvp(y).numpy(), (f(x + eps * t) - f(x - eps * t)) / (2 * eps), rtol=1e-6)
    assert acc.jvp(xt) is not None and acc.jvp(xt).numpy().tolist() == t.tolist()  # a primal's JVP: its tangent


def test_guarded_inputs():
    x = tf.constant([1.0, 2.0])
    with pytest.raises(ValueError, match="same structure"):
        tf.autodiff.ForwardAccumulator([x, x], [x])
    with pytest.raises(ValueError, match="does not match primal shape"):
        tf.autodiff.ForwardAccumulator(x, tf.constant([1.0]))
    with pytest.raises(ValueError, match="floating point"):
        tf.autodiff.ForwardAccumulator(tf.constant([1, 2]), tf.constant([1, 2]))


@pytest.mark.oracle
def test_matches_tensorflow():
    real = pytest.importorskip("tensorflow")
    ours, theirs = _programs(tf), _programs(real)
    assert ours["none"] is None and theirs["none"] is None
    for key in ("hvp", "dense_loss", "softmax", "zero"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, atol=1e-6, err_msg=key)
    for a, b in zip(ours["pair"], theirs["pair"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)

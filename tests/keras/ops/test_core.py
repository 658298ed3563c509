"""keras.ops core functions: control flow, custom gradients, conversion and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import ops


def test_cond_switch_and_loops():
    assert ops.cond(tf.constant(True), lambda: 1, lambda: 2) == 1
    assert ops.cond(False, lambda: 1, lambda: 2) == 2
    assert ops.switch(5, [lambda x: x + 1, lambda x: x - 1], 5) == 4  # clamped to the last branch
    assert ops.fori_loop(0, 4, lambda i, v: v + i, 0) == 6
    i, total = ops.while_loop(lambda i, t: i < 3, lambda i, t: (i + 1, t + i), (0, 10))
    assert (i, total) == (3, 13)
    assert ops.while_loop(lambda i: i < 10, lambda i: i + 1, 0, maximum_iterations=4) == 4
    single = ops.while_loop(lambda x: ops.sum(x) < 10.0, lambda x: x * 2, ops.ones(2))
    np.testing.assert_allclose(single.numpy(), [8.0, 8.0])


def test_scan_map_and_associative_scan():
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), 0.0, ops.arange(4, dtype="float32"))
    assert float(carry) == 6.0
    np.testing.assert_allclose(ys.numpy(), [0.0, 0.0, 2.0, 9.0])
    carry, ys = ops.scan(lambda c, x: (c + x, c), 0.0, ops.arange(3, dtype="float32"), reverse=True)
    np.testing.assert_allclose(ys.numpy(), [3.0, 2.0, 0.0])
    carry, ys = ops.scan(lambda c, _: (c + 1, None), 0, length=3)
    assert carry == 3 and ys is None
    np.testing.assert_allclose(ops.map(lambda x: x * 2, ops.arange(3)).numpy(), [0, 2, 4])
    out = ops.map(lambda x: {"a": x, "b": x + 1}, ops.arange(2))
    np.testing.assert_allclose(out["b"].numpy(), [1, 2])
    np.testing.assert_allclose(ops.associative_scan(lambda a, b: a + b, ops.arange(5)).numpy(),
                               np.cumsum(np.arange(5)))
    np.testing.assert_allclose(
        ops.associative_scan(lambda a, b: a * b, ops.arange(1, 5), reverse=True).numpy(), [24, 24, 12, 4])
    np.testing.assert_allclose(ops.vectorized_map(lambda x: x * x, ops.arange(3)).numpy(), [0, 1, 4])


def test_vectorize_with_and_without_signature():
    f = ops.vectorize(lambda a, b: a + b)
    np.testing.assert_allclose(f(np.arange(3.0), np.ones((2, 1))).numpy(), np.arange(3.0) + np.ones((2, 1)))
    dot = ops.vectorize(lambda a, b: ops.sum(a * b), signature="(n),(n)->()")
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(dot(x, x).numpy(), (x * x).sum(-1))


def test_rearrange():
    x = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(ops.rearrange(x, "a b c -> c (a b)").numpy(),
                                  x.transpose(2, 0, 1).reshape(4, 6))
    np.testing.assert_array_equal(ops.rearrange(x, "a (h w) c -> a h w c", h=3).numpy(),
                                  x.reshape(2, 3, 1, 4))
    with pytest.raises(ValueError, match="same axes"):
        ops.rearrange(x, "a b c -> a b")


def test_gradients_flow_through_control_flow_and_slices():
    x = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        y = ops.fori_loop(0, 3, lambda i, v: v * x, ops.ones(3))
        z = ops.sum(ops.slice_update(y, [1], ops.zeros(1))) + ops.sum(ops.scatter([[0]], x[:1], (2,)))
    np.testing.assert_allclose(tape.gradient(z, x).numpy(), [3 * 1.0 + 1.0, 0.0, 27.0])


def test_custom_gradient():
    @ops.custom_gradient
    def log1pexp(x):
        e = ops.exp(x)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))

        return ops.log(1 + e), grad

    x = tf.constant(10.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = log1pexp(x)
    assert float(tape.gradient(y, x)) == pytest.approx(1.0 - 1.0 / (1.0 + np.exp(10.0)), rel=1e-5)


def test_stop_gradient_and_errors_name_the_op():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = ops.stop_gradient(x) * x
    assert float(tape.gradient(y, x)) == 2.0
    with pytest.raises(ValueError, match="sparse"):
        ops.convert_to_tensor([1], sparse=True)
    with pytest.raises(ValueError, match="qr: mode"):
        ops.qr(np.eye(2), mode="r")
    with pytest.raises(ValueError, match="split"):
        ops.split(np.arange(5), 2)
    with pytest.raises(ValueError, match="bincount"):
        ops.bincount(np.array([1]), sparse=True)
    with pytest.raises(ValueError, match="flash_attention"):
        ops.dot_product_attention(np.ones((1, 2, 1, 2)), np.ones((1, 2, 1, 2)), np.ones((1, 2, 1, 2)),
                                  flash_attention=True)


def test_tapeflow_keras_exposes_ops_and_random():
    from tapeflow import keras

    assert keras.ops is ops
    assert keras.ops.numpy.add is ops.add and keras.ops.nn.relu is ops.relu
    assert callable(keras.random.normal)


def test_ops_trace_inside_tf_function():
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(3, 4)).astype("float32"))
    idx = tf.constant(np.array([[0, 1], [2, 0], [1, 1]]))

    def body(x, idx):
        y = ops.add(ops.take_along_axis(x, idx, axis=1), 1.0)
        q = ops.quantile(x, 0.25, axis=1)
        s = ops.scatter(ops.expand_dims(idx[:, 0], -1), ops.sum(y, axis=1), (3,))
        order = ops.argsort(x, axis=1)
        pos = ops.searchsorted(ops.sort(ops.ravel(x)), x[0])
        return y, q, s, order, pos, ops.cond(ops.sum(x) > 0, lambda: ops.max(x), lambda: ops.min(x))

    eager = body(x, idx)
    traced = tf.function(body)(x, idx)
    for a, b in zip(traced, eager, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_ops_build_functional_models_on_keras_inputs():
    from tapeflow import keras

    rng = np.random.default_rng(1)
    w = rng.normal(size=(4, 3)).astype("float32")
    inp = keras.Input((4,))
    h = ops.relu(ops.add(ops.matmul(inp, w), 0.5))
    h = ops.concatenate([h, ops.softmax(inp)], axis=-1)
    h = ops.where(ops.greater(h, 0.2), h, ops.reciprocal(ops.add(h, 2.0)))
    out = ops.nn.layer_normalization(ops.clip(h, -1.0, 1.0))
    model = keras.Model(inp, out)
    x = rng.normal(size=(5, 4)).astype("float32")
    want = ops.relu(ops.add(ops.matmul(x, w), 0.5))
    want = ops.concatenate([want, ops.softmax(x)], axis=-1)
    want = ops.where(ops.greater(want, 0.2), want, ops.reciprocal(ops.add(want, 2.0)))
    want = ops.nn.layer_normalization(ops.clip(want, -1.0, 1.0))
    np.testing.assert_allclose(model(x).numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    images = keras.Input((6, 6, 3))
    resized = keras.Model(images, ops.image.resize(images, (3, 4)))
    batch = rng.random((2, 6, 6, 3)).astype("float32")
    np.testing.assert_allclose(resized(batch).numpy(), ops.image.resize(batch, (3, 4)).numpy(), rtol=1e-6)


def test_value_reading_ops_are_lifted_inside_tf_function():
    v = tf.Variable(np.arange(6.0, dtype="float32").reshape(3, 2))

    def body(ids):
        with tf.GradientTape() as tape:
            y = ops.segment_max(v, ids, num_segments=2) + ops.take_along_axis(
                v, tf.constant([[1], [0], [1]]), axis=1)[:2]
            loss = ops.sum(y * y) + ops.sum(ops.median(v, axis=0))
        return loss, tape.gradient(loss, v), ops.unique(ids), ops.bincount(ids)

    ids = tf.constant([0, 1, 0])
    for a, b in zip(tf.function(body)(ids), body(ids), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_svd_vector_gradients_need_thin_factors():
    a = tf.constant(np.random.default_rng(2).normal(size=(4, 3)))
    with tf.GradientTape() as tape:
        tape.watch(a)
        u, s, vh = ops.svd(a, full_matrices=True)
        loss = ops.sum(u)
    with pytest.raises(ValueError, match="full_matrices=False"):
        tape.gradient(loss, a)

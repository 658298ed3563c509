"""The optimisation passes over traced graphs (tracing/passes.py): each rewrite fires where its
pattern holds, and the optimised function computes what the eager code computes, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf

RNG = np.random.default_rng(0)
X = tf.constant(RNG.normal(size=(5, 4)).astype("float32"))
W = tf.Variable(RNG.normal(size=(4, 3)).astype("float32"))
B = tf.Variable(RNG.normal(size=(3,)).astype("float32"))


def _check(fn, fused):
    """fn traced and eager agree bit for bit, and the fusion pass rewrote `fused` nodes."""
    traced = tf.function(fn)
    for a, b in zip(tf.nest.flatten(fn()), tf.nest.flatten(traced()), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert traced.get_concrete_function().optimizations["fuse_bias_activation"] == fused
    return traced


@pytest.mark.parametrize("act", [None, tf.nn.relu, tf.nn.tanh, tf.nn.sigmoid])
def test_matmul_bias_activation_fuse(act):
    def fn():
        z = tf.matmul(X, W) + B
        return z if act is None else act(z)

    _check(fn, 1)


def test_bias_first_and_training_step_gradients():
    def step():
        with tf.GradientTape() as tape:
            h = tf.nn.relu(B + tf.matmul(X, W))
            loss = tf.reduce_sum(h * h)
        return tape.gradient(loss, [W, B])

    _check(step, 1)


@pytest.mark.parametrize("case", ["product read twice", "sum read twice", "transposed", "2-D bias",
                                  "sum returned"])
def test_no_fusion_outside_the_pattern(case):
    def fn():
        if case == "transposed":
            return tf.nn.relu(tf.matmul(X, tf.transpose(W), transpose_b=True) + B)
        if case == "2-D bias":
            return tf.nn.relu(tf.matmul(X, W) + tf.reshape(B, (1, 3)))
        m = tf.matmul(X, W)
        z = m + B
        if case == "product read twice":
            return tf.nn.relu(z) + m
        if case == "sum read twice":
            return tf.nn.relu(z) * z
        return tf.nn.relu(z), z

    # A sum read besides the activation is still the fused product + bias, without activation.
    _check(fn, 1 if case in ("sum read twice", "sum returned") else 0)


def test_fused_function_differentiates_through_a_recording_tape():
    traced = _check(lambda: tf.nn.relu(tf.matmul(X, W) + B), 1)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.reduce_sum(traced() ** 2)
        g = inner.gradient(y, W)
        gg = tf.reduce_sum(g * g)
    second = outer.gradient(gg, W)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.reduce_sum(tf.nn.relu(tf.matmul(X, W) + B) ** 2)
        g2 = inner.gradient(y, W)
        gg2 = tf.reduce_sum(g2 * g2)
    np.testing.assert_allclose(g.numpy(), g2.numpy(), rtol=1e-6)
    np.testing.assert_allclose(second.numpy(), outer.gradient(gg2, W).numpy(), rtol=1e-5)


@pytest.mark.parametrize("act", ["sigmoid"])
def test_keras_dense_activation_joins_the_dense_primitive(act):
    """Keras's Dense keeps a sigmoid apart (for the logits); a graph that never reads the logits
    fuses it into the Dense primitive, with the same values and gradients."""
    from tapeflow import keras

    layer = keras.layers.Dense(3, activation=act)
    layer.build((None, 4))

    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(layer(X)))
        return loss, tape.gradient(loss, layer.trainable_variables)

    traced = tf.function(step)
    for a, b in zip(tf.nest.flatten(step()), tf.nest.flatten(traced()), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert traced.get_concrete_function().optimizations["fuse_bias_activation"] >= 1


def _array_program(traced, *args):
    return traced.get_concrete_function(*args)._arrays


@pytest.fixture
def reuse_small_buffers(monkeypatch):
    """Small test shapes: let the reuse pass hand on buffers of any size."""
    from tapeflow.tracing import passes

    monkeypatch.setattr(passes, "REUSE_MIN_ELEMENTS", 1)


def test_buffer_reuse_fires_in_a_training_step_and_changes_no_value(reuse_small_buffers):
    """A traced MLP step hands dead intermediates on; its results equal the eager step's and
    the step replayed node by node (no reuse), bit for bit, over several calls."""
    w1 = tf.Variable(RNG.normal(size=(4, 8)).astype("float32"))
    w2 = tf.Variable(RNG.normal(size=(8, 2)).astype("float32"))
    x = RNG.normal(size=(6, 4)).astype("float32")
    y = RNG.normal(size=(6, 2)).astype("float32")
    x_before = x.copy()

    def step(x, y):
        with tf.GradientTape() as tape:
            h = tf.nn.sigmoid(tf.matmul(x, w1))
            d = tf.matmul(h, w2) - y
            loss = tf.reduce_mean(d * d) + tf.reduce_mean(tf.exp(-h))
        g1, g2 = tape.gradient(loss, [w1, w2])
        return loss, g1 * 2.0, g2 - 1.0

    traced = tf.function(step)
    program = _array_program(traced, x, y)
    assert program.reused_buffers >= 3, program.source
    eager = [t.numpy() for t in step(x, y)]
    for _ in range(3):
        got = [t.numpy() for t in traced(x, y)]
        for a, b in zip(eager, got, strict=True):
            np.testing.assert_array_equal(a, b)
    with tf.GradientTape() as tape:  # a recording tape replays node by node, without reuse
        tape.watch(w1)
        stepwise = [t.numpy() for t in traced(x, y)]
    for a, b in zip(eager, stepwise, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x, x_before)  # an argument's buffer is never written


@pytest.mark.parametrize("case", ["argument", "variable", "returned", "view", "read later", "broadcast"])
def test_buffer_reuse_leaves_shared_buffers_alone(case, reuse_small_buffers):
    v = tf.Variable(RNG.normal(size=(3, 4)).astype("float32"))
    a = RNG.normal(size=(3, 4)).astype("float32")
    keep = {"a": a.copy(), "v": v.numpy().copy()}

    def fn(a):
        if case == "argument":
            return tf.exp(a) * 2.0
        if case == "variable":
            return tf.exp(v * 1.0 + v)
        t = a * 3.0
        if case == "returned":
            return t, tf.exp(t)
        if case == "view":
            r = tf.reshape(t, (4, 3))
            return tf.exp(t), r
        if case == "read later":
            e = tf.exp(t)
            return e + t
        return tf.exp(t[:1] * 1.0) + t  # (1, 4) cannot hold the (3, 4) sum

    traced = tf.function(fn)
    want = tf.nest.map_structure(lambda t: t.numpy(), fn(tf.constant(a)))
    got = tf.nest.map_structure(lambda t: t.numpy(), traced(a))
    for w, g in zip(tf.nest.flatten(want), tf.nest.flatten(got), strict=True):
        np.testing.assert_array_equal(w, g)
    np.testing.assert_array_equal(a, keep["a"])
    np.testing.assert_array_equal(v.numpy(), keep["v"])
    # Reused: the buffers made and last read inside the graph (exp's result into `* 2.0`, the
    # first sum into exp, ...); never an argument, a variable, a returned value, a buffer with a
    # view on it, one read later, or one of another shape.
    expected = {"argument": 1, "variable": 2, "returned": 0, "view": 0, "read later": 1, "broadcast": 1}
    assert _array_program(traced, a).reused_buffers == expected[case], _array_program(traced, a).source


def test_buffer_reuse_skips_small_buffers():
    """Below REUSE_MIN_ELEMENTS a fresh array is cheaper than `out=`; at it, reuse fires."""
    from tapeflow.tracing import passes

    def fn(a):
        return tf.exp(a * 3.0) * 2.0

    small = np.ones((4, 4), np.float32)
    big = np.ones((passes.REUSE_MIN_ELEMENTS,), np.float32)
    traced = tf.function(fn)
    assert _array_program(traced, small).reused_buffers == 0
    assert _array_program(traced, big).reused_buffers == 2
    np.testing.assert_array_equal(traced(big).numpy(), fn(tf.constant(big)).numpy())


def test_constants_fold_at_trace_time_and_variables_do_not():
    """Constant folding: an op whose inputs are all known values runs once, while tracing, and
    its result is a constant of the graph; a variable is read on every call."""
    c = tf.constant([1.0, 2.0])
    v = tf.Variable([1.0, 1.0])

    @tf.function
    def f(x):
        k = tf.exp(c) * 3.0 + tf.reduce_sum(c)
        return x * k + tf.exp(v)

    cf = f.get_concrete_function(tf.TensorSpec([2]))
    kinds = [type(n.function).__name__ for n in cf._program.nodes]
    assert kinds.count("Exp") == 1 and kinds.count("Mul") == 1 and "Sum" not in kinds, kinds
    x = np.array([1.0, 2.0], np.float32)
    want = x * (np.exp([1.0, 2.0]) * 3.0 + 3.0)
    np.testing.assert_allclose(f(x).numpy(), want + np.e, rtol=1e-6)
    v.assign([0.0, 0.0])
    np.testing.assert_allclose(f(x).numpy(), want + 1.0, rtol=1e-6)

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

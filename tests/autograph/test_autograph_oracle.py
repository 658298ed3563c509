"""Oracle: the same TF 2 code under real TensorFlow's tf.function and Tapeflow's gives the same
results (SYMBOLIC PATH: control flow on traced tensors). Skips when TensorFlow is absent."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow

pytestmark = pytest.mark.oracle
real_tf = pytest.importorskip("tensorflow")


def collatz_steps(tf):
    def f(n):
        steps = 0
        while n != 1:
            if n % 2 == 0:
                n = n // 2
            else:
                n = 3 * n + 1
            steps += 1
        return steps

    return f, [(tf.constant(n),) for n in (1, 6, 27)]


def running_stats(tf):
    def f(x):
        total = tf.constant(0.0)
        count = 0
        for row in x:
            if tf.reduce_sum(row) < 0:
                continue
            if tf.reduce_max(row) > 10.0:
                break
            total += tf.reduce_sum(row)
            count += 1
        return total, count

    x = np.array([[1, 2], [-5, 1], [3, 4], [20, 0], [1, 1]], np.float32)
    return f, [(tf.constant(x),), (tf.constant(x[:2]),)]


def early_return(tf):
    def f(x, n):
        if tf.reduce_sum(x) > 0:
            return x * 2
        acc = x
        for _ in tf.range(n):
            acc = acc + 1
        return acc

    x = np.array([1.0, -3.0], np.float32)
    return f, [(tf.constant(x), tf.constant(3)), (tf.constant(-x), tf.constant(2))]


def squares_array(tf):
    def f(n):
        ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=())
        i = 0
        for k in tf.range(n):
            if k % 3 == 0 or k > 5:
                ta = ta.write(i, tf.cast(k * k, tf.float32))
                i += 1
        return ta.stack()

    return f, [(tf.constant(9),)]


def first_assigned_in_loop(tf):
    def f(x):
        while x > 0:
            y = x * 10
            x = x - 1
        return y if x == 0 else -y

    return f, [(tf.constant(4),)]


@pytest.mark.parametrize("case", [collatz_steps, running_stats, early_return, squares_array, first_assigned_in_loop])
def test_same_results_as_tensorflow(case):
    ours, our_args = case(tapeflow)
    theirs, their_args = case(real_tf)
    ours, theirs = tapeflow.function(ours), real_tf.function(theirs)
    for a, b in zip(our_args, their_args, strict=True):
        got = tapeflow.nest.flatten(ours(*a))
        want = real_tf.nest.flatten(theirs(*b))
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(np.asarray(g), w.numpy(), rtol=1e-6)

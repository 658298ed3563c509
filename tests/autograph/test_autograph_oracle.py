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


def only_one_branch(tf):
    def f(x):
        if x > 0:
            y = 1
        return y

    return f, (tf.constant(1),)


def branch_dtypes(tf):
    def f(x):
        if x > 0:
            y = tf.constant(1.0)
        else:
            y = tf.constant(1)
        return y

    return f, (tf.constant(1),)


def none_in_branch(tf):
    def f(x):
        if x > 0:
            return x, None
        return -x, None

    return f, (tf.constant(1.0),)


def loop_dtype_change(tf):
    def f(x):
        while x > 0:
            x = tf.cast(x, tf.float32) - 1.0
        return x

    return f, (tf.constant(3),)


def tensor_break_in_python_for(tf):
    def f(x):
        for i in range(3):
            if x > i:
                break
        return x

    return f, (tf.constant(3),)


def tensor_break_in_python_while(tf):
    def f(x):
        while True:
            x = x - 1
            if x < 0:
                break
        return x

    return f, (tf.constant(3),)


@pytest.mark.parametrize("case", [only_one_branch, branch_dtypes, none_in_branch, loop_dtype_change,
                                  tensor_break_in_python_for, tensor_break_in_python_while])
def test_same_errors_as_tensorflow(case):
    ours, our_args = case(tapeflow)
    theirs, their_args = case(real_tf)
    with pytest.raises(Exception) as mine:
        tapeflow.function(ours)(*our_args)
    with pytest.raises(Exception) as reference:
        real_tf.function(theirs)(*their_args)
    assert type(mine.value) is type(reference.value) or isinstance(mine.value, type(reference.value))
    first_line = str(mine.value).split("\n")[0]
    assert first_line in str(reference.value), (first_line, str(reference.value))

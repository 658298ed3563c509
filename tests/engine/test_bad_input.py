"""Bad input gives a clear error (op name, expected and received shape/dtype) and never leaves a
tape broken: the same tape still records and differentiates afterwards."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.autodiff import function as _fn

A23 = np.ones((2, 3), np.float32)
A45 = np.ones((4, 5), np.float32)

BAD = [
    # shape mismatches: the op and both shapes
    ("add_shapes", lambda: tf.add(tf.ones((2, 3)), tf.ones((4, 3))), tf.errors.InvalidArgumentError,
     r"Add: incompatible shapes \(2, 3\) and \(4, 3\)"),
    ("mul_shapes", lambda: tf.ones((3,)) * tf.ones((2,)), tf.errors.InvalidArgumentError,
     r"Mul: incompatible shapes \(3,\) and \(2,\)"),
    ("matmul_shapes", lambda: tf.matmul(A23, A45), ValueError, r"MatMul: .*\(2, 3\) and \(4, 5\)"),
    ("reshape", lambda: tf.reshape(A23, (4, 2)),
      tf.errors.InvalidArgumentError, r"Reshape: .*6 values.*\(2, 3\)"),
    ("concat", lambda: tf.concat([A23, A45], 0), ValueError, r"ConcatV2: .*\(2, 3\) and \(4, 5\)"),
    ("stack", lambda: tf.stack([A23, A45]), ValueError, r"Pack: .*\(2, 3\) and \(4, 5\)"),
    ("where", lambda: tf.where(tf.constant([True, False, True]), tf.ones((2,)), tf.ones((2,))),
     tf.errors.InvalidArgumentError, r"Where: incompatible shapes \(3,\) and \(2,\) and \(2,\)"),
    ("softmax_ce", lambda: tf.nn.softmax_cross_entropy_with_logits(tf.ones((2, 4)), tf.ones((2, 3))),
     ValueError, r"SoftmaxCrossEntropyWithLogits: .*\(2, 4\) and \(2, 3\)"),
    ("bias_add", lambda: tf.nn.bias_add(A23, np.ones(4, np.float32)),
      ValueError, r"BiasAdd: .*4.*3.*\(2, 3\)"),
    ("tile", lambda: tf.tile(A23, [2]),
      ValueError, r"Tile: multiples has 1 entries but the input has rank 2"),
    ("getitem", lambda: tf.constant(A23)[5], IndexError, r"Index 5 is out of bounds for axis 0 with size 2"),
    ("variable_assign", lambda: tf.Variable(A23).assign(A45),
      ValueError, r"\(4, 5\) to a variable of shape \(2, 3\)"),
    # mixed dtypes: both dtypes named
    ("add_dtypes", lambda: tf.ones((2,)) + tf.ones((2,), tf.int32), tf.errors.InvalidArgumentError,
     r"Add: both operands must have the same dtype, received float32 and int32"),
    ("matmul_dtypes", lambda: tf.matmul(tf.ones((2, 2)), tf.ones((2, 2), tf.float64)),
     tf.errors.InvalidArgumentError, r"MatMul: .*float32 and float64"),
    ("concat_dtypes", lambda: tf.concat([tf.ones((1,)), tf.ones((1,), tf.int32)], 0),
     tf.errors.InvalidArgumentError, r"ConcatV2: .*float32 and int32"),
    ("scalar_dtype", lambda: tf.constant([1, 2]) * 0.5, TypeError, r"Mul: cannot convert 0.5 .* int32"),
    # non-numeric input
    ("string_mixed", lambda: tf.constant(["abc", 1]), ValueError, r"mixed types"),
    ("string_operand", lambda: tf.ones((2,)) - "x",
      TypeError, r"Sub: cannot convert 'x' to the dtype of the other operand, float32"),
    ("object_array", lambda: tf.exp(np.array([object()])),
      TypeError, r"Exp: Cannot convert an array of dtype object"),
    ("none_operand", lambda: tf.ones((2,)) * None, TypeError, r"Mul: .*NoneType"),
    ("int_exp", lambda: tf.exp(tf.constant([1, 2])),
      TypeError, r"Exp: expected a floating-point tensor, received dtype int32"),
    # unknown dtype names list the valid ones
    ("dtype_name", lambda: tf.cast(tf.ones((2,)), "flaot32"), TypeError, r"Valid dtypes: .*float32"),
    ("dtype_zeros", lambda: tf.zeros((2,), dtype="int33"), TypeError, r"'int33'.*Valid dtypes"),
    ("dtype_variable", lambda: tf.Variable(1.0, dtype="double64"), TypeError, r"Valid dtypes"),
]


@pytest.mark.parametrize("fn,exc,pattern", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_clear_and_leaves_tape_usable(fn, exc, pattern) -> None:
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = v * v
        with pytest.raises(exc, match=pattern):
            fn()
        y = y * 3.0
    assert _fn.recording_tapes == []
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [6.0, 12.0])
    # ...and outside any tape a fresh computation still works.
    with tf.GradientTape() as tape2:
        z = tf.reduce_sum(v * 2.0)
    np.testing.assert_array_equal(tape2.gradient(z, v).numpy(), [2.0, 2.0])


def test_error_inside_nested_tapes_unwinds_both() -> None:
    x = tf.Variable(2.0)
    with pytest.raises(tf.errors.InvalidArgumentError):
        with tf.GradientTape():
            with tf.GradientTape():
                _ = tf.ones((2,)) + tf.ones((3,))
    assert _fn.recording_tapes == []
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x ** 3
        g = inner.gradient(y, x)
    assert float(outer.gradient(g, x)) == pytest.approx(12.0)


def test_error_in_backward_of_custom_gradient_leaves_tape_stack_clean() -> None:
    @tf.custom_gradient
    def bad(x):
        return x * 1.0, lambda dy: (dy, dy)  # two gradients for one input

    x = tf.constant(1.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = bad(x)
    with pytest.raises(ValueError, match="custom_gradient: grad_fn returned 2 gradients for 1 inputs"):
        tape.gradient(y, x)
    assert _fn.recording_tapes == []

"""Tensor semantics: metadata, printing, Python protocols, operators and TF's dtype rules."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import tapeflow as tf


def test_metadata() -> None:
    t = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert isinstance(t, tf.Tensor)
    assert t.shape == (2, 3) and t.shape == [2, 3]
    assert isinstance(t.shape, tf.TensorShape)
    assert t.shape.as_list() == [2, 3] and t.shape.rank == 2 and t.shape.num_elements() == 6
    assert t.shape[0] == 2 and t.shape[1:] == (3,)
    assert t.get_shape() == t.shape
    assert t.ndim == 2
    assert t.dtype == tf.float32 and t.dtype.name == "float32"
    assert t.dtype == np.float32 and t.dtype == "float32"
    assert t.device == tf.zeros(()).device  # the default device (CPU unless configured)
    assert tf.is_tensor(t) and not tf.is_tensor(np.zeros(2))


def test_tensorshape_api() -> None:
    s = tf.TensorShape([2, None, 3])
    assert s.rank == 3 and s.as_list() == [2, None, 3]
    assert not s.is_fully_defined() and s.num_elements() is None
    assert s.is_compatible_with([2, 7, 3]) and not s.is_compatible_with([2, 7])
    assert str(s) == "(2, None, 3)" and repr(s) == "TensorShape([2, None, 3])"
    assert str(tf.TensorShape([4])) == "(4,)"
    assert s.concatenate([5]) == (2, None, 3, 5)


def test_numpy_and_python_protocols() -> None:
    t = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    a = t.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(t), a)
    assert np.array(t, dtype=np.float64).dtype == np.float64
    assert len(t) == 2
    rows = list(t)
    assert len(rows) == 2 and isinstance(rows[0], tf.Tensor)
    np.testing.assert_array_equal(rows[1].numpy(), [3.0, 4.0])
    s = tf.constant(3.7)
    assert float(s) == pytest.approx(3.7) and int(s) == 3 and bool(s)
    assert not bool(tf.constant(0.0))
    assert isinstance(s.numpy(), np.float32)
    assert [10, 20, 30][tf.constant(1)] == 20  # __index__ for integer tensors
    with pytest.raises(TypeError, match="len"):
        len(s)
    with pytest.raises(TypeError, match="iterate"):
        iter(s).__next__()
    with pytest.raises(TypeError, match=r"one element.*\(2, 2\)"):
        float(t)
    with pytest.raises(TypeError, match="unhashable"):
        hash(t)
    assert t.ref().deref() is t and {t.ref(): 1}[t.ref()] == 1


def test_print_formats_match_tf() -> None:
    assert str(tf.constant(2.0)) == "tf.Tensor(2.0, shape=(), dtype=float32)"
    assert repr(tf.constant(2.0)) == "<tf.Tensor: shape=(), dtype=float32, numpy=2.0>"
    assert str(tf.constant([[2.0, 2.0], [2.0, 2.0]])) == (
        "tf.Tensor(\n[[2. 2.]\n [2. 2.]], shape=(2, 2), dtype=float32)")
    assert repr(tf.constant([1, 2])) == (
        "<tf.Tensor: shape=(2,), dtype=int32, numpy=array([1, 2], dtype=int32)>")
    assert repr(tf.constant([[1, 2], [3, 4]])) == (
        "<tf.Tensor: shape=(2, 2), dtype=int32, numpy=\narray([[1, 2],\n       [3, 4]], dtype=int32)>")
    assert str(tf.constant(True)) == "tf.Tensor(True, shape=(), dtype=bool)"


def test_format_spec() -> None:
    loss = tf.constant(0.123456)
    assert f"{loss:.2f}" == "0.12"
    assert f"{loss}" == format(np.array(0.123456, np.float32), "")  # what TF gives: NumPy's format
    assert f"{tf.constant(7):>3d}" == "  7"
    assert f"{tf.constant([1.0, 2.0])}" == "[1. 2.]"


BINARY = [
    ("+", operator.add, np.add), ("-", operator.sub, np.subtract), ("*", operator.mul, np.multiply),
    ("/", operator.truediv, np.true_divide), ("//", operator.floordiv, np.floor_divide),
    ("%", operator.mod, np.mod), ("**", operator.pow, np.power),
    ("<", operator.lt, np.less), ("<=", operator.le, np.less_equal), (">", operator.gt, np.greater),
    (">=", operator.ge, np.greater_equal), ("==", operator.eq, np.equal), ("!=", operator.ne, np.not_equal),
]


@pytest.mark.parametrize("sym,op,np_op", BINARY, ids=[b[0] for b in BINARY])
def test_operators_on_both_sides(sym, op, np_op) -> None:
    a = np.array([[1.5, 2.0], [3.0, 4.5]], np.float32)
    b = np.array([2.0, 0.5], np.float32)
    ta, tb = tf.constant(a), tf.constant(b)
    want = np_op(a, b)
    for lhs, rhs in [(ta, tb), (ta, b), (a, tb)]:
        out = op(lhs, rhs)
        assert isinstance(out, tf.Tensor), (sym, type(lhs), type(rhs))
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
    # Python scalars on either side take the tensor's dtype.
    for out, ref in [(op(ta, 2.0), np_op(a, np.float32(2.0))), (op(2.0, ta), np_op(np.float32(2.0), a))]:
        assert isinstance(out, tf.Tensor)
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6)
        if out.dtype != tf.bool:
            assert out.dtype == tf.float32


def test_matmul_operator_with_numpy_both_sides() -> None:
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    b = np.ones((3, 2), np.float32)
    np.testing.assert_array_equal((tf.constant(a) @ b).numpy(), a @ b)
    np.testing.assert_array_equal((a @ tf.constant(b)).numpy(), a @ b)


def test_unary_operators() -> None:
    t = tf.constant([-1.5, 2.0])
    np.testing.assert_array_equal((-t).numpy(), [1.5, -2.0])
    np.testing.assert_array_equal(abs(t).numpy(), [1.5, 2.0])
    assert (+t) is t
    np.testing.assert_array_equal((~tf.constant([True, False])).numpy(), [False, True])
    np.testing.assert_array_equal((~tf.constant([0, 1])).numpy(), [-1, -2])
    assert (t == None) is False and (t != None) is True  # noqa: E711


def test_python_scalar_takes_tensor_dtype() -> None:
    assert (tf.constant([1, 2]) + 1).dtype == tf.int32
    assert (tf.constant([1.0], tf.float64) * 2).dtype == tf.float64
    assert (2 * tf.constant([1.0], tf.float16)).dtype == tf.float16
    assert (tf.constant([1, 2]) * np.int64(3)).dtype == tf.int32
    with pytest.raises(TypeError, match=r"Add: cannot convert 1.5 to the dtype of the other operand, int32"):
        tf.constant([1, 2]) + 1.5


def test_numpy_operand_takes_tensor_dtype() -> None:
    out = tf.constant([1.0]) + np.array([1.0])  # float64 array, float32 tensor -> float32, as TF
    assert out.dtype == tf.float32
    assert (np.array([1.0]) * tf.constant([3.0])).dtype == tf.float32
    assert (tf.constant([1.0]) + np.array([2])).dtype == tf.float32
    # Floats into an integer tensor truncate, as TF's conversion does (TF 2.21: [1, 3]).
    out = tf.constant([1, 2]) + np.array([0.5, 1.5])
    assert out.dtype == tf.int32 and out.numpy().tolist() == [1, 3]
    with pytest.raises(TypeError, match="complex128 to the dtype of the other operand, float32"):
        tf.constant([1.0]) + np.array([1j])


def test_two_tensors_of_different_dtypes_name_both() -> None:
    with pytest.raises(tf.errors.InvalidArgumentError, match="Add: .*float32 and int32"):
        tf.constant(1.0) + tf.constant(1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Mul: .*float32 and float64"):
        tf.multiply(tf.constant(1.0), tf.constant(1.0, tf.float64))


def test_conversion_dtype_rules() -> None:
    assert tf.constant(1.0).dtype == tf.float32
    assert tf.constant(1).dtype == tf.int32
    assert tf.constant(2**40).dtype == tf.int64
    assert tf.constant(True).dtype == tf.bool
    assert tf.constant([1.0, 2]).dtype == tf.float32
    assert tf.constant([[1, 2], [3, 4]]).dtype == tf.int32
    assert tf.constant(np.float64(2.0)).dtype == tf.float64  # NumPy scalars keep their dtype
    assert tf.convert_to_tensor(np.zeros(2)).dtype == tf.float64  # NumPy arrays keep their dtype
    assert tf.convert_to_tensor(np.zeros(2, np.int64)).dtype == tf.int64
    assert tf.constant(2, dtype=tf.float32).dtype == tf.float32
    assert tf.constant(np.zeros(2), dtype="float32").dtype == tf.float32
    assert tf.constant(3.0, shape=(2, 2)).shape == (2, 2)
    assert tf.constant([1, 2, 3, 4], shape=(2, 2)).numpy()[1, 0] == 3
    assert tf.convert_to_tensor(1.0, dtype_hint=tf.float64).dtype == tf.float64
    t = tf.constant([1.0])
    assert tf.convert_to_tensor(t) is t
    with pytest.raises(ValueError, match="requested dtype float64 for Tensor with dtype float32"):
        tf.convert_to_tensor(t, dtype=tf.float64)
    with pytest.raises(TypeError, match="Cannot convert 2.5 to a tensor of dtype int32"):
        tf.constant(2.5, dtype=tf.int32)
    with pytest.raises(TypeError, match="int32"):
        tf.constant([1.5, 2], dtype=tf.int32)


def test_convert_list_of_tensors_stacks() -> None:
    a, b = tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0])
    np.testing.assert_array_equal(tf.convert_to_tensor([a, b]).numpy(), [[1, 2], [3, 4]])
    x = tf.constant(2.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.convert_to_tensor([x, x * 3.0]))
    assert float(tape.gradient(y, x)) == 4.0


def test_non_numeric_input_raises_type_error() -> None:
    with pytest.raises(TypeError, match="dtype float32"):
        tf.constant("abc", dtype=tf.float32)  # (without a dtype it is a tf.string tensor)
    with pytest.raises(TypeError, match=r"Add: cannot convert 'a' to the dtype of the other operand"):
        tf.constant([1.0]) + "a"
    with pytest.raises(TypeError, match="ragged or non-numeric"):
        tf.constant([[1.0], [1.0, 2.0]])
    with pytest.raises(TypeError):
        tf.constant({"a": 1})
    with pytest.raises(TypeError, match="Exp: expected a floating-point tensor, received dtype int32"):
        tf.exp(tf.constant([1]))


def test_no_copy_of_right_dtype_array() -> None:
    a = np.zeros(3, np.float32)
    with tf.device("/CPU:0"):
        assert tf.convert_to_tensor(a)._value is a

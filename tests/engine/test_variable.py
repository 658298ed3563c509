"""Variable: construction, in-place assignment, snapshots, use as a tensor, errors."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import tapeflow as tf


def test_construction() -> None:
    v = tf.Variable(1.0)
    assert isinstance(v, tf.Tensor) and v.dtype == tf.float32 and v.shape == ()
    assert v.trainable and v.name == "Variable:0"
    w = tf.Variable([[1, 2]], trainable=False, name="w", dtype=tf.float64)
    assert w.dtype == tf.float64 and not w.trainable and w.name == "w:0"
    assert tf.Variable(lambda: tf.zeros((2,))).shape == (2,)
    src = np.zeros(3, np.float32)
    v2 = tf.Variable(src)
    src[0] = 5.0
    assert float(v2[0]) == 0.0  # the variable owns a copy
    with pytest.raises(ValueError, match="initial_value"):
        tf.Variable()


def test_repr_matches_tf() -> None:
    assert repr(tf.Variable(1.0)) == "<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=1.0>"
    assert repr(tf.Variable([1.0, 2.0], name="b")) == (
        "<tf.Variable 'b:0' shape=(2,) dtype=float32, numpy=array([1., 2.], dtype=float32)>")


def test_assign_family_is_in_place() -> None:
    v = tf.Variable([1.0, 2.0])
    storage = v._value
    assert v.assign([3.0, 4.0]) is v
    v.assign_add(tf.constant([1.0, 1.0]))
    v.assign_sub(np.array([0.5, 0.5], np.float32))
    assert v._value is storage
    np.testing.assert_array_equal(v.numpy(), [3.5, 4.5])
    v.assign(0.0)  # broadcasts
    np.testing.assert_array_equal(v.numpy(), [0.0, 0.0])
    v.assign_add(2)  # Python scalars take the variable's dtype
    np.testing.assert_array_equal(v.numpy(), [2.0, 2.0])


def test_read_value_is_snapshot_numpy_is_copy() -> None:
    v = tf.Variable([1.0, 2.0])
    snap = v.read_value()
    arr = v.numpy()
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(snap.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(arr, [1.0, 2.0])
    assert isinstance(snap, tf.Tensor) and not isinstance(snap, tf.Variable)
    assert float(tf.Variable(3.0).value()) == 3.0


def test_usable_wherever_a_tensor_is() -> None:
    v = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal((v + 1).numpy(), [[2, 3], [4, 5]])
    np.testing.assert_array_equal((1 - v).numpy(), [[0, -1], [-2, -3]])
    np.testing.assert_array_equal(tf.matmul(v, v).numpy(), np.array([[7, 10], [15, 22]]))
    np.testing.assert_array_equal(tf.reduce_sum(v, axis=0).numpy(), [4, 6])
    np.testing.assert_array_equal(v[1].numpy(), [3, 4])
    np.testing.assert_array_equal(np.asarray(v), [[1, 2], [3, 4]])
    assert f"{tf.Variable(0.25):.1f}" == "0.2"


def test_assign_errors() -> None:
    v = tf.Variable([1.0, 2.0], name="w")
    with pytest.raises(ValueError, match=r"Variable 'w:0'.assign: cannot assign a value of shape \(3,\) to a "
                                         r"variable of shape \(2,\)"):
        v.assign([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"Variable 'w:0'.assign_add: expected a value of dtype float32, "
                                        r"received int32"):
        v.assign_add(tf.constant([1, 2]))
    iv = tf.Variable([1, 2])
    with pytest.raises(TypeError, match="int32"):
        iv.assign_add([1.5, 2.0])
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])  # unchanged after failed assignments


def test_copy_and_pickle() -> None:
    v = tf.Variable([1.0, 2.0], name="k")
    d = copy.deepcopy(v)
    d.assign([0.0, 0.0])
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
    p = pickle.loads(pickle.dumps(v))
    assert p.name == "k:0"
    np.testing.assert_array_equal(p.numpy(), [1.0, 2.0])
    t = pickle.loads(pickle.dumps(tf.constant([1, 2])))
    assert t.dtype == tf.int32


def test_trainable_flag_controls_auto_watch() -> None:
    v = tf.Variable(2.0, trainable=False)
    with tf.GradientTape() as tape:
        y = v * v
    assert tape.gradient(y, v) is None
    v.trainable = True
    with tf.GradientTape() as tape:
        y = v * v
    assert float(tape.gradient(y, v)) == 4.0


def test_value_is_row_major_whatever_the_initial_layout() -> None:
    # A Fortran-ordered initial value (a transposed array) is stored row-major, as TF stores
    # every buffer: ops mixing the variable with C-ordered gradients stay on contiguous paths.
    f = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    v = tf.Variable(f)
    assert v._value.flags.c_contiguous
    np.testing.assert_array_equal(v.numpy(), f)
    v.assign(f.T.T)
    assert v._value.flags.c_contiguous

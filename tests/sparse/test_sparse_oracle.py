"""tf.SparseTensor and tf.sparse against TensorFlow: the same code with `m = tapeflow` and
`m = tensorflow`, compared by printed form (indices, values, dense_shape), dtype and shape."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow

pytestmark = pytest.mark.oracle

DENSE = np.array([[0, 1.5, 0, 0], [2.0, 0, 0, -3.0], [0, 0, 0, 0]], np.float32)


def _sp(m):
    return m.sparse.SparseTensor(indices=[[0, 0], [1, 2]], values=[1, 2], dense_shape=[3, 4])


def _fsp(m):
    return m.sparse.from_dense(DENSE)


def _unordered(m):
    return m.SparseTensor(indices=[[1, 2], [0, 3], [0, 1]], values=[4.0, 5.0, 6.0], dense_shape=[2, 4])


CASES = {
    "print": lambda m: _sp(m),
    "shape_dtype": lambda m: (_sp(m).shape, repr(_sp(m).dtype)),
    "from_dense": lambda m: _fsp(m),
    "to_dense": lambda m: m.sparse.to_dense(_sp(m)),
    "to_dense_default": lambda m: m.sparse.to_dense(_sp(m), default_value=7),
    "to_indicator": lambda m: m.sparse.to_indicator(
        m.SparseTensor([[0, 0], [0, 1], [2, 0]], [1, 3, 0], [3, 2]), 4),
    "mul_scalar": lambda m: _sp(m) * 2,
    "mul_dense": lambda m: _fsp(m) * m.constant([[1.0], [2.0], [3.0]]),
    "div_scalar": lambda m: _fsp(m) / 2.0,
    "negative": lambda m: m.math.negative(_fsp(m)),
    "abs": lambda m: m.math.abs(_fsp(m)),
    "square": lambda m: m.math.square(_fsp(m)),
    "cast": lambda m: m.cast(_sp(m), m.float32),
    "add_sparse": lambda m: m.sparse.add(_fsp(m), m.sparse.from_dense(np.eye(3, 4, dtype=np.float32))),
    "add_threshold": lambda m: m.sparse.add(_fsp(m), m.sparse.from_dense(-DENSE * 0.9), threshold=0.5),
    "add_dense": lambda m: m.sparse.add(_sp(m), m.ones([3, 4], m.int32)),
    "maximum": lambda m: m.sparse.maximum(_fsp(m), m.sparse.from_dense(np.eye(3, 4, dtype=np.float32))),
    "minimum": lambda m: m.sparse.minimum(_fsp(m), m.sparse.from_dense(np.eye(3, 4, dtype=np.float32))),
    "matmul": lambda m: m.sparse.sparse_dense_matmul(_fsp(m), np.arange(8, dtype=np.float32).reshape(4, 2)),
    "matmul_adjoint": lambda m: m.sparse.sparse_dense_matmul(
        _fsp(m), np.arange(6, dtype=np.float32).reshape(3, 2), adjoint_a=True),
    "matmul_dense_sparse": lambda m: m.sparse.sparse_dense_matmul(
        np.arange(6, dtype=np.float32).reshape(2, 3), _fsp(m)),
    "reduce_sum": lambda m: m.sparse.reduce_sum(_sp(m)),
    "reduce_sum_axis": lambda m: m.sparse.reduce_sum(_fsp(m), axis=1),
    "reduce_sum_keepdims": lambda m: m.sparse.reduce_sum(_fsp(m), axis=1, keepdims=True),
    "reduce_sum_sparse": lambda m: m.sparse.reduce_sum(_fsp(m), axis=0, output_is_sparse=True),
    "reduce_max": lambda m: m.sparse.reduce_max(_fsp(m), axis=1),
    "reduce_max_sparse": lambda m: m.sparse.reduce_max(_fsp(m), axis=1, output_is_sparse=True),
    "tf_reduce_sum": lambda m: m.reduce_sum(_fsp(m), axis=0) if m is tapeflow else m.sparse.reduce_sum(
        _fsp(m), axis=0),
    "reorder": lambda m: m.sparse.reorder(_unordered(m)),
    "reshape": lambda m: m.sparse.reshape(_fsp(m), [2, -1]),
    "retain": lambda m: m.sparse.retain(_fsp(m), [True, False, True]),
    "slice": lambda m: m.sparse.slice(_fsp(m), [1, 1], [5, 3]),
    "concat": lambda m: m.sparse.concat(1, [_sp(m), _sp(m)]),
    "concat0": lambda m: m.sparse.concat(0, [_sp(m), _sp(m)]),
    "split": lambda m: m.sparse.split(sp_input=_sp(m), num_split=3, axis=1),
    "transpose": lambda m: m.sparse.transpose(_fsp(m)),
    "expand_dims": lambda m: m.sparse.expand_dims(_sp(m), axis=1),
    "fill_empty_rows": lambda m: m.sparse.fill_empty_rows(_sp(m), 7),
    "reset_shape": lambda m: m.sparse.reset_shape(_sp(m)),
    "reset_shape_new": lambda m: m.sparse.reset_shape(_sp(m), [4, 5]),
    "eye": lambda m: m.sparse.eye(2, 3),
    "map_values": lambda m: m.sparse.map_values(m.math.multiply, _fsp(m), _fsp(m)),
    "softmax": lambda m: m.sparse.softmax(_fsp(m)),
    "segment_sum": lambda m: m.sparse.segment_sum(DENSE, [0, 1, 2, 1], [0, 0, 1, 3]),
    "segment_mean": lambda m: m.sparse.segment_mean(DENSE, [0, 1, 2, 1], [0, 0, 1, 3]),
    "segment_sqrt_n": lambda m: m.sparse.segment_sqrt_n(DENSE, [0, 1, 2, 1], [0, 0, 1, 3]),
    "bincount": lambda m: m.sparse.bincount([1, 2, 2, 5]),
    "bincount_rows": lambda m: m.sparse.bincount([[1, 2, 2], [0, 5, 1]], axis=-1),
    "bincount_weights": lambda m: m.sparse.bincount([1, 2, 2], weights=[0.5, 1.0, 2.0], minlength=4),
    "bincount_binary": lambda m: m.sparse.bincount([[1, 2, 2], [0, 5, 1]], axis=-1, binary_output=True),
    "bincount_sparse": lambda m: m.sparse.bincount(_sp(m)),
    "sampled_addmm": lambda m: m.sparse.sampled_addmm(
        [[0, 0], [1, 1]], [1.0, 2.0], [2, 2], np.ones((2, 3), np.float32),
        np.arange(6, dtype=np.float32).reshape(3, 2), beta=0.5, alpha=2.0),
    "cross": lambda m: m.sparse.cross([m.sparse.from_dense([["a", ""], ["b", "c"]]),
                                       m.constant([["d"], ["e"]])]),
    "cross_separator_ints": lambda m: m.sparse.cross(
        [m.constant([["a"], ["b"]]), m.constant([[1, 2], [3, 4]], m.int64)], separator="|"),
    "cross_hashed": lambda m: m.sparse.cross_hashed(
        [m.sparse.from_dense([["a", ""], ["b", "c"]]), m.constant([["d"], ["e"]])], num_buckets=100),
    "cross_hashed_ints": lambda m: m.sparse.cross_hashed(
        [m.constant([["a"], ["b"]]), m.constant([[1, 2], [3, 4]], m.int64)]),
    "cross_dense_first": lambda m: m.sparse.cross(  # TF crosses the sparse inputs first
        [m.constant([["d"], ["e"]]), m.sparse.from_dense([["a", ""], ["b", "c"]])]),
    "cross_hashed_dense_first": lambda m: m.sparse.cross_hashed(
        [m.constant([["d"], ["e"]]), m.sparse.from_dense([["a", ""], ["b", "c"]]),
         m.constant([[1], [2]], m.int64)], num_buckets=1000),
    "cross_hashed_key": lambda m: m.sparse.cross_hashed(
        [m.constant([["a"], ["b"]]), m.constant([["d"], ["e"]])], num_buckets=10, hash_key=123),
    "spec": lambda m: m.SparseTensorSpec.from_value(_sp(m)),
    "spec_ctor": lambda m: m.SparseTensorSpec([None, 3], m.int64),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_tf(case):
    tf = pytest.importorskip("tensorflow")
    assert str(CASES[case](tapeflow)) == str(CASES[case](tf))


ERRORS = {
    "unordered_to_dense": lambda m: m.sparse.to_dense(_unordered(m)),
    "repeated_to_dense": lambda m: m.sparse.to_dense(m.SparseTensor([[0, 1], [0, 1]], [1, 2], [2, 2])),
    "out_of_bounds": lambda m: m.sparse.to_dense(m.SparseTensor([[0, 5]], [1], [2, 2])),
    "bad_values_length": lambda m: m.SparseTensor([[0, 1], [1, 1]], [1], [2, 2]),
    "sparse_times_sparse": lambda m: _sp(m) * _sp(m),
    "scalar_times_sparse": lambda m: 3 * _sp(m),
    "sparse_plus_sparse": lambda m: _sp(m) + _sp(m),
    "exp_of_sparse": lambda m: m.math.exp(_fsp(m)),
    "matmul_shapes": lambda m: m.sparse.sparse_dense_matmul(_fsp(m), np.ones((3, 2), np.float32)),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_where_tf_raises(case):
    tf = pytest.importorskip("tensorflow")
    with pytest.raises(Exception):  # noqa: B017 - TF's classes differ; both must refuse
        ERRORS[case](tf)
    with pytest.raises((ValueError, TypeError, tapeflow.errors.InvalidArgumentError)):
        ERRORS[case](tapeflow)


def test_unsorted_to_dense_without_validation_matches_tf():
    tf = pytest.importorskip("tensorflow")
    ours = tapeflow.sparse.to_dense(_unordered(tapeflow), validate_indices=False)
    np.testing.assert_array_equal(ours.numpy(), tf.sparse.to_dense(_unordered(tf), validate_indices=False).numpy())

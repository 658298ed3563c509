"""tf.RaggedTensor and tf.ragged against TensorFlow: the same code with `m = tapeflow` and
`m = tensorflow`, compared by printed form, dtype, shape and values."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow

pytestmark = pytest.mark.oracle


def _rt(m):
    return m.ragged.constant([[1, 2], [3], []])


def _f(m):
    return m.ragged.constant([[1.5, 2.0], [3.0], []])


def _r2(m):
    return m.ragged.constant([[[1, 2], [3]], [[4]]])


CASES = {
    "print": lambda m: _rt(m),
    "print_float": lambda m: _f(m),
    "print_nested": lambda m: _r2(m),
    "print_inner_shape": lambda m: m.ragged.constant([[[1, 2], [3, 4]], [[5, 6]]], ragged_rank=1),
    "inner_shape_arg": lambda m: m.ragged.constant([[[1, 2]], [[3, 4], [5, 6]]], inner_shape=(2,)),
    "dtype_arg": lambda m: m.ragged.constant([[1, 2], [3]], dtype=m.float64),
    "bool": lambda m: m.ragged.constant([[True], [False, True]]),
    "empty_rows": lambda m: m.ragged.constant([[]]),
    "row_splits": lambda m: _rt(m).row_splits,
    "row_lengths": lambda m: _rt(m).row_lengths(),
    "value_rowids": lambda m: _rt(m).value_rowids(),
    "nrows": lambda m: _rt(m).nrows(),
    "row_starts": lambda m: _rt(m).row_starts(),
    "row_limits": lambda m: _rt(m).row_limits(),
    "nested_splits": lambda m: _r2(m).nested_row_splits[1],
    "row_lengths_axis2": lambda m: _r2(m).row_lengths(axis=2),
    "flat_values": lambda m: _r2(m).flat_values,
    "values": lambda m: _r2(m).values,
    "bounding_shape": lambda m: _r2(m).bounding_shape(),
    "to_tensor": lambda m: _rt(m).to_tensor(),
    "to_tensor_default_shape": lambda m: _rt(m).to_tensor(default_value=9, shape=[2, 3]),
    "to_tensor_nested": lambda m: _r2(m).to_tensor(default_value=-1),
    "from_row_lengths": lambda m: m.RaggedTensor.from_row_lengths([1, 2, 3, 4], [3, 0, 1]),
    "from_row_splits": lambda m: m.RaggedTensor.from_row_splits([1, 2, 3, 4], [0, 1, 4]),
    "from_value_rowids": lambda m: m.RaggedTensor.from_value_rowids([1, 2, 3], [0, 0, 2], nrows=4),
    "from_row_starts": lambda m: m.RaggedTensor.from_row_starts([1, 2, 3, 4], [0, 2]),
    "from_row_limits": lambda m: m.RaggedTensor.from_row_limits([1, 2, 3, 4], [1, 4]),
    "from_uniform": lambda m: m.RaggedTensor.from_uniform_row_length(m.range(6), 2),
    "from_uniform_shape": lambda m: m.RaggedTensor.from_uniform_row_length(m.range(6), 3).shape,
    "from_nested_splits": lambda m: m.RaggedTensor.from_nested_row_splits(
        [1, 2, 3, 4], ([0, 2, 3], [0, 1, 3, 4])),
    "from_tensor": lambda m: m.RaggedTensor.from_tensor([[1, 2, 0], [3, 0, 0]]),
    "from_tensor_lengths": lambda m: m.RaggedTensor.from_tensor([[1, 2, 0], [3, 0, 0]], lengths=[1, 3]),
    "from_tensor_padding": lambda m: m.RaggedTensor.from_tensor([[1, 2, 0], [3, 0, 0]], padding=0),
    "from_tensor_rank2": lambda m: m.RaggedTensor.from_tensor(np.arange(12).reshape(2, 3, 2), ragged_rank=2).shape,
    "to_list": lambda m: repr(_r2(m).to_list()),
    "numpy": lambda m: repr(_rt(m).numpy()),
    "index_row": lambda m: _rt(m)[1],
    "index_neg_row": lambda m: _rt(m)[-3],
    "index_rows": lambda m: _rt(m)[1:3],
    "index_cols": lambda m: _rt(m)[:, :1],
    "index_cols_neg": lambda m: m.ragged.constant([[1, 2, 3], [4, 5]])[:, -2:],
    "index_elem": lambda m: _rt(m)[0, 1],
    "index_uniform_col": lambda m: m.RaggedTensor.from_uniform_row_length(m.range(6), 3)[:, 1],
    "index_nested": lambda m: _r2(m)[0, :, :1],
    "merge_dims01": lambda m: _rt(m).merge_dims(0, 1),
    "merge_dims12": lambda m: _r2(m).merge_dims(1, 2),
    "merge_dims02": lambda m: _r2(m).merge_dims(0, 2),
    "with_values": lambda m: _rt(m).with_values(m.constant([5, 6, 7])),
    "with_flat_values": lambda m: _r2(m).with_flat_values(m.constant([5.0, 6.0, 7.0, 8.0])),
    "shape": lambda m: _r2(m).shape,
    "spec": lambda m: m.RaggedTensorSpec.from_value(_rt(m)),
    "spec_ctor": lambda m: m.RaggedTensorSpec([None, None], m.int32),
    "add_scalar": lambda m: _rt(m) + 1,
    "radd_scalar": lambda m: 10 - _rt(m),
    "mul_ragged": lambda m: _rt(m) * _rt(m),
    "add_dense_column": lambda m: m.ragged.constant([[1, 2], [3]]) + m.constant([[10], [20]]),
    "add_dense_row": lambda m: m.ragged.constant([[1, 2], [3]]) + m.constant([10]),
    "tf_add": lambda m: m.add(_rt(m), 2),
    "math_square": lambda m: m.math.square(_f(m)),
    "math_maximum": lambda m: m.math.maximum(_f(m), 2.0),
    "cast": lambda m: m.cast(_rt(m), m.float32),
    "compare": lambda m: _rt(m) > 1,
    "where": lambda m: m.where(_rt(m) > 1, _rt(m), 0 * _rt(m)),
    "reduce_sum_1": lambda m: m.reduce_sum(_rt(m), axis=1),
    "reduce_sum_0": lambda m: m.reduce_sum(_rt(m), axis=0),
    "reduce_sum_all": lambda m: m.reduce_sum(_rt(m)),
    "reduce_max_1": lambda m: m.reduce_max(_rt(m), axis=1),
    "reduce_max_float": lambda m: m.reduce_max(_f(m), axis=1),
    "reduce_min_float": lambda m: m.reduce_min(_f(m), axis=-1),
    "reduce_prod": lambda m: m.reduce_prod(_f(m), axis=1),
    "reduce_mean_int": lambda m: m.reduce_mean(_rt(m), axis=1),
    "reduce_mean_0": lambda m: m.reduce_mean(_f(m), axis=0),
    "reduce_mean_float": lambda m: m.math.reduce_mean(_f(m), axis=1),
    "reduce_any": lambda m: m.reduce_any(_rt(m) > 2, axis=1),
    "reduce_nested": lambda m: m.reduce_sum(_r2(m), axis=2),
    "reduce_nested_axis1": lambda m: m.reduce_sum(_r2(m), axis=1),
    "reduce_nested_mean": lambda m: m.reduce_mean(m.cast(_r2(m), m.float32), axis=1),
    "reduce_rank3_axis1": lambda m: m.reduce_sum(
        m.ragged.constant([[[[1], [2, 3]], [[4]]], [[[5, 6]]]]), axis=2),
    "reduce_nested_axes": lambda m: m.reduce_sum(_r2(m), axis=[1, 2]),
    "reduce_inner": lambda m: m.reduce_sum(m.ragged.constant([[[1, 2], [3, 4]], [[5, 6]]], ragged_rank=1), axis=2),
    "concat0": lambda m: m.concat([_rt(m), _rt(m)], axis=0),
    "concat1": lambda m: m.concat([_rt(m), m.ragged.constant([[7], [8, 9], [10]])], axis=1),
    "stack0": lambda m: m.stack([_rt(m), _rt(m)]),
    "stack1": lambda m: m.stack([_rt(m), _rt(m)], axis=1),
    "ragged_stack_dense": lambda m: m.ragged.stack([m.constant([1, 2]), m.constant([3])]),
    "boolean_mask_2d": lambda m: m.ragged.boolean_mask(
        [[1, 2, 3], [4, 5, 6]], [[True, False, True], [False, False, True]]),
    "boolean_mask_ragged": lambda m: m.ragged.boolean_mask(_rt(m), _rt(m) > 1),
    "boolean_mask_rows": lambda m: m.ragged.boolean_mask(_rt(m), [True, False, True]),
    "ragged_range": lambda m: m.ragged.range([3, 0, 5]),
    "ragged_range_2": lambda m: m.ragged.range([0, 5, 8], [3, 3, 12], 2),
    "ragged_range_float": lambda m: m.ragged.range([0.0, 1.0], 3.0, 0.5),
    "map_flat_values": lambda m: m.ragged.map_flat_values(m.ones_like, _rt(m)),
    "dynamic_partitions": lambda m: m.ragged.stack_dynamic_partitions([10, 20, 30, 40], [1, 0, 1, 3], 4),
    "splits_to_ids": lambda m: m.ragged.row_splits_to_segment_ids([0, 2, 3, 3]),
    "ids_to_splits": lambda m: m.ragged.segment_ids_to_row_splits([0, 0, 2], num_segments=4),
    "expand_dims1": lambda m: m.expand_dims(_rt(m), 1),
    "expand_dims0": lambda m: m.expand_dims(_rt(m), 0),
    "cross": lambda m: m.ragged.cross([m.ragged.constant([["a"], ["b", "c"]]), m.constant([["d"], ["e"]])]),
    "cross_ints": lambda m: m.ragged.cross([m.ragged.constant([["a"], ["b", "c"]]),
                                            m.ragged.constant([[1, 2], []], dtype=m.int64)]),
    "cross_hashed": lambda m: m.ragged.cross_hashed(
        [m.ragged.constant([["a"], ["b", "c"]]), m.constant([["d"], ["e"]])], num_buckets=100),
    "to_sparse": lambda m: _r2(m).to_sparse(),
    "to_sparse_inner": lambda m: m.ragged.constant([[[1, 2]], [[3, 4], [5, 6]]], ragged_rank=1).to_sparse(),
    "from_sparse": lambda m: m.RaggedTensor.from_sparse(
        m.SparseTensor([[0, 0], [0, 1], [2, 0]], [1, 2, 3], [4, 5])),
    "splits_int32": lambda m: _rt(m).with_row_splits_dtype(m.int32).row_splits,
    "size": lambda m: m.size(_r2(m)),
}


def _describe(x):
    if isinstance(x, str):
        return x
    return str(x) + " " + repr(getattr(x, "dtype", "")) + " " + str(getattr(x, "shape", ""))


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_tf(case):
    tf = pytest.importorskip("tensorflow")
    assert _describe(CASES[case](tapeflow)) == _describe(CASES[case](tf))


def test_repr_of_longer_rows_matches_tf():
    tf = pytest.importorskip("tensorflow")
    rows = [[1.25] * 12, [2.5] * 3, []]
    assert repr(tapeflow.ragged.constant(rows)) == repr(tf.ragged.constant(rows))


ERRORS = {
    "mismatched_partitions": lambda m: _rt(m) + m.ragged.constant([[1], [2, 3], []]),
    "row_out_of_range": lambda m: _rt(m)[5],
    "col_of_ragged_axis": lambda m: _rt(m)[:, 1],
    "bad_splits": lambda m: m.RaggedTensor.from_row_splits([1, 2, 3], [0, 2, 1]),
    "mixed_depths": lambda m: m.ragged.constant([[1, [2]]]),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_where_tf_raises(case):
    tf = pytest.importorskip("tensorflow")
    with pytest.raises(Exception):  # noqa: B017 - TF's classes differ; both must refuse
        ERRORS[case](tf)
    with pytest.raises((ValueError, TypeError, IndexError, tapeflow.errors.InvalidArgumentError)):
        ERRORS[case](tapeflow)


def test_private_constructor():
    with pytest.raises(ValueError, match="private"):
        tapeflow.RaggedTensor([1], [0, 1])


def test_out_of_range_reduction_axis_is_named():
    # (axis 0 of ragged rank 2 is supported now: tests/ragged/test_ragged_reduce_axes.py)
    with pytest.raises(ValueError, match="axis 5 is out of range"):
        tapeflow.reduce_sum(_r2(tapeflow), axis=5)

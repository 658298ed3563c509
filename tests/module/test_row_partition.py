"""tf.experimental.RowPartition against TensorFlow: every factory and encoding."""

from __future__ import annotations

import pytest

import tapeflow as tf


def _cases(mod):
    R = mod.experimental.RowPartition  # noqa: N806
    return [R.from_row_lengths([2, 0, 3]), R.from_row_splits([0, 1, 1, 4]), R.from_row_starts([0, 2], 5),
            R.from_row_limits([1, 1, 3]), R.from_value_rowids([0, 0, 2], nrows=4),
            R.from_uniform_row_length(2, nvals=6), R.from_row_lengths(mod.constant([1, 2], mod.int32))]


@pytest.mark.oracle
def test_row_partition_matches_tensorflow():
    real = pytest.importorskip("tensorflow")
    for ours, theirs in zip(_cases(tf), _cases(real), strict=True):
        assert repr(ours) == repr(theirs) and ours.dtype.name == theirs.dtype.name
        for method in ("row_splits", "row_lengths", "row_starts", "row_limits", "value_rowids", "nrows", "nvals",
                       "offsets_in_rows"):
            assert getattr(ours, method)().numpy().tolist() == getattr(theirs, method)().numpy().tolist(), method
        assert ours.is_uniform() == theirs.is_uniform()
        assert ours.static_uniform_row_length == theirs.static_uniform_row_length
        assert ours.with_dtype(tf.int32).row_splits().dtype == tf.int32


def test_invalid_partitions():
    R = tf.experimental.RowPartition  # noqa: N806
    with pytest.raises(tf.errors.InvalidArgumentError, match="start with 0"):
        R.from_row_splits([1, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="ascending"):
        R.from_row_splits([0, 3, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="non-negative"):
        R.from_row_lengths([1, -1])
    with pytest.raises(tf.errors.InvalidArgumentError, match="multiple"):
        R.from_uniform_row_length(4, nvals=6)
    with pytest.raises(ValueError, match="from_\\* factory"):
        R([0, 1], tf.int64)


def _shapes(mod):
    D = mod.experimental.DynamicRaggedShape  # noqa: N806
    return [D.from_tensor(mod.ragged.constant([[1, 2], [3]])), D.from_tensor(mod.zeros([2, 3])),
            D.from_lengths([2, (2, 1), 3]), D.from_lengths([2, (2, 1)]), D.from_lengths([3, 2]),
            D.from_row_partitions([mod.experimental.RowPartition.from_row_lengths([1, 0, 2])])]


@pytest.mark.oracle
def test_dynamic_ragged_shape_matches_tensorflow():
    real = pytest.importorskip("tensorflow")
    for ours, theirs in zip(_shapes(tf), _shapes(real), strict=True):
        assert repr(ours) == repr(theirs)
        assert (ours.rank, ours.num_row_partitions, ours.inner_rank) == (
            theirs.rank, theirs.num_row_partitions, theirs.inner_rank)
        assert ours.static_lengths() == theirs.static_lengths()
        assert ours.inner_shape.numpy().tolist() == theirs.inner_shape.numpy().tolist()
        assert int(ours[0]) == int(theirs[0])
    with pytest.raises(ValueError, match="not uniform"):
        _shapes(tf)[0][1]

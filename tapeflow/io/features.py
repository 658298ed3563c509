"""The feature configurations of `tf.io.parse_example` (TF's namedtuples): `FixedLenFeature`,
`FixedLenSequenceFeature`, `VarLenFeature`, `SparseFeature` and `RaggedFeature`."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from tapeflow import dtypes as _dt


class FixedLenFeature(namedtuple("FixedLenFeature", ["shape", "dtype", "default_value"])):
    """A feature with a fixed number of values: parsed to a dense tensor of `shape` (+ a batch
    dimension in `parse_example`); `default_value` is used where an example lacks it."""

    __slots__ = ()

    def __new__(cls, shape: Any, dtype: Any, default_value: Any = None) -> FixedLenFeature:
        return super().__new__(cls, shape, dtype, default_value)


class FixedLenSequenceFeature(namedtuple("FixedLenSequenceFeature",
                                         ["shape", "dtype", "allow_missing", "default_value"])):
    """A feature holding any number of values of `shape`: parsed to [rows] + shape; a batch is
    padded with `default_value` to its longest example."""

    __slots__ = ()

    def __new__(cls, shape: Any, dtype: Any, allow_missing: bool = False,
                default_value: Any = None) -> FixedLenSequenceFeature:
        return super().__new__(cls, shape, dtype, allow_missing, default_value)


class VarLenFeature(namedtuple("VarLenFeature", ["dtype"])):
    """A feature with any number of values: parsed to a `tf.SparseTensor`."""

    __slots__ = ()


class SparseFeature(namedtuple("SparseFeature", ["index_key", "value_key", "dtype", "size", "already_sorted"])):
    """A sparse tensor stored as index feature(s) `index_key` and a value feature `value_key`,
    of dense shape `size` (an int, or a list with one entry per index key)."""

    __slots__ = ()

    def __new__(cls, index_key: Any, value_key: str, dtype: Any, size: Any,
                already_sorted: bool = False) -> SparseFeature:
        return super().__new__(cls, index_key, value_key, dtype, size, already_sorted)


class RaggedFeature(namedtuple("RaggedFeature", ["dtype", "value_key", "partitions", "row_splits_dtype",
                                                 "validate"])):
    """A feature parsed to a `tf.RaggedTensor`: the values of `value_key` (default: the feature's
    own key), split by `partitions` (outermost first), each read from another int64 feature
    of the same example (or a fixed `UniformRowLength`)."""

    __slots__ = ()
    RowSplits = namedtuple("RowSplits", ["key"])
    RowLengths = namedtuple("RowLengths", ["key"])
    RowStarts = namedtuple("RowStarts", ["key"])
    RowLimits = namedtuple("RowLimits", ["key"])
    ValueRowIds = namedtuple("ValueRowIds", ["key"])
    UniformRowLength = namedtuple("UniformRowLength", ["length"])

    def __new__(cls, dtype: Any, value_key: str | None = None, partitions: Any = (), row_splits_dtype: Any = "int32",
                validate: bool = False) -> RaggedFeature:
        return super().__new__(cls, _dt.as_dtype(dtype), value_key, tuple(partitions),
                               _dt.as_dtype(row_splits_dtype), validate)

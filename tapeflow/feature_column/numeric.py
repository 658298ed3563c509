"""`numeric_column` (a float32 feature, optionally normalized) and `bucketized_column` (its buckets)."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.feature_column import base
from tapeflow.io import FixedLenFeature
from tapeflow.sparse.sparse_tensor import SparseTensor
from tapeflow.tensor import Tensor, TensorShape


class NumericColumn(base.OnKey, base.DenseColumn, collections.namedtuple(
        "NumericColumn", ("key", "shape", "default_value", "dtype", "normalizer_fn"))):
    """A dense feature of `shape` per example, cast to float32 after `normalizer_fn`."""

    __slots__ = ()

    @property
    def parse_example_spec(self) -> dict:
        return {self.key: FixedLenFeature(self.shape, self.dtype, self.default_value)}

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape(self.shape)

    def transform_feature(self, transformation_cache: Any, state_manager: Any = None) -> Tensor:
        x = transformation_cache.get(self.key, state_manager)
        if isinstance(x, SparseTensor):
            raise ValueError("The corresponding Tensor of numerical column must be a Tensor. "
                             f"SparseTensor is not supported. key: {self.key}")
        if self.normalizer_fn is not None:
            x = self.normalizer_fn(x)
        from tapeflow.ops import elementwise as ew

        return ew.cast(x, _dt.float32)

    def get_dense_tensor(self, transformation_cache: Any, state_manager: Any = None) -> Tensor:
        return transformation_cache.get(self, state_manager)


def numeric_column(key: str, shape: Any = (1,), default_value: Any = None, dtype: Any = _dt.float32,
                   normalizer_fn: Callable | None = None) -> NumericColumn:
    """A column for a real-valued feature of `shape` per example.

    Example:
        >>> tf.feature_column.numeric_column("price", shape=(2,))
        NumericColumn(key='price', shape=(2,), default_value=None, dtype=tf.float32, normalizer_fn=None)
    """
    shape = base.check_shape(shape, key)
    dtype = _dt.as_dtype(dtype)
    if not (dtype.is_integer or dtype.is_floating):
        raise ValueError(f"dtype must be convertible to float. dtype: {dtype}, key: {key}")
    default_value = base.check_default_value(shape, default_value, dtype, key)
    if normalizer_fn is not None and not callable(normalizer_fn):
        raise TypeError(f"normalizer_fn must be a callable. Given: {normalizer_fn}")
    base.check_key(key)
    return NumericColumn(key, shape=shape, default_value=default_value, dtype=dtype,
                         normalizer_fn=normalizer_fn)


class BucketizedColumn(base.DenseColumn, base.CategoricalColumn, collections.namedtuple(
        "BucketizedColumn", ("source_column", "boundaries"))):
    """The bucket of each value of a 1-D numeric column: dense one-hot [batch, dim, buckets], or
    sparse ids `bucket + i * buckets` for element i."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return f"{self.source_column.name}_bucketized"

    @property
    def parse_example_spec(self) -> dict:
        return self.source_column.parse_example_spec

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape(tuple(self.source_column.shape) + (len(self.boundaries) + 1,))

    @property
    def num_buckets(self) -> int:
        return (len(self.boundaries) + 1) * self.source_column.shape[0]

    @property
    def parents(self) -> list:
        return [self.source_column]

    def transform_feature(self, transformation_cache: Any, state_manager: Any = None) -> Tensor:
        x = base.host(transformation_cache.get(self.source_column, state_manager))
        # NOTE: TF's Bucketize keeps boundaries as float32: bucket = #boundaries <= x.
        edges = np.asarray(self.boundaries, np.float32)
        return Tensor(np.searchsorted(edges, x.astype(np.float32), side="right").astype(np.int32))

    def get_dense_tensor(self, transformation_cache: Any, state_manager: Any = None) -> Tensor:
        ids = base.host(transformation_cache.get(self, state_manager))
        return Tensor(np.eye(len(self.boundaries) + 1, dtype=np.float32)[ids])

    def get_sparse_tensors(self, transformation_cache: Any,
                           state_manager: Any = None) -> base.CategoricalColumn.IdWeightPair:
        ids = base.host(transformation_cache.get(self, state_manager))
        batch, dim = ids.shape[0], self.source_column.shape[0]
        i1 = np.repeat(np.arange(batch), dim)
        i2 = np.tile(np.arange(dim), batch)
        values = ids.reshape(-1) + (len(self.boundaries) + 1) * i2.astype(np.int32)
        sp = SparseTensor(np.stack([i1, i2], 1).astype(np.int64), Tensor(values.astype(np.int32)),
                          [batch, dim])
        return base.CategoricalColumn.IdWeightPair(sp, None)


def bucketized_column(source_column: NumericColumn, boundaries: Any) -> BucketizedColumn:
    """Buckets of a 1-D `numeric_column` split at the sorted `boundaries` (len + 1 buckets).

    Example:
        >>> tf.feature_column.bucketized_column(tf.feature_column.numeric_column("age"), [18, 65])
    """
    if not isinstance(source_column, NumericColumn):
        raise ValueError(f"source_column must be a column generated with numeric_column(). "
                         f"Given: {source_column}")
    if len(source_column.shape) > 1:
        raise ValueError(f"source_column must be one-dimensional column. Given: {source_column}")
    if not boundaries:
        raise ValueError("boundaries must not be empty.")
    if not isinstance(boundaries, (list, tuple)):
        raise ValueError("boundaries must be a sorted list.")
    for lo, hi in zip(boundaries[:-1], boundaries[1:], strict=True):
        if lo >= hi:
            raise ValueError("boundaries must be a sorted list.")
    return BucketizedColumn(source_column, tuple(boundaries))

"""Sequence columns: a variable-length sequence per example (`sequence_numeric_column`, and
`sequence_categorical_column_with_*` whose ids keep the time axis: [batch, time, ids])."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.feature_column import base, categorical
from tapeflow.feature_column.dense_of_ids import sequence_length_from_sparse_tensor
from tapeflow.io import VarLenFeature
from tapeflow.sparse.sparse_tensor import SparseTensor
from tapeflow.tensor import Tensor, TensorShape


class SequenceNumericColumn(base.OnKey, base.SequenceDenseColumn, collections.namedtuple(
        "SequenceNumericColumn", ("key", "shape", "default_value", "dtype", "normalizer_fn"))):
    """A sequence of `shape`-valued steps per example, padded with `default_value`."""

    __slots__ = ()

    @property
    def parse_example_spec(self) -> dict:
        return {self.key: VarLenFeature(self.dtype)}

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape(self.shape)

    def transform_feature(self, transformation_cache: Any, state_manager: Any = None) -> Any:
        x = transformation_cache.get(self.key, state_manager)
        return self.normalizer_fn(x) if self.normalizer_fn is not None else x

    def get_sequence_dense_tensor(self, transformation_cache: Any,
                                  state_manager: Any = None) -> base.SequenceDenseColumn.TensorSequenceLengthPair:
        """[batch, time, *shape] values (the sparse input densified) and [batch] int64 lengths."""
        sp = transformation_cache.get(self, state_manager)
        if not isinstance(sp, SparseTensor):
            raise ValueError(f"sequence_numeric_column {self.key} expects a SparseTensor input, "
                             f"received {type(sp).__name__}.")
        idx, values, shape = base.sparse_parts(sp)
        dense = np.full(shape, self.default_value, values.dtype)
        dense[tuple(idx.T)] = values
        dense = dense.reshape([shape[0], -1] + list(self.shape))
        n = base.num_elements(self.shape) if len(shape) == 2 else 1
        return base.SequenceDenseColumn.TensorSequenceLengthPair(
            Tensor(dense), sequence_length_from_sparse_tensor(sp, num_elements=n))


class SequenceCategoricalColumn(base.OverCategorical, base.CategoricalColumn, collections.namedtuple(
        "SequenceCategoricalColumn", ("categorical_column",))):
    """`categorical_column` with ids reshaped to [batch, time, ids], so that embeddings and
    indicators are per step (use with `embedding_column` / `indicator_column`)."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return self.categorical_column.name

    @property
    def num_buckets(self) -> int:
        return self.categorical_column.num_buckets

    def transform_feature(self, transformation_cache: Any, state_manager: Any = None) -> Any:
        return self.categorical_column.transform_feature(transformation_cache, state_manager)

    def get_sparse_tensors(self, transformation_cache: Any,
                           state_manager: Any = None) -> base.CategoricalColumn.IdWeightPair:
        pair = self.categorical_column.get_sparse_tensors(transformation_cache, state_manager)
        return base.CategoricalColumn.IdWeightPair(_to_rank3(pair.id_tensor), None if pair.weight_tensor is None
                                                   else _to_rank3(pair.weight_tensor))


def _to_rank3(sp: SparseTensor) -> SparseTensor:
    """[d0, d1, prod(rest)] (a rank-2 input gets a trailing axis of 1)."""
    idx, _, shape = base.sparse_parts(sp)
    rest = shape[2:]
    inner = np.ravel_multi_index(idx[:, 2:].T, rest) if rest and len(idx) else np.zeros(len(idx), np.int64)
    new_idx = np.stack([idx[:, 0], idx[:, 1], inner], 1).astype(np.int64) if len(idx) else np.zeros((0, 3), np.int64)
    return SparseTensor(new_idx, sp.values, [shape[0], shape[1], int(np.prod(rest)) if rest else 1])


def sequence_numeric_column(key: str, shape: Any = (1,), default_value: float = 0.0, dtype: Any = _dt.float32,
                            normalizer_fn: Callable | None = None) -> SequenceNumericColumn:
    """A column for a sequence of real values (a VarLenFeature) per example."""
    shape = base.check_shape(shape, key)
    dtype = _dt.as_dtype(dtype)
    if not (dtype.is_integer or dtype.is_floating):
        raise ValueError(f"dtype must be convertible to float. dtype: {dtype}, key: {key}")
    if normalizer_fn is not None and not callable(normalizer_fn):
        raise TypeError(f"normalizer_fn must be a callable. Given: {normalizer_fn}")
    return SequenceNumericColumn(key, shape=shape, default_value=default_value, dtype=dtype,
                                 normalizer_fn=normalizer_fn)


def sequence_categorical_column_with_identity(key: str, num_buckets: int,
                                              default_value: Any = None) -> SequenceCategoricalColumn:
    """A sequence of integer ids per example."""
    return SequenceCategoricalColumn(categorical.categorical_column_with_identity(
        key=key, num_buckets=num_buckets, default_value=default_value))


def sequence_categorical_column_with_hash_bucket(key: str, hash_bucket_size: int,
                                                 dtype: Any = _dt.string) -> SequenceCategoricalColumn:
    """A sequence of hashed ids per example."""
    return SequenceCategoricalColumn(categorical.categorical_column_with_hash_bucket(
        key=key, hash_bucket_size=hash_bucket_size, dtype=dtype))


def sequence_categorical_column_with_vocabulary_file(key: str, vocabulary_file: str,
                                                     vocabulary_size: Any = None, num_oov_buckets: int = 0,
                                                     default_value: Any = None,
                                                     dtype: Any = _dt.string) -> SequenceCategoricalColumn:
    """A sequence of ids looked up in a vocabulary file per example."""
    return SequenceCategoricalColumn(categorical.categorical_column_with_vocabulary_file(
        key=key, vocabulary_file=vocabulary_file, vocabulary_size=vocabulary_size,
        num_oov_buckets=num_oov_buckets, default_value=default_value, dtype=dtype))


def sequence_categorical_column_with_vocabulary_list(key: str, vocabulary_list: Any, dtype: Any = None,
                                                     default_value: int = -1,
                                                     num_oov_buckets: int = 0) -> SequenceCategoricalColumn:
    """A sequence of ids looked up in a vocabulary list per example."""
    return SequenceCategoricalColumn(categorical.categorical_column_with_vocabulary_list(
        key=key, vocabulary_list=vocabulary_list, dtype=dtype, default_value=default_value,
        num_oov_buckets=num_oov_buckets))

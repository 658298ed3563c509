"""Dense columns of categorical ids: `indicator_column` (multi-hot counts or summed weights) and
`embedding_column` (ids looked up in a trainable [num_buckets, dimension] table and combined)."""

from __future__ import annotations

import collections
import math
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.feature_column import base
from tapeflow.sparse.sparse_tensor import SparseTensor
from tapeflow.tensor import Tensor, TensorShape


def sequence_length_from_sparse_tensor(sp: SparseTensor, num_elements: int = 1) -> Tensor:
    """[batch] int64: per row, 1 + the last used position of axis 1, in groups of `num_elements`."""
    idx, _, shape = base.sparse_parts(sp)
    lengths = np.zeros(shape[0], np.int64)
    if len(idx):
        np.maximum.at(lengths, idx[:, 0], idx[:, 1] + 1)
    return Tensor(np.ceil(lengths / num_elements).astype(np.int64))


def _is_sequence(column: Any) -> bool:
    from tapeflow.feature_column.sequence import SequenceCategoricalColumn

    return isinstance(column, SequenceCategoricalColumn)


def _wrong_sequence_use(kind: str, column: Any, sequence: bool) -> ValueError:
    cat = column.categorical_column
    if sequence:
        return ValueError(
            f"In {kind}: {column.name}. categorical_column must be of type SequenceCategoricalColumn to "
            "use SequenceFeatures. Suggested fix: Use one of sequence_categorical_column_with_*. "
            f"Given (type {type(cat)}): {cat}")
    return ValueError(
        f"In {kind}: {column.name}. categorical_column must not be of type SequenceCategoricalColumn. "
        "Suggested fix A: If you wish to use DenseFeatures, use a non-sequence "
        "categorical_column_with_*. Suggested fix B: If you wish to create sequence input, use "
        f"SequenceFeatures instead of DenseFeatures. Given (type {type(cat)}): {cat}")


class IndicatorColumn(base.OverCategorical, base.DenseColumn, base.SequenceDenseColumn, collections.namedtuple(
        "IndicatorColumn", ("categorical_column",))):
    """Multi-hot [batch, num_buckets] float32: how often each id occurs (or its summed weights)."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_indicator"

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape([1, self.categorical_column.num_buckets])

    def transform_feature(self, transformation_cache: Any, state_manager: Any = None) -> Tensor:
        pair = self.categorical_column.get_sparse_tensors(transformation_cache, state_manager)
        n = self.categorical_column.num_buckets
        idx, ids, shape = base.sparse_parts(pair.id_tensor)
        ids = ids.astype(np.int64)
        if pair.weight_tensor is not None:
            # NOTE: TF merges (row, id) -> weight and sums duplicates (scatter_nd).
            weights = base.host(pair.weight_tensor.values)
            out = np.zeros((shape[0], n), weights.dtype)
            ok = (ids >= 0) & (ids < n)
            np.add.at(out, (idx[ok, 0], ids[ok]), weights[ok])
            return Tensor(out)
        out = np.zeros(tuple(shape[:-1]) + (n,), np.float32)
        ok = (ids >= 0) & (ids < n)  # one_hot of an out-of-range id is all zeros
        np.add.at(out, tuple(idx[ok, :-1].T) + (ids[ok],), 1.0)
        return Tensor(out)

    def get_dense_tensor(self, transformation_cache: Any, state_manager: Any = None) -> Tensor:
        if _is_sequence(self.categorical_column):
            raise _wrong_sequence_use("indicator_column", self, sequence=False)
        return transformation_cache.get(self, state_manager)

    def get_sequence_dense_tensor(self, transformation_cache: Any,
                                  state_manager: Any = None) -> base.SequenceDenseColumn.TensorSequenceLengthPair:
        if not _is_sequence(self.categorical_column):
            raise _wrong_sequence_use("indicator_column", self, sequence=True)
        dense = transformation_cache.get(self, state_manager)
        pair = self.categorical_column.get_sparse_tensors(transformation_cache, state_manager)
        return base.SequenceDenseColumn.TensorSequenceLengthPair(
            dense, sequence_length_from_sparse_tensor(pair.id_tensor))


def embedding_lookup(pair: base.CategoricalColumn.IdWeightPair, weights: Any, combiner: str,
                     max_norm: Any, safe: bool) -> Tensor:
    """The combined embeddings of each row of ids (TF's safe / plain embedding_lookup_sparse)."""
    from tapeflow.nn_sampled import embedding_lookup_sparse, safe_embedding_lookup_sparse

    ids = pair.id_tensor
    if not safe and len(ids.shape) <= 2:
        return embedding_lookup_sparse(weights, ids, pair.weight_tensor, combiner=combiner, max_norm=max_norm)
    return safe_embedding_lookup_sparse(weights, ids, pair.weight_tensor, combiner=combiner,
                                        max_norm=max_norm)


def v1_variable(name: str, shape: tuple, initializer: Any, trainable: bool,
                made: Any = None) -> Any:
    """A float32 variable `<current scope>/name` with `initializer(shape, dtype=...)`'s value
    (TF passes `partition_info` too when the initializer takes it)."""
    import inspect

    from tapeflow.tensor import Variable

    try:
        takes_partition = "partition_info" in inspect.signature(initializer).parameters
    except (TypeError, ValueError):
        takes_partition = False
    extra = {"partition_info": None} if takes_partition else {}
    value = initializer(list(shape), dtype=_dt.float32, **extra)
    full = "/".join(base.SCOPES + [name])
    variable = Variable(value, trainable=trainable, name=full, dtype=_dt.float32)
    if made is not None:
        made.append(variable)
    return variable


class EmbeddingColumn(base.OverCategorical, base.DenseColumn, base.SequenceDenseColumn, collections.namedtuple(
        "EmbeddingColumn", ("categorical_column", "dimension", "combiner", "initializer",
                            "ckpt_to_load_from", "tensor_name_in_ckpt", "max_norm", "trainable",
                            "use_safe_embedding_lookup"))):
    """[batch, dimension]: the embeddings of each example's ids combined by `combiner`."""

    __slots__ = ()

    def __new__(cls, categorical_column: Any, dimension: int, combiner: str, initializer: Any,
                ckpt_to_load_from: Any, tensor_name_in_ckpt: Any, max_norm: Any, trainable: bool,
                use_safe_embedding_lookup: bool = True) -> Any:
        return super().__new__(cls, categorical_column, dimension, combiner, initializer,
                               ckpt_to_load_from, tensor_name_in_ckpt, max_norm, trainable,
                               use_safe_embedding_lookup)

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_embedding"

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape([self.dimension])

    def transform_feature(self, transformation_cache: Any, state_manager: Any = None) -> Any:
        return transformation_cache.get(self.categorical_column, state_manager)

    def create_state(self, state_manager: Any) -> None:
        state_manager.create_variable(self, name="embedding_weights",
                                      shape=(self.categorical_column.num_buckets, self.dimension),
                                      dtype=_dt.float32, trainable=self.trainable, use_resource=True,
                                      initializer=self.initializer)

    def _weights(self, state_manager: Any, trainable: bool = True, made: Any = None) -> Any:
        if state_manager is not None:
            return state_manager.get_variable(self, name="embedding_weights")
        if self.ckpt_to_load_from is not None:
            from tapeflow.errors import UnimplementedError

            raise UnimplementedError(None, None, f"embedding_column {self.name}: ckpt_to_load_from "
                                     "(warm-starting from a TF1 checkpoint) is not supported; assign "
                                     "the embedding weights instead.")
        return v1_variable("embedding_weights", (self.categorical_column.num_buckets, self.dimension),
                           self.initializer, self.trainable and trainable, made)

    def _lookup(self, pair: Any, weights: Any) -> Tensor:
        return embedding_lookup(pair, weights, self.combiner, self.max_norm,
                                self.use_safe_embedding_lookup)

    def get_dense_tensor(self, transformation_cache: Any, state_manager: Any = None, *,
                         trainable: bool = True, made: Any = None) -> Tensor:
        if _is_sequence(self.categorical_column):
            raise _wrong_sequence_use("embedding_column", self, sequence=False)
        pair = self.categorical_column.get_sparse_tensors(transformation_cache, state_manager)
        return self._lookup(pair, self._weights(state_manager, trainable, made))

    def get_sequence_dense_tensor(self, transformation_cache: Any,
                                  state_manager: Any = None) -> base.SequenceDenseColumn.TensorSequenceLengthPair:
        if not _is_sequence(self.categorical_column):
            raise _wrong_sequence_use("embedding_column", self, sequence=True)
        pair = self.categorical_column.get_sparse_tensors(transformation_cache, state_manager)
        dense = self._lookup(pair, self._weights(state_manager))
        return base.SequenceDenseColumn.TensorSequenceLengthPair(
            dense, sequence_length_from_sparse_tensor(pair.id_tensor))


def _check_embedding_args(dimension: Any, ckpt_to_load_from: Any, tensor_name_in_ckpt: Any) -> None:
    if dimension is None or dimension < 1:
        raise ValueError(f"Invalid dimension {dimension}.")
    if (ckpt_to_load_from is None) != (tensor_name_in_ckpt is None):
        raise ValueError("Must specify both `ckpt_to_load_from` and `tensor_name_in_ckpt` or none of them.")


def default_initializer(dimension: int) -> Any:
    """TF's default embedding initializer: truncated normal, stddev 1/sqrt(dimension)."""
    from tapeflow.compat.v1 import truncated_normal_initializer

    return truncated_normal_initializer(mean=0.0, stddev=1 / math.sqrt(dimension))


def embedding_column(categorical_column: base.CategoricalColumn, dimension: int, combiner: str = "mean",
                     initializer: Any = None, ckpt_to_load_from: Any = None,
                     tensor_name_in_ckpt: Any = None, max_norm: Any = None, trainable: bool = True,
                     use_safe_embedding_lookup: bool = True) -> EmbeddingColumn:
    """A dense column embedding the ids of `categorical_column` in `dimension` dimensions.

    combiner: how a row's several ids are combined ('mean', 'sqrtn' or 'sum', weighted when the
    column is weighted); max_norm: clip each embedding to this L2 norm first.
    """
    _check_embedding_args(dimension, ckpt_to_load_from, tensor_name_in_ckpt)
    if initializer is not None and not callable(initializer):
        raise ValueError("initializer must be callable if specified. Embedding of column_name: "
                         f"{categorical_column.name}")
    if initializer is None:
        initializer = default_initializer(dimension)
    return EmbeddingColumn(categorical_column=categorical_column, dimension=dimension, combiner=combiner,
                           initializer=initializer, ckpt_to_load_from=ckpt_to_load_from,
                           tensor_name_in_ckpt=tensor_name_in_ckpt, max_norm=max_norm,
                           trainable=trainable, use_safe_embedding_lookup=use_safe_embedding_lookup)


def indicator_column(categorical_column: base.CategoricalColumn) -> IndicatorColumn:
    """A dense multi-hot column of `categorical_column`'s ids.

    Example:
        >>> col = tf.feature_column.categorical_column_with_identity("type", num_buckets=3)
        >>> tf.feature_column.indicator_column(col).name
        'type_indicator'
    """
    if not isinstance(categorical_column, base.CategoricalColumn):
        raise ValueError(f"Unsupported input type. Input must be a CategoricalColumn. "
                         f"Given: {categorical_column}")
    return IndicatorColumn(categorical_column)

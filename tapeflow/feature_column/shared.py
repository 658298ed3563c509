"""Embedding columns sharing one table: `shared_embeddings` (TF 2) and `shared_embedding_columns`
(compat.v1). As in TF, they can only be made while building a graph (not eagerly)."""

from __future__ import annotations

import collections
from typing import Any

from tapeflow.feature_column import base
from tapeflow.feature_column.dense_of_ids import (
    _check_embedding_args,
    default_initializer,
    embedding_lookup,
    v1_variable,
)
from tapeflow.tensor import Tensor, TensorShape


def _check_graph_mode() -> None:
    import tapeflow as tf

    if tf.executing_eagerly():
        raise RuntimeError("shared_embedding_columns are not supported when eager execution is enabled.")


def _unwrap(column: Any) -> Any:
    from tapeflow.feature_column.combined import WeightedCategoricalColumn
    from tapeflow.feature_column.sequence import SequenceCategoricalColumn

    while isinstance(column, (WeightedCategoricalColumn, SequenceCategoricalColumn)):
        column = column.categorical_column
    return column


def _check_columns(categorical_columns: Any) -> tuple[list, int]:
    """The columns sorted by name and their common number of buckets (TF's checks)."""
    columns = sorted(categorical_columns, key=lambda c: c.name)
    c0 = columns[0]
    if not isinstance(c0, base.CategoricalColumn):
        raise ValueError(f"All categorical_columns must be subclasses of CategoricalColumn. Given: {c0}, "
                         f"of type: {type(c0)}")
    num_buckets = c0.num_buckets
    c0 = _unwrap(c0)
    for c in columns[1:]:
        c = _unwrap(c)
        if not isinstance(c, type(c0)):
            raise ValueError(
                "To use shared_embedding_column, all categorical_columns must have the same type, or be "
                "weighted_categorical_column or sequence column of the same type. Given column: "
                f"{c0} of type: {type(c0)} does not match given column: {c} of type: {type(c)}")
        if num_buckets != c.num_buckets:
            raise ValueError(
                "To use shared_embedding_column, all categorical_columns must have the same number of "
                f"buckets. Given column: {c0} with buckets: {num_buckets} does  not match column: {c} "
                f"with buckets: {c.num_buckets}")
    return columns, num_buckets


class SharedEmbeddingColumnCreator:
    """Owns the shared [num_buckets, dimension] table (made on first use) of `shared_embeddings`."""

    def __init__(self, dimension: int, initializer: Any, ckpt_to_load_from: Any, tensor_name_in_ckpt: Any,
                 num_buckets: int, trainable: bool, name: str = "shared_embedding_column_creator",
                 use_safe_embedding_lookup: bool = True) -> None:
        self._dimension, self._initializer, self._num_buckets = dimension, initializer, num_buckets
        self._ckpt_to_load_from, self._tensor_name_in_ckpt = ckpt_to_load_from, tensor_name_in_ckpt
        self._trainable, self._name = trainable, name
        self._use_safe_embedding_lookup = use_safe_embedding_lookup
        self._embedding_weights: Any = None

    def __call__(self, categorical_column: Any, combiner: str, max_norm: Any) -> SharedEmbeddingColumn:
        return SharedEmbeddingColumn(categorical_column, self, combiner, max_norm,
                                     self._use_safe_embedding_lookup)

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def embedding_weights(self) -> Any:
        if self._embedding_weights is None:
            self._embedding_weights = v1_variable(self._name, (self._num_buckets, self._dimension),
                                                  self._initializer, self._trainable)
        return self._embedding_weights


class SharedEmbeddingColumn(base.OverCategorical, base.DenseColumn, base.SequenceDenseColumn, collections.namedtuple(
        "SharedEmbeddingColumn", ("categorical_column", "shared_embedding_column_creator", "combiner",
                                  "max_norm", "use_safe_embedding_lookup"))):
    """An embedding column whose table is its creator's, shared with the other columns it made."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_shared_embedding"

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape([self.shared_embedding_column_creator.dimension])

    def transform_feature(self, transformation_cache: Any, state_manager: Any = None) -> Any:
        return transformation_cache.get(self.categorical_column, state_manager)

    def get_dense_tensor(self, transformation_cache: Any, state_manager: Any = None) -> Tensor:
        pair = self.categorical_column.get_sparse_tensors(transformation_cache, state_manager)
        return embedding_lookup(pair, self.shared_embedding_column_creator.embedding_weights, self.combiner,
                                self.max_norm, self.use_safe_embedding_lookup)


class _SharedEmbeddingColumn(base.OverCategorical, base.DenseColumn, collections.namedtuple(
        "_SharedEmbeddingColumn", ("categorical_column", "dimension", "combiner", "initializer",
                                   "shared_embedding_collection_name", "ckpt_to_load_from",
                                   "tensor_name_in_ckpt", "max_norm", "trainable",
                                   "use_safe_embedding_lookup"))):
    """compat.v1's shared embedding column: the table is the first variable of the graph collection
    `shared_embedding_collection_name` (made by the first column that needs it)."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_shared_embedding"

    @property
    def var_scope_name(self) -> str:
        return self.shared_embedding_collection_name

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape([self.dimension])

    def transform_feature(self, transformation_cache: Any, state_manager: Any = None) -> Any:
        return transformation_cache.get(self.categorical_column, state_manager)

    def get_dense_tensor(self, transformation_cache: Any, state_manager: Any = None, *,
                         trainable: bool = True, made: Any = None) -> Tensor:
        from tapeflow.compat.v1 import add_to_collection, get_collection

        pair = self.categorical_column.get_sparse_tensors(transformation_cache, state_manager)
        shared = get_collection(self.shared_embedding_collection_name)
        if shared:
            weights = shared[0]
            expected = (self.categorical_column.num_buckets, self.dimension)
            if tuple(weights.shape) != expected:
                raise ValueError(f"Shared embedding collection {self.shared_embedding_collection_name} "
                                 f"contains variable {weights} of unexpected shape "
                                 f"{tuple(weights.shape)}. Expected shape is {expected}.")
        else:
            weights = v1_variable("embedding_weights", (self.categorical_column.num_buckets, self.dimension),
                                  self.initializer, self.trainable and trainable, made)
            add_to_collection(self.shared_embedding_collection_name, weights)
        return embedding_lookup(pair, weights, self.combiner, self.max_norm, self.use_safe_embedding_lookup)


def _prepare(categorical_columns: Any, dimension: Any, initializer: Any, ckpt_to_load_from: Any,
             tensor_name_in_ckpt: Any, collection_name: Any) -> tuple[Any, int, str]:
    _check_graph_mode()
    _check_embedding_args(dimension, ckpt_to_load_from, tensor_name_in_ckpt)
    if initializer is not None and not callable(initializer):
        raise ValueError("initializer must be callable if specified.")
    if initializer is None:
        initializer = default_initializer(dimension)
    columns, num_buckets = _check_columns(categorical_columns)
    if not collection_name:
        collection_name = "_".join(c.name for c in columns) + "_shared_embedding"
    return initializer, num_buckets, collection_name


def shared_embeddings(categorical_columns: Any, dimension: int, combiner: str = "mean",
                      initializer: Any = None, shared_embedding_collection_name: Any = None,
                      ckpt_to_load_from: Any = None, tensor_name_in_ckpt: Any = None, max_norm: Any = None,
                      trainable: bool = True, use_safe_embedding_lookup: bool = True) -> list:
    """One `SharedEmbeddingColumn` per categorical column, all reading one embedding table."""
    initializer, num_buckets, name = _prepare(categorical_columns, dimension, initializer,
                                              ckpt_to_load_from, tensor_name_in_ckpt,
                                              shared_embedding_collection_name)
    creator = SharedEmbeddingColumnCreator(dimension, initializer, ckpt_to_load_from, tensor_name_in_ckpt,
                                           num_buckets, trainable, name, use_safe_embedding_lookup)
    return [creator(categorical_column=c, combiner=combiner, max_norm=max_norm) for c in categorical_columns]


def shared_embedding_columns(categorical_columns: Any, dimension: int, combiner: str = "mean",
                             initializer: Any = None, shared_embedding_collection_name: Any = None,
                             ckpt_to_load_from: Any = None, tensor_name_in_ckpt: Any = None,
                             max_norm: Any = None, trainable: bool = True,
                             use_safe_embedding_lookup: bool = True) -> list:
    """compat.v1: embedding columns sharing the table of graph collection
    `shared_embedding_collection_name` (usable in `input_layer`)."""
    initializer, _, name = _prepare(categorical_columns, dimension, initializer, ckpt_to_load_from,
                                    tensor_name_in_ckpt, shared_embedding_collection_name)
    return [_SharedEmbeddingColumn(c, dimension, combiner, initializer, name, ckpt_to_load_from,
                                   tensor_name_in_ckpt, max_norm, trainable, use_safe_embedding_lookup)
            for c in categorical_columns]

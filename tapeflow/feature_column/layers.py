"""compat.v1's `input_layer` (the columns' dense tensors side by side) and `linear_model` (a
weighted sum of every column plus a bias), their variables made with `tf.compat.v1.get_variable`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow.feature_column import base
from tapeflow.feature_column.dense_of_ids import EmbeddingColumn, embedding_lookup
from tapeflow.tensor import Tensor


def normalize_feature_columns(feature_columns: Any) -> list:
    """A list of distinctly named columns (one column is a list of one), TF's checks."""
    if isinstance(feature_columns, base.FeatureColumn):
        feature_columns = [feature_columns]
    if isinstance(feature_columns, Iterator):
        feature_columns = list(feature_columns)
    if isinstance(feature_columns, dict):
        raise ValueError("Expected feature_columns to be iterable, found dict.")
    for column in feature_columns:
        if not isinstance(column, base.FeatureColumn):
            raise ValueError(f"Items of feature_columns must be a _FeatureColumn. Given (type "
                             f"{type(column)}): {column}.")
    if not feature_columns:
        raise ValueError("feature_columns must not be empty.")
    by_name: dict = {}
    for column in feature_columns:
        if column.name in by_name:
            raise ValueError(
                f"Duplicate feature column name found for columns: {column} and {by_name[column.name]}. "
                "This usually means that these columns refer to same base feature. Either one must be "
                "discarded or a duplicated but renamed item must be inserted in features dict.")
        by_name[column.name] = column
    return list(feature_columns)


def _scope_name(column: Any) -> str:
    return getattr(column, "var_scope_name", column.name)


def _check_batch_sizes(tensors: list, columns: list) -> None:
    first = None
    for i, t in enumerate(tensors):
        size = t.shape[0]
        if size is None:
            continue
        if first is None:
            first = i
        elif tensors[first].shape[0] != size:
            raise ValueError(f"Batch size (first dimension) of each feature must be same. Batch size of "
                             f"columns ({columns[first].name}, {columns[i].name}): "
                             f"({tensors[first].shape[0]}, {size})")


def _dense_tensor(column: Any, cache: base.FeatureTransformationCache, trainable: bool,
                  made: list) -> Tensor:
    """The column's dense tensor; the variables it makes are appended to `made`."""
    if isinstance(column, EmbeddingColumn) or hasattr(column, "shared_embedding_collection_name"):
        return column.get_dense_tensor(cache, None, trainable=trainable, made=made)
    if hasattr(column, "shared_embedding_column_creator"):
        raise ValueError("SharedEmbeddingColumns are not supported in `linear_model` or `input_layer`. "
                         "Please use `DenseFeatures` or `LinearModel` instead.")
    return column.get_dense_tensor(cache, None)


def input_layer(features: dict, feature_columns: Any, weight_collections: Any = None,
                trainable: bool = True, cols_to_vars: dict | None = None,
                cols_to_output_tensors: dict | None = None) -> Tensor:
    """[batch, sum of the columns' sizes] float32: each dense column's tensor flattened per
    example, concatenated in the order of the columns' names.

    Embedding tables are made as `input_layer/<column name>/embedding_weights`.

    Example:
        >>> price = tf.feature_column.numeric_column("price")
        >>> tf.compat.v1.feature_column.input_layer({"price": [[1.0], [2.0]]}, [price]).shape
        TensorShape([2, 1])
    """
    from tapeflow.ops import movement as mv

    columns = normalize_feature_columns(feature_columns)
    for column in columns:
        if not isinstance(column, base.DenseColumn):
            raise ValueError("Items of feature_columns must be a _DenseColumn. You can wrap a categorical "
                             "column with an embedding_column or indicator_column. Given: "
                             f"{column}")
    cache = base.FeatureTransformationCache(features)
    outputs, ordered = [], []
    with base.scope(base.unique_scope_name("input_layer")):
        for column in sorted(columns, key=lambda c: c.name):
            ordered.append(column)
            with base.scope(_scope_name(column)):
                made: list = []
                tensor = _dense_tensor(column, cache, trainable, made)
                out = mv.reshape(tensor, (-1, base.num_elements(column.variable_shape)))
                outputs.append(out)
                if cols_to_vars is not None:
                    cols_to_vars[column] = made
                if cols_to_output_tensors is not None:
                    cols_to_output_tensors[column] = out
        _check_batch_sizes(outputs, ordered)
        return mv.concat(outputs, 1)


def _weighted_sum(column: Any, cache: base.FeatureTransformationCache, weights: Any,
                  sparse_combiner: str, trainable: bool, made: list) -> Tensor:
    """[batch, units]: ids looked up in `weights` and combined, or dense values @ `weights`."""
    from tapeflow.ops import linalg
    from tapeflow.ops import movement as mv
    from tapeflow.sparse import reshape as sparse_reshape

    if isinstance(column, base.CategoricalColumn):
        pair = column.get_sparse_tensors(cache, None)
        batch = int(base.host(pair.id_tensor.dense_shape)[0])
        ids = sparse_reshape(pair.id_tensor, [batch, -1])
        w = None if pair.weight_tensor is None else sparse_reshape(pair.weight_tensor, [batch, -1])
        return embedding_lookup(base.CategoricalColumn.IdWeightPair(ids, w), weights, sparse_combiner,
                                None, safe=True)
    tensor = _dense_tensor(column, cache, trainable, made)
    return linalg.matmul(mv.reshape(tensor, (-1, base.num_elements(column.variable_shape))), weights)


def linear_model(features: dict, feature_columns: Any, units: int = 1, sparse_combiner: str = "sum",
                 weight_collections: Any = None, trainable: bool = True,
                 cols_to_vars: dict | None = None) -> Tensor:
    """[batch, units] float32: sum over the columns (sorted by name) of each column's weighted sum
    (`linear_model/<column>/weights`, zeros at first) plus `linear_model/bias_weights`.

    Categorical columns act as multi-hot vectors: their ids' weight rows are combined by
    `sparse_combiner` ('sum', 'mean' or 'sqrtn').
    """
    from tapeflow.ops import elementwise as ew
    from tapeflow.tensor import Variable

    columns = normalize_feature_columns(feature_columns)
    for column in columns:
        if not isinstance(column, (base.DenseColumn, base.CategoricalColumn)):
            raise ValueError("Items of feature_columns must be either a _DenseColumn or "
                             f"_CategoricalColumn. Given: {column}")
    cache = base.FeatureTransformationCache(features)
    sums, ordered = [], []
    outer = base.unique_scope_name("linear_model")
    with base.scope(outer):
        for column in sorted(columns, key=lambda c: c.name):
            with base.scope(base.unique_scope_name(_scope_name(column))):
                rows = (column.num_buckets if isinstance(column, base.CategoricalColumn)
                        else base.num_elements(column.variable_shape))
                weights = Variable(np.zeros((rows, units), np.float32), trainable=trainable,
                                   name="/".join(base.SCOPES + ["weights"]))
                sums.append(_weighted_sum(column, cache, weights, sparse_combiner, trainable, []))
                ordered.append(column)
                if cols_to_vars is not None:
                    cols_to_vars[column] = [weights]
        _check_batch_sizes(sums, ordered)
        bias = Variable(np.zeros((units,), np.float32), trainable=trainable,
                        name=f"{outer}/bias_weights")
        if cols_to_vars is not None:
            cols_to_vars["bias"] = [bias]
        total = sums[0]
        for s in sums[1:]:
            total = ew.add(total, s)
        return ew.add(total, bias)

"""Categorical columns built from others: `weighted_categorical_column` (ids with a weight feature)
and `crossed_column` (hashed crosses of features, TF's FingerprintCat64 crossing)."""

from __future__ import annotations

import collections
from typing import Any

from tapeflow import dtypes as _dt
from tapeflow.feature_column import base
from tapeflow.feature_column.categorical import HashedCategoricalColumn
from tapeflow.io import VarLenFeature
from tapeflow.sparse.cross import cross_hashed
from tapeflow.sparse.sparse_tensor import SparseTensor


class WeightedCategoricalColumn(base.CategoricalColumn, collections.namedtuple(
        "WeightedCategoricalColumn", ("categorical_column", "weight_feature_key", "dtype"))):
    """The ids of `categorical_column`, each with the weight at the same place of another feature."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_weighted_by_{self.weight_feature_key}"

    @property
    def num_buckets(self) -> int:
        return self.categorical_column.num_buckets

    @property
    def parse_example_spec(self) -> dict:
        config = dict(self.categorical_column.parse_example_spec)
        if self.weight_feature_key in config:
            raise ValueError(f"Parse config {config[self.weight_feature_key]} already exists for "
                             f"{self.weight_feature_key}.")
        config[self.weight_feature_key] = VarLenFeature(self.dtype)
        return config

    @property
    def parents(self) -> list:
        return [self.categorical_column, self.weight_feature_key]

    def _weights(self, weights: Any) -> SparseTensor:
        if weights is None:
            raise ValueError(f"Missing weights {self.weight_feature_key}.")
        weights = base.as_tensor_or_sparse(weights)
        if self.dtype != weights.dtype:
            raise ValueError(f"Bad dtype, expected {self.dtype}, but got {weights.dtype}.")
        if not isinstance(weights, SparseTensor):
            weights = base.to_sparse_input(weights, ignore_value=0.0)
        if not weights.dtype.is_floating:
            weights = base.with_values(weights, base.host(weights.values).astype("float32"))
        return weights

    def transform_feature(self, transformation_cache: Any, state_manager: Any = None) -> tuple:
        weights = self._weights(transformation_cache.get(self.weight_feature_key, state_manager))
        ids = base.to_sparse_input(transformation_cache.get(self.categorical_column, state_manager))
        return ids, weights

    def get_sparse_tensors(self, transformation_cache: Any,
                           state_manager: Any = None) -> base.CategoricalColumn.IdWeightPair:
        ids, weights = transformation_cache.get(self, state_manager)
        return base.CategoricalColumn.IdWeightPair(ids, weights)


def weighted_categorical_column(categorical_column: base.CategoricalColumn, weight_feature_key: str,
                                dtype: Any = _dt.float32) -> WeightedCategoricalColumn:
    """`categorical_column` with a weight per id read from feature `weight_feature_key`."""
    dtype = None if dtype is None else _dt.as_dtype(dtype)
    if dtype is None or not (dtype.is_integer or dtype.is_floating):
        raise ValueError(f"dtype {dtype} is not convertible to float.")
    return WeightedCategoricalColumn(categorical_column=categorical_column,
                                     weight_feature_key=weight_feature_key, dtype=dtype)


def _leaf_keys(cross: CrossedColumn) -> list:
    keys = []
    for k in cross.keys:
        keys.extend(_leaf_keys(k) if isinstance(k, CrossedColumn) else [k])
    return keys


class CrossedColumn(base.CategoricalColumn, collections.namedtuple(
        "CrossedColumn", ("keys", "hash_bucket_size", "hash_key"))):
    """Every combination of one value per key, hashed into `hash_bucket_size` ids."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return "_X_".join(sorted(k if isinstance(k, str) else k.name for k in _leaf_keys(self)))

    @property
    def num_buckets(self) -> int:
        return self.hash_bucket_size

    @property
    def parse_example_spec(self) -> dict:
        config: dict = {}
        for key in self.keys:
            config.update({key: VarLenFeature(_dt.string)} if isinstance(key, str)
                          else key.parse_example_spec)
        return config

    @property
    def parents(self) -> list:
        return list(self.keys)

    def transform_feature(self, transformation_cache: Any, state_manager: Any = None) -> SparseTensor:
        inputs = []
        for key in _leaf_keys(self):
            if isinstance(key, str):
                inputs.append(transformation_cache.get(key, state_manager))
            elif isinstance(key, base.CategoricalColumn):
                pair = key.get_sparse_tensors(transformation_cache, state_manager)
                if pair.weight_tensor is not None:
                    raise ValueError("crossed_column does not support weight_tensor, but the given "
                                     f"column populates weight_tensor. Given column: {key.name}")
                inputs.append(pair.id_tensor)
            else:
                raise ValueError(f"Unsupported column type. Given: {key}")
        return cross_hashed(inputs, num_buckets=self.hash_bucket_size, hash_key=self.hash_key)


def crossed_column(keys: Any, hash_bucket_size: int, hash_key: Any = None) -> CrossedColumn:
    """Hashed crosses of string features (by key) or categorical columns.

    Example:
        >>> tf.feature_column.crossed_column(["lat", "lon"], 1000).name
        'lat_X_lon'
    """
    if not hash_bucket_size or hash_bucket_size < 1:
        raise ValueError(f"hash_bucket_size must be > 1. hash_bucket_size: {hash_bucket_size}")
    if not keys or len(keys) < 2:
        raise ValueError(f"keys must be a list with length > 1. Given: {keys}")
    for key in keys:
        if not isinstance(key, (str, base.CategoricalColumn)):
            raise ValueError("Unsupported key type. All keys must be either string, or categorical "
                             f"column except HashedCategoricalColumn. Given: {key}")
        if isinstance(key, HashedCategoricalColumn):
            raise ValueError("categorical_column_with_hash_bucket is not supported for crossing. "
                             "Hashing before crossing will increase probability of collision. "
                             f"Instead, use the feature name as a string. Given: {key}")
    return CrossedColumn(keys=tuple(keys), hash_bucket_size=hash_bucket_size, hash_key=hash_key)

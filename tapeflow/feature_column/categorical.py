"""Categorical columns of one raw feature: ids as they are (`identity`), looked up in a vocabulary
(list or file, with TF's out-of-vocabulary hash buckets), or hashed (FarmHash Fingerprint64)."""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.feature_column import base
from tapeflow.fingerprint import fingerprint64
from tapeflow.io import VarLenFeature
from tapeflow.sparse.sparse_tensor import SparseTensor


def _decimal(values: np.ndarray) -> list[bytes]:
    """Integers as TF's AsString writes them (decimal), the strings hashed for int features."""
    return [str(int(v)).encode() for v in values]


def hash_buckets(values: np.ndarray, num_buckets: int) -> np.ndarray:
    """Fingerprint64 of each string (integers in decimal) modulo `num_buckets`, int64 (TF's
    StringToHashBucketFast)."""
    strings = list(values) if values.dtype.kind == "O" else _decimal(values)
    if not strings:
        return np.zeros(0, np.int64)
    return (fingerprint64(strings) % np.uint64(num_buckets)).astype(np.int64)


class _LookupColumn(base.OnKey, base.CategoricalColumn):
    """Shared by the columns whose ids come from one raw feature (VarLenFeature parse spec)."""

    __slots__ = ()

    @property
    def parse_example_spec(self) -> dict:
        return {self.key: VarLenFeature(self.dtype)}

    def transform_feature(self, transformation_cache: Any, state_manager: Any = None) -> SparseTensor:
        sp = base.to_sparse_input(transformation_cache.get(self.key, state_manager))
        return self._ids(sp)


class HashedCategoricalColumn(_LookupColumn, collections.namedtuple(
        "HashedCategoricalColumn", ("key", "hash_bucket_size", "dtype"))):
    """Ids = Fingerprint64(value) % hash_bucket_size (integers hashed in decimal)."""

    __slots__ = ()

    @property
    def num_buckets(self) -> int:
        return self.hash_bucket_size

    def _ids(self, sp: SparseTensor) -> SparseTensor:
        base.check_string_or_int(sp.dtype, f"column_name: {self.key} input_tensor")
        if self.dtype.is_integer != sp.dtype.is_integer:
            raise ValueError(f"Column dtype and SparseTensors dtype must be compatible. key: {self.key}, "
                             f"column dtype: {self.dtype}, tensor dtype: {sp.dtype}")
        return base.with_values(sp, hash_buckets(base.host(sp.values), self.hash_bucket_size))


def _vocabulary_ids(key: str, column_dtype: _dt.DType, sp: SparseTensor, vocabulary: list,
                    num_oov_buckets: int, default_value: int) -> SparseTensor:
    """Index of each value in `vocabulary`; others hashed into `num_oov_buckets` extra ids after
    the vocabulary, or `default_value` without them (TF's index table)."""
    base.check_ids_dtype(key, column_dtype, sp.dtype)
    values = base.host(sp.values)
    if sp.dtype.is_integer:
        index = {int(v): i for i, v in enumerate(vocabulary)}
        ids = np.fromiter((index.get(int(v), -1) for v in values), np.int64, len(values))
    else:
        index = {v.encode() if isinstance(v, str) else bytes(v): i for i, v in enumerate(vocabulary)}
        ids = np.fromiter((index.get(v, -1) for v in values), np.int64, len(values))
    missing = ids < 0
    if missing.any():
        if num_oov_buckets:
            ids[missing] = len(vocabulary) + hash_buckets(values[missing], num_oov_buckets)
        else:
            ids[missing] = default_value
    return base.with_values(sp, ids)


class VocabularyListCategoricalColumn(_LookupColumn, collections.namedtuple(
        "VocabularyListCategoricalColumn",
        ("key", "vocabulary_list", "dtype", "default_value", "num_oov_buckets"))):
    """Ids = position in `vocabulary_list`; out-of-vocabulary values hashed into `num_oov_buckets`."""

    __slots__ = ()

    @property
    def num_buckets(self) -> int:
        return len(self.vocabulary_list) + self.num_oov_buckets

    def _ids(self, sp: SparseTensor) -> SparseTensor:
        return _vocabulary_ids(self.key, self.dtype, sp, list(self.vocabulary_list),
                               self.num_oov_buckets, self.default_value)


class VocabularyFileCategoricalColumn(_LookupColumn, collections.namedtuple(
        "VocabularyFileCategoricalColumn", ("key", "vocabulary_file", "vocabulary_size",
                                            "num_oov_buckets", "dtype", "default_value",
                                            "file_format"))):
    """Ids = line number in `vocabulary_file` (its first `vocabulary_size` lines)."""

    __slots__ = ()

    def __new__(cls, key: str, vocabulary_file: str, vocabulary_size: int, num_oov_buckets: int,
                dtype: _dt.DType, default_value: int, file_format: Any = None) -> Any:
        return super().__new__(cls, key, vocabulary_file, vocabulary_size, num_oov_buckets, dtype,
                               default_value, file_format)

    @property
    def num_buckets(self) -> int:
        return self.vocabulary_size + self.num_oov_buckets

    def _vocabulary(self) -> list:
        lines = _read_vocabulary(self.vocabulary_file, self.file_format)
        if len(lines) < self.vocabulary_size:
            from tapeflow.errors import InvalidArgumentError

            raise InvalidArgumentError(None, None, f"Invalid vocab_size in {self.key}_lookup: "
                                       f"{self.vocabulary_file} has only {len(lines)} lines, "
                                       f"expected vocab_size {self.vocabulary_size}.")
        lines = lines[:self.vocabulary_size]
        return [int(v) for v in lines] if self.dtype.is_integer else lines

    def _ids(self, sp: SparseTensor) -> SparseTensor:
        return _vocabulary_ids(self.key, self.dtype, sp, self._vocabulary(), self.num_oov_buckets,
                               self.default_value)


def _read_vocabulary(path: str, file_format: Any) -> list[bytes]:
    """The lines of a text file (without line ends) or the records of a GZIP TFRecord file."""
    if file_format == "tfrecord_gzip":
        from tapeflow.data import TFRecordDataset

        return [r.numpy() for r in TFRecordDataset(path, "GZIP")]
    with open(path, "rb") as f:
        return [line.rstrip(b"\r\n") for line in f]


class IdentityCategoricalColumn(_LookupColumn, collections.namedtuple(
        "IdentityCategoricalColumn", ("key", "number_buckets", "default_value"))):
    """Integer features used as ids in [0, num_buckets); others become `default_value`."""

    __slots__ = ()

    @property
    def num_buckets(self) -> int:
        return self.number_buckets

    @property
    def parse_example_spec(self) -> dict:
        return {self.key: VarLenFeature(_dt.int64)}

    def _ids(self, sp: SparseTensor) -> SparseTensor:
        if not sp.dtype.is_integer:
            raise ValueError(f"Invalid input, not integer. key: {self.key} dtype: {sp.dtype}")
        values = base.host(sp.values).astype(np.int64)
        if self.default_value is not None:
            values = np.where((values < 0) | (values >= self.num_buckets), np.int64(self.default_value),
                              values)
        return base.with_values(sp, values)


def categorical_column_with_hash_bucket(key: str, hash_bucket_size: int,
                                        dtype: Any = _dt.string) -> HashedCategoricalColumn:
    """Ids from hashing a string (or integer) feature into `hash_bucket_size` buckets."""
    if hash_bucket_size is None:
        raise ValueError(f"hash_bucket_size must be set. key: {key}")
    if hash_bucket_size < 1:
        raise ValueError(f"hash_bucket_size must be at least 1. hash_bucket_size: {hash_bucket_size}, "
                         f"key: {key}")
    base.check_key(key)
    dtype = _dt.as_dtype(dtype)
    base.check_string_or_int(dtype, f"column_name: {key}")
    return HashedCategoricalColumn(key, hash_bucket_size, dtype)


def categorical_column_with_vocabulary_file(key: str, vocabulary_file: str, vocabulary_size: Any = None,
                                            dtype: Any = _dt.string, default_value: Any = None,
                                            num_oov_buckets: int = 0,
                                            file_format: Any = None) -> VocabularyFileCategoricalColumn:
    """Ids from the line numbers of a vocabulary file (one entry per line; TF 2 argument order)."""
    import os

    if not vocabulary_file:
        raise ValueError(f"Missing vocabulary_file in {key}.")
    if file_format is None and vocabulary_file.endswith("tfrecord.gz"):
        file_format = "tfrecord_gzip"
    if vocabulary_size is None:
        if not os.path.exists(vocabulary_file):
            raise ValueError(f"vocabulary_file in {key} does not exist.")
        vocabulary_size = len(_read_vocabulary(vocabulary_file, file_format))
    if vocabulary_size < 1:
        raise ValueError(f"Invalid vocabulary_size in {key}.")
    if num_oov_buckets:
        if default_value is not None:
            raise ValueError(f"Can't specify both num_oov_buckets and default_value in {key}.")
        if num_oov_buckets < 0:
            raise ValueError(f"Invalid num_oov_buckets {num_oov_buckets} in {key}.")
    dtype = _dt.as_dtype(dtype)
    base.check_string_or_int(dtype, f"column_name: {key}")
    base.check_key(key)
    return VocabularyFileCategoricalColumn(
        key=key, vocabulary_file=vocabulary_file, vocabulary_size=vocabulary_size,
        num_oov_buckets=0 if num_oov_buckets is None else num_oov_buckets,
        default_value=-1 if default_value is None else default_value, dtype=dtype,
        file_format=file_format)


def categorical_column_with_vocabulary_list(key: str, vocabulary_list: Any, dtype: Any = None,
                                            default_value: int = -1,
                                            num_oov_buckets: int = 0) -> VocabularyListCategoricalColumn:
    """Ids from the position of each value in `vocabulary_list` (strings or integers).

    Example:
        >>> tf.feature_column.categorical_column_with_vocabulary_list("size", ["S", "M", "L"])
    """
    if vocabulary_list is None or len(vocabulary_list) < 1:
        raise ValueError(f"vocabulary_list {vocabulary_list} must be non-empty, column_name: {key}")
    if len(set(vocabulary_list)) != len(vocabulary_list):
        raise ValueError(f"Duplicate keys in vocabulary_list {vocabulary_list}, column_name: {key}")
    arr = np.array(vocabulary_list)
    vocab_dtype = _dt.string if arr.dtype.kind in "USO" else _dt.as_dtype(arr.dtype)
    if num_oov_buckets:
        if default_value != -1:
            raise ValueError(f"Can't specify both num_oov_buckets and default_value in {key}.")
        if num_oov_buckets < 0:
            raise ValueError(f"Invalid num_oov_buckets {num_oov_buckets} in {key}.")
    base.check_string_or_int(vocab_dtype, f"column_name: {key} vocabulary")
    if dtype is None:
        dtype = vocab_dtype
    else:
        dtype = _dt.as_dtype(dtype)
        if dtype.is_integer != vocab_dtype.is_integer:
            raise ValueError(f"dtype {dtype} and vocabulary dtype {vocab_dtype} do not match, "
                             f"column_name: {key}")
    base.check_string_or_int(dtype, f"column_name: {key}")
    base.check_key(key)
    return VocabularyListCategoricalColumn(key=key, vocabulary_list=tuple(vocabulary_list), dtype=dtype,
                                           default_value=default_value, num_oov_buckets=num_oov_buckets)


def categorical_column_with_identity(key: str, num_buckets: int,
                                     default_value: Any = None) -> IdentityCategoricalColumn:
    """Integer features in [0, num_buckets) used as their own ids."""
    if num_buckets < 1:
        raise ValueError(f"num_buckets {num_buckets} < 1, column_name {key}")
    if default_value is not None and (default_value < 0 or default_value >= num_buckets):
        raise ValueError(f"default_value {default_value} not in range [0, {num_buckets}), "
                         f"column_name {key}")
    base.check_key(key)
    return IdentityCategoricalColumn(key=key, number_buckets=num_buckets, default_value=default_value)

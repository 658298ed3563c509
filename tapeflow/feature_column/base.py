"""What every feature column shares: the base classes, the transformation cache, TF's argument checks.

A feature column is a namedtuple (its repr, equality and hash are TF's) describing how one model
input is computed from a dict of raw features. Categorical columns give an `IdWeightPair` of
SparseTensors ([batch, n] ids, optional weights); dense columns give a float32 [batch, ...]
tensor. `FeatureTransformationCache` computes each column (and each raw feature) once per call.
Transforms of ids run on host arrays (they are lookups, not differentiable).
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow import backend, nest
from tapeflow import dtypes as _dt
from tapeflow.sparse.sparse_tensor import SparseTensor
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor


class FeatureColumn:
    """Base of every feature column (TF's `FeatureColumn`)."""

    __slots__ = ()

    @property
    def parents(self) -> list:
        return []


class DenseColumn(FeatureColumn):
    """A column giving a dense tensor: `get_dense_tensor(cache, state_manager)`, `variable_shape`."""

    __slots__ = ()


class CategoricalColumn(FeatureColumn):
    """A column giving sparse ids: `get_sparse_tensors(cache, state_manager)`, `num_buckets`."""

    __slots__ = ()
    IdWeightPair = collections.namedtuple("IdWeightPair", ("id_tensor", "weight_tensor"))

    def get_sparse_tensors(self, transformation_cache: FeatureTransformationCache,
                           state_manager: Any = None) -> CategoricalColumn.IdWeightPair:
        return CategoricalColumn.IdWeightPair(transformation_cache.get(self, state_manager), None)


class SequenceDenseColumn(FeatureColumn):
    """A column giving a [batch, time, ...] tensor and the sequence lengths."""

    __slots__ = ()
    TensorSequenceLengthPair = collections.namedtuple("TensorSequenceLengthPair",
                                                      ("dense_tensor", "sequence_length"))


class OnKey(FeatureColumn):
    """A column read from one raw feature, `key`: its name and its only parent."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return self.key

    @property
    def parents(self) -> list:
        return [self.key]


class OverCategorical(FeatureColumn):
    """A column built over one `categorical_column`: its parse spec and its only parent."""

    __slots__ = ()

    @property
    def parse_example_spec(self) -> dict:
        return self.categorical_column.parse_example_spec

    @property
    def parents(self) -> list:
        return [self.categorical_column]


def as_tensor_or_sparse(value: Any) -> Tensor | SparseTensor:
    """A feature as a Tensor (Python lists become tensors as TF converts them) or a SparseTensor."""
    return value if isinstance(value, (Tensor, SparseTensor)) else convert_to_tensor(value)


class FeatureTransformationCache:
    """Raw features (`features[key]`, rank-1 inputs expanded to [batch, 1]) and transformed columns,
    each computed once."""

    def __init__(self, features: dict) -> None:
        import tapeflow as tf

        if not tf.executing_eagerly():
            raise _not_eager("traced into a tf.function or Dataset.map")
        self._features = dict(features)
        self._cache: dict = {}

    def get(self, key: Any, state_manager: Any = None) -> Any:
        if key in self._cache:
            return self._cache[key]
        if isinstance(key, str):
            value = self._raw_feature(key)
        elif isinstance(key, FeatureColumn):
            value = key.transform_feature(self, state_manager)
            if value is None:
                raise ValueError(f"Column {key} is not supported.")
        else:
            raise TypeError(f"Key must be a string or FeatureColumn. Given: {key}")
        self._cache[key] = value
        return value

    def _raw_feature(self, key: str) -> Tensor | SparseTensor:
        if key not in self._features:
            raise ValueError(f"Feature {key} is not in features dictionary.")
        x = as_tensor_or_sparse(self._features[key])
        if (x.values if isinstance(x, SparseTensor) else x)._value is None:
            raise _not_eager(f"given symbolic features (feature {key!r}: {x})")
        rank = len(x.shape)
        if rank == 0:
            raise ValueError(f"Feature (key: {key}) cannot have rank 0. Given: {x}")
        if rank != 1:
            return x
        if isinstance(x, SparseTensor):
            n = int(x._shape_tuple()[0])
            idx = backend.to_numpy(x.indices._value)
            return SparseTensor(np.stack([idx[:, 0], np.zeros_like(idx[:, 0])], 1), x.values, [n, 1])
        from tapeflow.ops import movement as mv

        return mv.expand_dims(x, -1)


SCOPES: list[str] = []  # the variable scope names input_layer / linear_model are inside
_SCOPE_COUNTS: dict[str, int] = {}


def unique_scope_name(name: str) -> str:
    """`name`, then `name_1`, `name_2`... on later calls (TF's eager layer naming)."""
    n = _SCOPE_COUNTS.get(name, 0)
    _SCOPE_COUNTS[name] = n + 1
    return name if n == 0 else f"{name}_{n}"


@contextlib.contextmanager
def scope(name: str) -> Iterator[None]:
    """Variables made inside are named `<name>/...` (TF's variable scopes of input_layer)."""
    SCOPES.append(name)
    try:
        yield
    finally:
        SCOPES.pop()


def _not_eager(what: str) -> Exception:
    from tapeflow.errors import UnimplementedError

    return UnimplementedError(None, None, "Tapeflow's feature columns run eagerly: their id lookups, "
                              "hashing and crossing work on host arrays, so input_layer / "
                              f"linear_model / get_*_tensor cannot be {what}; call them on "
                              "eager tensors.")


def host(x: Tensor) -> np.ndarray:
    """The host array of an eager tensor."""
    return backend.to_numpy(x._value)


def to_sparse_input(x: Any, ignore_value: Any = None) -> SparseTensor:
    """A dense tensor as a SparseTensor without its `ignore_value` cells ('' for strings, -1 for
    integers, 0 otherwise, as TF); a SparseTensor unchanged."""
    x = as_tensor_or_sparse(x)
    if isinstance(x, SparseTensor):
        return x
    v = host(x)
    if ignore_value is None:
        ignore_value = b"" if x.dtype == _dt.string else -1 if x.dtype.is_integer else 0
    elif isinstance(ignore_value, str):
        ignore_value = ignore_value.encode()
    keep = v != ignore_value
    idx = np.argwhere(keep).astype(np.int64).reshape(-1, v.ndim)
    return SparseTensor(idx, Tensor(v[keep]) if v.dtype.kind != "O" else convert_to_tensor(v[keep]),
                        list(v.shape))


def sparse_parts(sp: SparseTensor) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(indices, values, dense shape) of an eager SparseTensor as host arrays."""
    return host(sp.indices), host(sp.values), [int(d) for d in host(sp.dense_shape)]


def with_values(sp: SparseTensor, values: np.ndarray) -> SparseTensor:
    return SparseTensor(sp.indices, Tensor(values), sp.dense_shape)


def check_shape(shape: Any, key: str) -> tuple:
    """`shape` as a tuple of positive ints (TF's `_check_shape`)."""
    if not nest.is_nested(shape):
        shape = [shape]
    shape = tuple(shape)
    for d in shape:
        if not isinstance(d, int):
            raise TypeError(f"shape dimensions must be integer. shape: {shape}, key: {key}")
        if d < 1:
            raise ValueError(f"shape dimensions must be greater than 0. shape: {shape}, key: {key}")
    return shape


def _filled(shape: tuple, value: Any) -> Any:
    return tuple(_filled(shape[1:], value) for _ in range(shape[0])) if shape else value


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if nest.is_nested(value) else value


def _compatible(value: Any, shape: tuple) -> bool:
    if nest.is_nested(value) != bool(shape):
        return False
    if not shape:
        return True
    return len(value) == shape[0] and all(_compatible(v, shape[1:]) for v in value)


def check_default_value(shape: tuple, default_value: Any, dtype: _dt.DType, key: str) -> Any:
    """`default_value` as a nested tuple of `shape` (a scalar is repeated), checked against dtype."""
    if default_value is None:
        return None
    if isinstance(default_value, int):
        return _filled(shape, default_value)
    if isinstance(default_value, float) and dtype.is_floating:
        return _filled(shape, default_value)
    if callable(getattr(default_value, "tolist", None)):
        default_value = default_value.tolist()
    if nest.is_nested(default_value):
        if not _compatible(default_value, shape):
            raise ValueError(f"The shape of default_value must be equal to given shape. default_value: "
                             f"{default_value}, shape: {shape}, key: {key}")
        flat = nest.flatten(default_value)
        if all(isinstance(v, int) for v in flat):
            return _as_tuple(default_value)
        if any(isinstance(v, float) for v in flat) and dtype.is_floating:
            return _as_tuple(default_value)
    raise TypeError(f"default_value must be compatible with dtype. default_value: {default_value}, "
                    f"dtype: {dtype}, key: {key}")


def check_key(key: Any) -> None:
    if not isinstance(key, str):
        raise ValueError(f"key must be a string. Got: type {type(key)}. Given key: {key}.")


def check_string_or_int(dtype: _dt.DType, prefix: str) -> None:
    if dtype != _dt.string and not dtype.is_integer:
        raise ValueError(f"{prefix} dtype must be string or integer. dtype: {dtype}.")


def check_ids_dtype(key: str, column_dtype: _dt.DType, tensor_dtype: _dt.DType) -> None:
    """The input of a vocabulary / hash column: strings for a string column, integers otherwise."""
    if column_dtype.is_integer != tensor_dtype.is_integer:
        raise ValueError(f"Column dtype and SparseTensors dtype must be compatible. key: {key}, "
                         f"column dtype: {column_dtype}, tensor dtype: {tensor_dtype}")
    check_string_or_int(tensor_dtype, f"column_name: {key} input_tensor")


def num_elements(shape: Any) -> int:
    return int(TensorShape(shape).num_elements())

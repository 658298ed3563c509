"""`tf.TensorSpec`: the shape and dtype a traced function accepts, and signature keys.

A tf.function traces once per input signature: tensors count by (shape, dtype), Python values
by value, nested structures by structure. `signature_key` turns call arguments into that key.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.tensor import Tensor, TensorShape


class TensorSpec:
    """Describes a tensor by shape (`None` for unknown dimensions) and dtype, like `tf.TensorSpec`.

    Args:
        shape: a list/tuple of dimensions or None entries; `None` for an unknown rank.
        dtype: the element type (default `tf.float32`).
        name: optional name (used as the placeholder's name in traced functions).

    Example:
        >>> tf.TensorSpec(shape=[None, 28, 28], dtype=tf.float32)
        TensorSpec(shape=(None, 28, 28), dtype=tf.float32, name=None)
    """

    __slots__ = ("_shape", "_dtype", "_name")

    def __init__(self, shape: Any, dtype: Any = _dt.float32, name: str | None = None) -> None:
        self._shape = TensorShape(shape)
        self._dtype = _dt.as_dtype(dtype)
        self._name = name

    @classmethod
    def from_tensor(cls, tensor: Any, name: str | None = None) -> TensorSpec:
        """The spec of `tensor` (a Tensor, array or Python value)."""
        if not isinstance(tensor, Tensor):
            from tapeflow.tensor import convert_to_tensor

            tensor = convert_to_tensor(tensor)
        if name is None and tensor._value is None:
            from tapeflow.graph import GraphTensor

            if isinstance(tensor, GraphTensor):  # as TF: a graph tensor's op name
                name = tensor.name.partition(":")[0]
        return cls(tensor.shape, tensor.dtype, name)

    @classmethod
    def from_spec(cls, spec: TensorSpec, name: str | None = None) -> TensorSpec:
        return cls(spec.shape, spec.dtype, spec.name if name is None else name)

    @property
    def shape(self) -> TensorShape:
        return self._shape

    @property
    def dtype(self) -> _dt.DType:
        return self._dtype

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def value_type(self) -> type:
        return Tensor

    def is_compatible_with(self, spec_or_value: Any) -> bool:
        """Whether a tensor, array or spec has this dtype and a shape that fits this one."""
        if isinstance(spec_or_value, TensorSpec):
            other_shape, other_dtype = spec_or_value.shape, spec_or_value.dtype
        elif isinstance(spec_or_value, Tensor):
            other_shape, other_dtype = spec_or_value.shape, spec_or_value.dtype
        elif isinstance(spec_or_value, np.ndarray):
            other_shape, other_dtype = TensorShape(spec_or_value.shape), _dt.from_numpy(spec_or_value.dtype)
        else:
            return False
        if other_dtype != self._dtype:
            return False
        return shapes_compatible(self._shape, other_shape)

    def most_specific_common_supertype(self, others: list) -> TensorSpec | None:
        """The narrowest spec that every one of `self` and `others` fits, or None (dtypes differ)."""
        shape = self._shape
        for o in others:
            if not isinstance(o, TensorSpec) or o.dtype != self._dtype:
                return None
            shape = relax_shape(shape, o.shape)
        return TensorSpec(shape, self._dtype, self._name)

    def is_subtype_of(self, other: Any) -> bool:
        """Whether every tensor this spec admits `other` admits too (same dtype, name)."""
        return (isinstance(other, TensorSpec) and other._dtype == self._dtype and other._name == self._name
                and self._shape.is_subtype_of(other._shape))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TensorSpec):
            return NotImplemented
        return (self._dtype == other._dtype and _shape_key(self._shape) == _shape_key(other._shape)
                and self._name == other._name)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash((_shape_key(self._shape), self._dtype.name, self._name))

    def __repr__(self) -> str:
        shape = str(self._shape)
        name = "None" if self._name is None else repr(self._name)
        return f"TensorSpec(shape={shape}, dtype={self._dtype!r}, name={name})"


def _shape_key(shape: TensorShape | None) -> Any:
    return None if shape is None or shape.rank is None else tuple(shape)


def shapes_compatible(spec_shape: Any, shape: Any) -> bool:
    """Whether `shape` fits `spec_shape` (None rank or None dimensions match anything)."""
    if spec_shape is None or shape is None or _unknown(spec_shape) or _unknown(shape):
        return True
    if len(spec_shape) != len(shape):
        return False
    return all(a is None or b is None or a == b for a, b in zip(spec_shape, shape, strict=True))


def relax_shape(a: Any, b: Any) -> TensorShape | None:
    """The most specific shape both `a` and `b` fit: differing dimensions become None, a
    differing rank an unknown rank."""
    if a is None or b is None or _unknown(a) or _unknown(b) or len(a) != len(b):
        return TensorShape(None)
    return TensorShape(x if x == y else None for x, y in zip(a, b, strict=True))


def _unknown(shape: Any) -> bool:
    return isinstance(shape, TensorShape) and shape.rank is None

"""`tf.SparseTensor`: a mostly-zero tensor as (indices, values, dense_shape), and its spec.

`indices` is int64 [N, rank] (one row per stored element), `values` [N] and `dense_shape` int64
[rank]. The values are an ordinary Tensor, so gradients reach them through the tape; the indices
and shape are integer data.

Example:
    >>> sp = tf.SparseTensor(indices=[[0, 0], [1, 2]], values=[1.0, 2.0], dense_shape=[3, 4])
    >>> tf.sparse.to_dense(sp * 2).numpy()[1]
    array([0., 0., 4., 0.], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.dispatch import CompositeSpec, CompositeTensor
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor

get_xp = backend.get_xp

# Elementwise ops that map 0 to 0, so they apply to the stored values only (as TF dispatches).
_ZERO_PRESERVING = {"abs", "negative", "sign", "square", "sqrt", "sin", "tan", "tanh", "round",
                    "floor", "ceil", "log1p", "expm1", "cast", "saturate_cast", "identity",
                    "stop_gradient"}


def _int64_array(value: Any, what: str) -> Any:
    t = value if isinstance(value, Tensor) else convert_to_tensor(value, dtype=_dt.int64)
    if t.dtype._np.kind not in "iu":
        raise TypeError(f"SparseTensor: {what} must be integers, received dtype {t.dtype.name}.")
    return t._value.astype("int64", copy=False)


class SparseTensor(CompositeTensor):
    """A sparse tensor: `values[i]` sits at `indices[i]` of a `dense_shape` tensor, zeros elsewhere.

    Args:
        indices: int64 [N, rank], the position of every stored value.
        values: [N], the stored values (any dtype).
        dense_shape: int64 [rank], the shape of the dense tensor it represents.
    """

    __slots__ = ("_indices", "_values", "_dense_shape")

    def __init__(self, indices: Any, values: Any, dense_shape: Any) -> None:
        vals = values if isinstance(values, Tensor) else convert_to_tensor(values)
        xp = get_xp(vals._value)
        idx = _int64_array(indices, "indices")
        shape = _int64_array(dense_shape, "dense_shape")
        if get_xp(idx) is not xp:
            idx = backend.asarray(backend.to_numpy(idx), None, xp)
        shape = backend.to_numpy(shape)
        if idx.ndim != 2 and not (idx.size == 0 and idx.ndim <= 2):
            raise ValueError(f"SparseTensor: indices must have shape [N, rank], received "
                             f"{tuple(idx.shape)}.")
        if idx.ndim != 2:
            idx = idx.reshape(0, len(shape))
        if vals.ndim != 1 or vals.shape[0] != idx.shape[0]:
            raise ValueError(f"SparseTensor: values must have shape [{idx.shape[0]}] to match "
                             f"indices, received {tuple(vals.shape)}.")
        if shape.ndim != 1 or len(shape) != idx.shape[1]:
            raise ValueError(f"SparseTensor: dense_shape must have {idx.shape[1]} entries (the "
                             f"rank of indices), received {shape.tolist()}.")
        self._indices = Tensor(idx)
        self._values = vals
        self._dense_shape = Tensor(shape)

    @classmethod
    def from_value(cls, sparse_tensor_value: Any) -> SparseTensor:
        v = sparse_tensor_value
        return cls(v.indices, v.values, v.dense_shape)

    # -- components ----------------------------------------------------------------------------
    @property
    def indices(self) -> Tensor:
        return self._indices

    @property
    def values(self) -> Tensor:
        return self._values

    @property
    def dense_shape(self) -> Tensor:
        return self._dense_shape

    @property
    def dtype(self) -> _dt.DType:
        return self._values.dtype

    @property
    def shape(self) -> TensorShape:
        return TensorShape(self._dense_shape._value.tolist())

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def ndim(self) -> int:
        return len(self._dense_shape._value)

    def _shape_tuple(self) -> tuple:
        return tuple(int(d) for d in self._dense_shape._value)

    def _idx(self) -> Any:
        return self._indices._value

    def with_values(self, new_values: Any) -> SparseTensor:
        """The same indices and shape with new values (same length)."""
        return SparseTensor(self._indices, new_values, self._dense_shape)

    def numpy(self) -> Any:
        raise TypeError("SparseTensor has no numpy(); use tf.sparse.to_dense(sp).numpy() or the "
                        "indices/values/dense_shape components.")

    def __repr__(self) -> str:
        return (f"SparseTensor(indices={self._indices!s}, values={self._values!s}, "
                f"dense_shape={self._dense_shape!s})")

    __str__ = __repr__

    def __bool__(self) -> bool:
        raise TypeError("The truth value of a SparseTensor is ambiguous.")

    # -- operators (as TF: only *, / with a scalar or dense operand, acting on the values) -----
    def _dense_at_indices(self, other: Any) -> Any:
        """`other` (a scalar or a tensor broadcastable to dense_shape) read at the indices."""
        if isinstance(other, SparseTensor):
            raise TypeError("SparseTensor * SparseTensor is not defined (as in TF); use "
                            "tf.sparse.map_values or convert one operand with tf.sparse.to_dense.")
        if not isinstance(other, Tensor):
            other = ew.binary_operands(self._values, other, "SparseDenseCwise")[1]
        if other.ndim == 0:
            return other
        rank = self.ndim
        if other.ndim > rank:
            raise ValueError(f"SparseTensor: a dense operand of shape {other.shape} has a higher "
                             f"rank than dense_shape {self._shape_tuple()}.")
        shape = (1,) * (rank - other.ndim) + tuple(other.shape)
        for d, full in zip(shape, self._shape_tuple(), strict=True):
            if d not in (1, full):
                raise ValueError(f"SparseTensor: a dense operand of shape {tuple(other.shape)} "
                                 f"does not broadcast to dense_shape {self._shape_tuple()}.")
        other = mv.reshape(other, shape)
        idx = self._idx()
        xp = get_xp(idx)
        key = tuple(idx[:, i] if d != 1 else xp.zeros(len(idx), "int64")
                    for i, d in enumerate(shape))
        return mv.getitem(other, key)

    def _cwise(self, fn: Callable, other: Any, reverse: bool = False) -> SparseTensor:
        o = self._dense_at_indices(other)
        v = self._values
        return self.with_values(fn(o, v) if reverse else fn(v, o))

    def __mul__(self, other: Any) -> SparseTensor:
        return self._cwise(ew.multiply, other)

    def __truediv__(self, other: Any) -> SparseTensor:
        return self._cwise(ew.truediv, other)

    # -- dispatch ------------------------------------------------------------------------------
    @classmethod
    def _tf_dispatch(cls, kind: str, api_name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
        if kind == "elementwise" and api_name in _ZERO_PRESERVING:
            if not isinstance(args[0], SparseTensor):
                return NotImplemented
            sp = args[0]
            return sp.with_values(fn(sp.values, *args[1:], **kwargs))
        if kind == "elementwise" and api_name in ("multiply", "truediv", "divide") and isinstance(
                args[0], SparseTensor) and not isinstance(args[1], SparseTensor):
            return args[0]._cwise(fn, args[1])
        if api_name in ("add",) and len(args) >= 2:
            from tapeflow.sparse.math_ops import add

            return add(args[0], args[1])
        if api_name in ("reduce_sum", "reduce_max") and isinstance(args[0], SparseTensor):
            from tapeflow.sparse import math_ops

            return getattr(math_ops, api_name)(*args, **kwargs)
        if api_name == "size":
            sp = args[0]
            return Tensor(np.asarray(int(np.prod(sp._shape_tuple())),
                                     _dt.as_dtype(kwargs.get("out_type", "int32"))._np))
        if api_name == "rank":
            return Tensor(np.asarray(args[0].ndim, np.int32))
        return NotImplemented


class SparseTensorSpec(CompositeSpec):
    """Describes SparseTensors by dense shape and dtype (`tf.SparseTensorSpec`)."""

    value_type = SparseTensor

    def __init__(self, shape: Any = None, dtype: Any = _dt.float32) -> None:
        super().__init__(shape, dtype)

    @classmethod
    def from_value(cls, value: SparseTensor) -> SparseTensorSpec:
        return cls(value.shape, value.dtype)

    def __repr__(self) -> str:
        return f"SparseTensorSpec({self._shape_repr()}, {self._dtype!r})"

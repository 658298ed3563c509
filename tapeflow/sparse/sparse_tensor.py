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
from tapeflow.tracing.composite_calls import lift_composite_methods

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

    __slots__ = ("_indices", "_values", "_dense_shape", "_static_shape")

    def __init__(self, indices: Any, values: Any, dense_shape: Any) -> None:
        self._static_shape = None
        if _any_graph(indices, values, dense_shape):
            self._init_graph(indices, values, dense_shape)
            return
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

    def _init_graph(self, indices: Any, values: Any, dense_shape: Any) -> None:
        """Inside a tf.function trace: graph components, checked by their static shapes; the
        static dense shape is what is known of `dense_shape` (its rank, and its values when
        it is a constant)."""
        from tapeflow.ops.elementwise import cast

        def as_int64(x: Any, what: str) -> Tensor:
            t = x if isinstance(x, Tensor) else convert_to_tensor(x, dtype=_dt.int64)
            if t.dtype._np.kind not in "iu":
                raise TypeError(f"SparseTensor: {what} must be integers, received dtype {t.dtype.name}.")
            return t if t.dtype == _dt.int64 else cast(t, _dt.int64)

        idx, shape = as_int64(indices, "indices"), as_int64(dense_shape, "dense_shape")
        vals = values if isinstance(values, Tensor) else convert_to_tensor(values)
        if shape._value is not None:
            static: tuple | None = tuple(int(d) for d in backend.to_numpy(shape._value))
        elif shape.shape is not None and shape.shape[0] is not None:
            static = (None,) * shape.shape[0]
        elif idx.shape is not None and len(idx.shape) == 2 and idx.shape[1] is not None:
            static = (None,) * idx.shape[1]
        else:
            static = None
        self._indices, self._values, self._dense_shape = idx, vals, shape
        self._static_shape = static

    @classmethod
    def _from_components(cls, indices: Tensor, values: Tensor, dense_shape: Tensor,
                         static_shape: tuple | None) -> SparseTensor:
        """A SparseTensor of these component tensors as they are (a trace's decoding)."""
        sp = object.__new__(cls)
        sp._indices, sp._values, sp._dense_shape = indices, values, dense_shape
        sp._static_shape = None if dense_shape._value is not None else static_shape
        return sp

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
        if self._dense_shape._value is None:  # graph components: the static shape
            return TensorShape(self._static_shape)
        return TensorShape(backend.to_numpy(self._dense_shape._value).tolist())

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def ndim(self) -> int:
        if self._dense_shape._value is None:
            return None if self._static_shape is None else len(self._static_shape)
        return len(self._dense_shape._value)

    def _shape_tuple(self) -> tuple:
        return tuple(int(d) for d in self._dense_shape._value)

    def _idx(self) -> Any:
        return self._indices._value

    def with_values(self, new_values: Any) -> SparseTensor:
        """The same indices and shape with new values (same length)."""
        if _any_graph(self._dense_shape, new_values):
            vals = new_values if isinstance(new_values, Tensor) else convert_to_tensor(new_values)
            return SparseTensor._from_components(self._indices, vals, self._dense_shape, self.shape.as_list()
                                                 if self.ndim is not None else None)
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

    # -- crossing tf.function boundaries (tapeflow.tracing.composites) -------------------------
    _tf_native_elements = True  # tf.data and map_fn batch and slice it whole

    def _tf_encode(self) -> tuple:
        """(static part: the static dense shape, components: indices, values, dense_shape)."""
        return SparseStatic(tuple(self.shape) if self.ndim is not None else None), [
            self._indices, self._values, self._dense_shape]

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

    def _tf_encode_spec(self) -> tuple:
        from tapeflow.tracing.spec import TensorSpec

        rank = None if self._shape is None else len(self._shape)
        return SparseStatic(None if self._shape is None else tuple(self._shape)), [
            TensorSpec([None, rank], _dt.int64), TensorSpec([None], self._dtype),
            TensorSpec([rank], _dt.int64)]


def _any_graph(*xs: Any) -> bool:
    return any(isinstance(x, Tensor) and x._value is None for x in xs)


class SparseStatic:
    """The non-tensor part of a SparseTensor crossing a trace: its static dense shape (None
    dimensions unknown; None for an unknown rank)."""

    __slots__ = ("shape",)

    def __init__(self, shape: tuple | None) -> None:
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SparseStatic) and other.shape == self.shape

    def __hash__(self) -> int:
        return hash(("sparse", self.shape))

    def __repr__(self) -> str:
        return f"SparseTensor<shape={self.shape}>"

    def _tf_saved_model_state(self) -> tuple | None:
        return self.shape

    def _tf_accepts(self, other: Any) -> bool:
        """A call's static shape fits the traced one (None dimensions take any size)."""
        if not isinstance(other, SparseStatic):
            return False
        if self.shape is None:
            return True
        return other.shape is not None and len(other.shape) == len(self.shape) and all(
            a is None or a == b for a, b in zip(self.shape, other.shape, strict=True))

    def _tf_merge(self, other: Any) -> SparseStatic:
        """The static shape both `self` and `other` fit."""
        if not isinstance(other, SparseStatic) or self.shape is None or other.shape is None \
                or len(self.shape) != len(other.shape):
            return SparseStatic(None)
        return SparseStatic(tuple(a if a == b else None for a, b in zip(self.shape, other.shape, strict=True)))

    def _tf_n_components(self) -> int:
        return 3

    def _tf_decode(self, components: list) -> SparseTensor:
        return SparseTensor._from_components(*components, self.shape)

    def _tf_decode_spec(self, component_specs: list) -> SparseTensorSpec:
        return SparseTensorSpec(self.shape, component_specs[1].dtype)

    def _tf_component_specs(self, components: list) -> list:
        """The specs a trace keys on: any number of stored values."""
        from tapeflow.tracing.spec import TensorSpec

        idx, vals, shape = components
        return [TensorSpec([None, idx.shape[1]], idx.dtype), TensorSpec([None], vals.dtype),
                TensorSpec(tuple(shape.shape), shape.dtype)]

    def _tf_consistent(self, values: list) -> bool:
        """Whether component values make a valid SparseTensor (stand-ins for shape probes)."""
        idx, vals, shape = (backend.to_numpy(v._value) for v in values)
        if idx.ndim != 2 or vals.ndim != 1 or len(idx) != len(vals) or shape.ndim != 1 or idx.shape[1] != len(shape):
            return False
        return bool(len(idx) == 0 or ((idx >= 0).all() and (idx < shape).all()))

    def _tf_stand_in(self, components: list, fill: int) -> list:
        """Consistent stand-in components (shape probes): the static shape's sizes (`fill`
        where unknown), `fill` values at evenly spread positions."""
        from tapeflow.graph import SymbolicTensor, _dummy

        rank = components[2].shape[0] if components[2].shape is not None else None
        if rank is None:
            rank = len(self.shape) if self.shape is not None else 2
        dims = tuple(fill if self.shape is None or self.shape[i] is None else self.shape[i] for i in range(rank))
        total = int(np.prod(dims)) if dims else 1
        nnz = min(fill, total)
        flat = np.unique(np.linspace(0, max(total - 1, 0), nnz).astype(np.int64)) if nnz else np.zeros(0, np.int64)
        idx = np.stack(np.unravel_index(flat, dims), axis=1) if dims else np.zeros((len(flat), 0), np.int64)
        values = _dummy(SymbolicTensor((len(flat),), components[1].dtype), fill)
        return [Tensor(idx.astype(np.int64)), values, Tensor(np.asarray(dims, np.int64))]


# Inside a tf.function trace, methods on a SparseTensor of graph tensors are lifted into one
# node each; the component accessors work as they are.
lift_composite_methods(SparseTensor, ("indices", "values", "dense_shape", "dtype", "shape", "ndim"))

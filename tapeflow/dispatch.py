"""The one hook through which `tf.*` ops accept `RaggedTensor` and `SparseTensor` arguments.

TF lets composite tensors flow through its ops by dispatch: `tf.math.exp(ragged)` maps the op
over the ragged tensor's flat values, `tf.reduce_sum(ragged, axis=1)` sums each row. Here the
same happens in one place: the public API functions listed in `API_KINDS` are wrapped (once, at
import of the `tf` and `tf.math` namespaces) by `api_function`, whose fast path is one
`isinstance` test per argument. When an argument is a `CompositeTensor`, the call goes to that
class's `_tf_dispatch(kind, api_name, fn, args, kwargs)`, which implements the op in terms of
ordinary tensor ops (so gradients flow through the tape as usual). The engine's own callers and
the Tensor operators (`x + y`) use the unwrapped functions and pay nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


class CompositeTensor:
    """Base of tensor types made of several component tensors (`RaggedTensor`, `SparseTensor`).

    A subclass implements `_tf_dispatch(kind, api_name, fn, args, kwargs)` (a classmethod),
    returning the op's result or `NotImplemented` when it does not support the call.
    """

    __slots__ = ()

    @classmethod
    def _tf_dispatch(cls, kind: str, api_name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
        return NotImplemented


class CompositeSpec:
    """Base of `RaggedTensorSpec` / `SparseTensorSpec`: a shape (None: unknown rank) and a dtype.

    Subclasses name their `value_type` and add fields through `_key` (equality, hashing and
    compatibility compare keys; shapes are compatible where dims are None).
    """

    value_type: type = CompositeTensor

    def __init__(self, shape: Any, dtype: Any) -> None:
        from tapeflow import dtypes
        from tapeflow.tensor import TensorShape

        self._shape = None if shape is None else TensorShape(shape)
        self._dtype = dtypes.as_dtype(dtype)

    @property
    def shape(self) -> Any:
        """The static shape (`TensorShape(None)` for an unknown rank, as TF's)."""
        if self._shape is None:
            from tapeflow.tensor import TensorShape

            return TensorShape(None)
        return self._shape

    @property
    def dtype(self) -> Any:
        return self._dtype

    def _key(self) -> tuple:
        return (None if self._shape is None else tuple(self._shape), self._dtype.name)

    def is_compatible_with(self, spec_or_value: Any) -> bool:
        other = spec_or_value
        if isinstance(other, self.value_type):
            other = type(self).from_value(other)  # type: ignore[attr-defined]
        if type(other) is not type(self) or other._key()[1:] != self._key()[1:]:
            return False
        if self._shape is None or other._shape is None:
            return True
        return self._shape.is_compatible_with(other._shape)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def _shape_repr(self) -> str:
        return "TensorShape(None)" if self._shape is None else repr(self._shape)


# API name -> kind. "elementwise": every tensor argument has the same shape after broadcasting;
# "reduction": (input_tensor, axis, keepdims); "list": the first argument is a list of tensors
# (concat, stack, add_n); "other": an op with its own handler (boolean_mask, matmul...).
_ELEMENTWISE = (
    "abs add ceil cos divide divide_no_nan div_no_nan equal erf exp expm1 floor floordiv floormod "
    "greater greater_equal is_finite is_inf is_nan less less_equal log log1p logical_and "
    "logical_not logical_or logical_xor maximum minimum mod multiply negative not_equal pow "
    "reciprocal round rsqrt sigmoid sign sin sqrt square squared_difference subtract tan tanh "
    "truediv realdiv cast saturate_cast clip_by_value where identity stop_gradient"
).split()
_REDUCTION = (
    "reduce_sum reduce_mean reduce_max reduce_min reduce_prod reduce_any reduce_all"
).split()
_LIST = ("concat", "stack", "add_n")
_OTHER = ("boolean_mask", "expand_dims", "size", "rank", "matmul", "gather", "reverse", "tile",
          "embedding_lookup", "shape", "reshape", "zeros", "ones", "fill")

API_KINDS: dict[str, str] = {
    **{n: "elementwise" for n in _ELEMENTWISE},
    **{n: "reduction" for n in _REDUCTION},
    **{n: "list" for n in _LIST},
    **{n: "other" for n in _OTHER},
}

_wrapped: dict[int, Callable] = {}  # id(raw function) -> its wrapper, shared by tf and tf.math
by_api_name: dict[str, Callable] = {}  # API name -> wrapper (what a SavedModel's call names)


def _composite_in(args: tuple, kwargs: dict, kind: str) -> CompositeTensor | None:
    if kind == "list":
        first = args[0] if args else kwargs.get("values", kwargs.get("inputs"))
        for v in first if isinstance(first, (list, tuple)) else ():
            if isinstance(v, CompositeTensor):
                return v
        return None
    for v in kwargs.values():
        if isinstance(v, CompositeTensor):
            return v
    return None


def api_function(fn: Callable, api_name: str, kind: str) -> Callable:
    """`fn` with composite-tensor dispatch in front (the same wrapper for every namespace)."""
    wrapper = _wrapped.get(id(fn))
    if wrapper is not None:
        return wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for a in args:
            if isinstance(a, CompositeTensor):
                return _dispatch(a, kind, api_name, fn, args, kwargs)
        if kwargs or kind == "list":
            c = _composite_in(args, kwargs, kind)
            if c is not None:
                return _dispatch(c, kind, api_name, fn, args, kwargs)
        return fn(*args, **kwargs)

    wrapper._tf_raw = fn  # type: ignore[attr-defined]
    _wrapped[id(fn)] = wrapper
    by_api_name.setdefault(api_name, wrapper)
    return wrapper


def _dispatch(c: CompositeTensor, kind: str, api_name: str, fn: Callable, args: tuple,
              kwargs: dict) -> Any:
    from tapeflow.tracing import composite_calls

    if composite_calls.tracing() and composite_calls.has_graph_values(args, kwargs):
        # Inside tf.function, on composites of graph tensors: one node running the op eagerly.
        return composite_calls.lift_composite_call(_wrapped[id(fn)], args, kwargs, api_name,
                                                   key=f"dispatch.{api_name}")
    out = type(c)._tf_dispatch(kind, api_name, fn, args, kwargs)
    if out is NotImplemented:
        raise TypeError(f"tf.{api_name}: a {type(c).__name__} argument is not supported by this "
                        "op; convert it first (RaggedTensor.to_tensor(), tf.sparse.to_dense()).")
    return out


def wrap_namespace(namespace: dict) -> None:
    """Put the dispatching wrapper in front of every API function of `namespace` (a globals())."""
    for name, kind in API_KINDS.items():
        fn = namespace.get(name)
        if callable(fn) and not hasattr(fn, "_tf_raw"):
            namespace[name] = api_function(fn, name, kind)

"""Element structures of `tf.data`: nested tuples / dicts of NumPy arrays, and their specs.

Inside a pipeline an element is a nested structure (tuples, namedtuples, dicts) whose leaves
are host NumPy arrays; tensors are made only where the user sees the element (iteration, the
functions given to `map` / `filter` / ...). `element_spec` is the same structure with a
`tf.TensorSpec` at each leaf. Lists given as data are tensors (as in TF); lists returned by a
user function are tuples.

String leaves are object arrays of `bytes` (the value of a `tf.string` tensor).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tapeflow import backend, nest
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor
from tapeflow.tracing import composites
from tapeflow.tracing.spec import TensorSpec


def component(value: Any, what: str) -> np.ndarray:
    """One leaf as a host NumPy array, with TF's dtype rules (Python floats -> float32, ...);
    strings become object arrays of bytes, as in string tensors."""
    if type(value).__name__ == "RaggedTensor":  # a map result: kept whole, on the host
        from tapeflow.data.ragged import _host

        return _host(value)
    if type(value).__name__ == "SparseTensor":
        return _host_sparse(value)
    if isinstance(value, Tensor):
        arr = value._value
        if arr is None:
            raise TypeError(f"{what}: expected a tensor with a value, received symbolic {value!r}.")
        return backend.to_numpy(arr)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return value
    try:
        arr = backend.to_numpy(convert_to_tensor(value)._value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: expected a tensor, array, number or string, received "
                        f"{_short(value)} ({e})") from None
    return arr


def normalize(value: Any, what: str, lists_are_tuples: bool = False) -> Any:
    """`value` as an element structure: the same tuples/dicts with NumPy arrays at the leaves.

    Args:
        value: tensors, arrays, numbers, or tuples / namedtuples / dicts of them.
        what: the operation and argument, for error messages.
        lists_are_tuples: treat Python lists as structures (user function outputs) rather than
            as tensors (dataset inputs).
    """
    if callable(getattr(type(value), "_tf_encode", None)):  # an extension type: its components
        value = composites.as_elements(value)
    if isinstance(value, Mapping):  # an OrderedDict stays one (make_csv_dataset's features), as in TF
        return nest.mapping_like(value, {k: normalize(v, f"{what}[{k!r}]", lists_are_tuples)
                                         for k, v in value.items()})
    if isinstance(value, tuple):
        items = [normalize(v, f"{what}[{i}]", lists_are_tuples) for i, v in enumerate(value)]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if lists_are_tuples and isinstance(value, list):
        return tuple(normalize(v, f"{what}[{i}]", lists_are_tuples) for i, v in enumerate(value))
    return component(value, what)


def spec_of(element: Any) -> Any:
    """The `TensorSpec` structure of an element structure of arrays."""
    return map_leaves(_leaf_spec, element)


def _host_sparse(sp: Any) -> Any:
    from tapeflow.sparse import SparseTensor

    return SparseTensor(backend.to_numpy(sp.indices._value), Tensor(backend.to_numpy(sp.values._value)),
                        backend.to_numpy(sp.dense_shape._value))


def _leaf_spec(a: Any) -> Any:
    if type(a).__name__ == "SparseTensor":
        from tapeflow.sparse import SparseTensorSpec

        return SparseTensorSpec.from_value(a)
    if type(a).__name__ == "RaggedTensor":
        from tapeflow.ragged.spec import RaggedTensorSpec

        return RaggedTensorSpec.from_value(a)
    return TensorSpec(a.shape, a.dtype)


def map_leaves(fn: Any, structure: Any) -> Any:
    """Apply `fn` to every leaf of an element (or spec) structure, keeping its containers."""
    if isinstance(structure, dict):
        return nest.mapping_like(structure, {k: map_leaves(fn, v) for k, v in structure.items()})
    if isinstance(structure, tuple):
        items = [map_leaves(fn, v) for v in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
    return fn(structure)


def flatten(structure: Any) -> list:
    """The leaves in TF's order (dict keys sorted)."""
    return nest.flatten(structure)


def pack(structure: Any, leaves: list) -> Any:
    """`structure` rebuilt with `leaves` (the inverse of `flatten`)."""
    if not isinstance(structure, (tuple, dict)):
        return leaves[0]
    return nest.pack_sequence_as(structure, leaves)


def to_tensors(element: Any) -> Any:
    """The element as the user sees it: Tensors at the leaves (nested datasets as they are)."""
    if type(element) is np.ndarray:
        return Tensor(element)
    out = map_leaves(lambda a: Tensor(a) if type(a) is np.ndarray else a, element)
    return composites.from_elements(out) if composites.has_elements(out) else out


def to_numpy(element: Any) -> Any:
    """The element for `as_numpy_iterator`: arrays (NumPy scalars for rank-0 leaves)."""
    def leaf(a: Any) -> Any:
        if type(a) is not np.ndarray:
            raise TypeError(f"as_numpy_iterator: elements must be tensors, found {type(a).__name__} "
                            "(a dataset of datasets, from `window`, is iterated with `iter`).")
        return a[()] if a.ndim == 0 else a
    return map_leaves(leaf, element)


def same_structure(a: Any, b: Any) -> bool:
    """Whether two element/spec structures have the same containers and keys."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and set(a) == set(b)
                and all(same_structure(a[k], b[k]) for k in a))
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(same_structure(x, y) for x, y in zip(a, b, strict=True)))
    return True


def batch_spec(spec: Any, batch_dim: int | None) -> Any:
    """Each leaf spec with a leading batch dimension."""
    return map_leaves(lambda s: type(s)(_with_dim(batch_dim, s.shape), s.dtype) if _is_sparse_spec(s)
                      else TensorSpec(_with_dim(batch_dim, s.shape), s.dtype), spec)


def _is_sparse_spec(s: Any) -> bool:
    return type(s).__name__ == "SparseTensorSpec"


def unbatch_spec(spec: Any, what: str) -> Any:
    """Each leaf spec without its leading dimension (which must exist)."""
    def drop(s: TensorSpec) -> TensorSpec:
        if s.shape.rank == 0:
            raise ValueError(f"{what}: every component must have a leading (batch) dimension, "
                             f"received a scalar component {s}.")
        if _is_sparse_spec(s):
            return type(s)(s.shape[1:], s.dtype)
        if not isinstance(s, TensorSpec):  # a RaggedTensorSpec: one ragged dimension fewer
            return type(s)(s.shape[1:], s.dtype, max(s.ragged_rank - 1, 0), s.row_splits_dtype)
        return TensorSpec(None if s.shape.rank is None else s.shape[1:], s.dtype)
    return map_leaves(drop, spec)


def merge_specs(specs: list, what: str) -> Any:
    """The narrowest spec that every spec in `specs` fits (unknown where their shapes differ)."""
    first = specs[0]
    for other in specs[1:]:
        if not same_structure(first, other):
            raise TypeError(f"{what}: the datasets have different element structures: {first} and "
                            f"{other}.")
    leaves = [flatten(s) for s in specs]
    merged = []
    for column in zip(*leaves, strict=True):
        common = column[0].most_specific_common_supertype(list(column[1:]))
        if common is None:
            raise TypeError(f"{what}: the datasets have incompatible element types: "
                            f"{', '.join(repr(c) for c in column)}.")
        merged.append(common)
    return pack(first, merged)


def _with_dim(dim: int | None, shape: TensorShape | None) -> TensorShape | None:
    return None if shape is None else TensorShape((dim,) + tuple(shape))


def _short(value: Any) -> str:
    text = f"{type(value).__name__} {value!r}"
    return text if len(text) <= 80 else text[:77] + "..."

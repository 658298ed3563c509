"""`tf.sets` (set operations along the last axis, results as SparseTensors) and `tf.edit_distance`.

Host algorithms over the rows (like TF's CPU kernels); the results carry no gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.tensor import Tensor, convert_to_tensor

__all__ = ["difference", "intersection", "size", "union"]


def _is_sparse(x: Any) -> bool:
    from tapeflow.sparse.sparse_tensor import SparseTensor

    return isinstance(x, SparseTensor)


def _host(t: Tensor) -> np.ndarray:
    return backend.to_numpy(t._value)


def _rows(x: Any, op: str) -> tuple[tuple, dict, Any]:
    """(outer shape, {row index: list of values in order}, dtype) of a dense tensor or SparseTensor."""
    if _is_sparse(x):
        shape = tuple(int(d) for d in _host(x.dense_shape))
        idx, vals = _host(x.indices), _host(x.values)
        rows: dict = {}
        for i, v in zip(map(tuple, idx[:, :-1]), vals, strict=True):
            rows.setdefault(i, []).append(v)
        return shape[:-1], rows, x.dtype
    t = x if isinstance(x, Tensor) else convert_to_tensor(x)
    if len(t.shape) < 2:
        raise ValueError(f"{op}: expected rank >= 2 (sets along the last axis), received shape {tuple(t.shape)}.")
    a = _host(t)
    return a.shape[:-1], {i: list(a[i]) for i in np.ndindex(a.shape[:-1])}, t.dtype


def _check_dtype(dtype: Any, op: str) -> None:
    if not (dtype.is_integer or dtype == _dt.string):
        raise TypeError(f"{op}: sets must hold integers or strings, received {dtype.name}.")


def _to_sparse(outer: tuple, rows: dict, dtype: Any) -> Any:
    from tapeflow.sparse.sparse_tensor import SparseTensor

    indices, values, width = [], [], 0
    for i in np.ndindex(outer):
        vals = sorted(rows.get(i, ()))
        width = max(width, len(vals))
        indices.extend(i + (k,) for k in range(len(vals)))
        values.extend(vals)
    vals = np.asarray(values, dtype=object if dtype == _dt.string else dtype._np)
    idx = np.asarray(indices, np.int64).reshape(-1, len(outer) + 1)
    return SparseTensor(idx, Tensor(vals) if dtype == _dt.string else vals, list(outer) + [width])


def _set_operation(a: Any, b: Any, op: str, combine: Any) -> Any:
    outer_a, rows_a, dtype = _rows(a, op)
    outer_b, rows_b, dtype_b = _rows(b, op)
    _check_dtype(dtype, op)
    if dtype != dtype_b:
        raise TypeError(f"{op}: both sets must have the same dtype, received {dtype.name} and {dtype_b.name}.")
    if tuple(outer_a) != tuple(outer_b):
        raise ValueError(f"{op}: the shapes before the last axis must match, received {tuple(outer_a)} and "
                         f"{tuple(outer_b)}.")
    out = {i: combine(set(rows_a.get(i, ())), set(rows_b.get(i, ()))) for i in np.ndindex(tuple(outer_a))}
    return _to_sparse(tuple(outer_a), out, dtype)


def union(a: Any, b: Any, validate_indices: bool = True) -> Any:
    """Per row of the last axis, the sorted union of `a` and `b` (a SparseTensor)."""
    if _is_sparse(a) and not _is_sparse(b):
        a, b = b, a
    return _set_operation(a, b, "union", lambda x, y: x | y)


def intersection(a: Any, b: Any, validate_indices: bool = True) -> Any:
    """Per row of the last axis, the sorted intersection of `a` and `b` (a SparseTensor)."""
    if _is_sparse(a) and not _is_sparse(b):
        a, b = b, a
    return _set_operation(a, b, "intersection", lambda x, y: x & y)


def difference(a: Any, b: Any, aminusb: bool = True, validate_indices: bool = True) -> Any:
    """Per row of the last axis, the sorted elements of `a` not in `b` (or of `b` not in `a`)."""
    if _is_sparse(a) and not _is_sparse(b):
        a, b, aminusb = b, a, not aminusb
    return _set_operation(a, b, "difference", (lambda x, y: x - y) if aminusb else (lambda x, y: y - x))


def size(a: Any, validate_indices: bool = True) -> Tensor:
    """The number of distinct elements in each row of the last axis of a SparseTensor (int32)."""
    if not _is_sparse(a):
        raise TypeError(f"Expected `SparseTensor`, got {a}.")
    outer, rows, dtype = _rows(a, "size")
    _check_dtype(dtype, "size")
    counts = np.zeros(outer, np.int32)
    for i, vals in rows.items():
        counts[i] = len(set(vals))
    return convert_to_tensor(counts)


def _levenshtein(h: list, t: list) -> int:
    prev = list(range(len(t) + 1))
    for i, hv in enumerate(h, 1):
        cur = [i] + [0] * len(t)
        for j, tv in enumerate(t, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (hv != tv))
        prev = cur
    return prev[-1]


def edit_distance(hypothesis: Any, truth: Any, normalize: bool = True, name: str = "edit_distance") -> Tensor:
    """Levenshtein distance between the sequences (last axis) of two SparseTensors, per index of
    the other axes; divided by the truth's length with `normalize` (inf for an empty truth).

    Returns:
        float32 of shape max(hypothesis.dense_shape, truth.dense_shape)[:-1].
    """
    if not (_is_sparse(hypothesis) and _is_sparse(truth)):
        raise TypeError("edit_distance: hypothesis and truth must be SparseTensors.")
    if hypothesis.dtype != truth.dtype:
        raise TypeError(f"edit_distance: hypothesis and truth must have the same dtype, received "
                        f"{hypothesis.dtype.name} and {truth.dtype.name}.")
    outer_h, rows_h, _ = _rows(hypothesis, "edit_distance")
    outer_t, rows_t, _ = _rows(truth, "edit_distance")
    if len(outer_h) != len(outer_t):
        raise ValueError(f"edit_distance: hypothesis and truth must have the same rank, received {len(outer_h) + 1} "
                         f"and {len(outer_t) + 1}.")
    outer = tuple(max(a, b) for a, b in zip(outer_h, outer_t, strict=True))
    out = np.zeros(outer, np.float32)
    for i in np.ndindex(outer):
        h, t = rows_h.get(i, []), rows_t.get(i, [])
        d = float(_levenshtein(h, t))
        if normalize:
            d = d / len(t) if t else (np.inf if h else 0.0)
        out[i] = d
    return convert_to_tensor(out)

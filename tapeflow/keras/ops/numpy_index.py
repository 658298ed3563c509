"""`keras.ops` indexing: take, take_along_axis, where/select, diagonals and triangles, diff,
unravel_index, view."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from tapeflow.keras.ops.arguments import (
    cast,
    constant_like,
    int_list,
    one_axis,
    promote,
    to_tensor,
    xp_of,
)
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra_array, extra_scatter
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_unknown_shapes

_slice = builtins.slice


# -- indexing ---------------------------------------------------------------------------------

def get_item(x: Any, key: Any) -> Tensor:
    """`x[key]` with NumPy indexing."""
    return mv.getitem(to_tensor(x), key)


def _wrap_negative(idx: Tensor, n: int) -> Tensor:
    """Indices with negative entries counted from the end (graph tensors too)."""
    return ew.where(ew.less(idx, cast(to_tensor(0), idx.dtype.name)),
                    ew.add(idx, cast(to_tensor(n), idx.dtype.name)), idx)


def take(x: Any, indices: Any, axis: Any = None) -> Tensor:
    """Elements of `x` at `indices` along `axis` (of the flattened input when None); negative
    indices count from the end."""
    x = to_tensor(x)
    if axis is None:
        x, axis = mv.reshape(x, [-1]), 0
    ax = one_axis(axis, x.ndim, "take")
    idx = to_tensor(indices)
    if idx.dtype.is_floating:
        raise TypeError(f"take: indices must be integers, received dtype {idx.dtype.name}.")
    return mv.gather(x, _wrap_negative(idx, x.shape[ax]), axis=ax)


def take_along_axis(x: Any, indices: Any, axis: Any = None) -> Tensor:
    """Values of `x` at `indices` along `axis`, the other axes broadcast (`np.take_along_axis`);
    negative indices count from the end, repeated indices are allowed."""
    x = to_tensor(x)
    idx = to_tensor(indices)
    if idx.dtype.is_floating:
        raise TypeError(f"take_along_axis: indices must be integers, received dtype {idx.dtype.name}.")
    if axis is None:
        x, idx, axis = mv.reshape(x, [-1]), mv.reshape(idx, [-1]), 0
    ax = one_axis(axis, x.ndim, "take_along_axis")
    if idx.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices must have the rank of x ({x.ndim}), received "
                         f"shape {tuple(idx.shape)}.")
    return extra_scatter.GatherAlong(ax)(x, idx)


def where(condition: Any, x1: Any = None, x2: Any = None) -> Tensor:
    """Choose x1 where `condition`, else x2; with only `condition`, `nonzero(condition)`."""
    if x1 is None and x2 is None:
        from tapeflow.keras.ops.numpy_sort import nonzero

        return nonzero(condition)
    if x1 is None or x2 is None:
        raise ValueError("where: x1 and x2 must both be given, or neither.")
    c = to_tensor(condition)
    if c.dtype.name != "bool":
        c = ew.not_equal(c, extra_array.fill_like(c, 0))
    a, b = promote(x1, x2)
    return ew.where(c, a, b)


def select(condlist: Any, choicelist: Any, default: Any = 0) -> Tensor:
    """The first choice whose condition holds, elementwise; `default` where none does."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: condlist and choicelist differ in length ({len(condlist)} vs "
                         f"{len(choicelist)}).")
    choices = list(promote(*choicelist, default))
    out = choices[-1]
    for c, v in zip(reversed(list(condlist)), reversed(choices[:-1]), strict=True):
        c = to_tensor(c)
        out = ew.where(cast(c, "bool") if c.dtype.name != "bool" else c, v, out)
    return out


# -- diagonals and triangles ------------------------------------------------------------------

@lifted_on_unknown_shapes
def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The `offset` diagonal of the planes (axis1, axis2), as the last axis."""
    x = to_tensor(x)
    a = one_axis(axis1, x.ndim, "diagonal")
    b = one_axis(axis2, x.ndim, "diagonal")
    rest = [i for i in range(x.ndim) if i not in (a, b)]
    y = mv.transpose(x, rest + [a, b])
    n, m = y.shape[-2], y.shape[-1]
    rows = np.arange(builtins.max(0, -offset), builtins.min(n, m - offset))
    xp = xp_of(x)
    r = xp.asarray(rows)
    return mv.getitem(y, (Ellipsis, r, r + offset))


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """Sum of the `offset` diagonal (small ints sum in int32)."""
    d = diagonal(x, offset, axis1, axis2)
    from tapeflow.keras.ops.numpy_reduce import sum as _sum

    return _sum(d, -1)


@lifted_on_unknown_shapes
def diag(x: Any, k: int = 0) -> Tensor:
    """The k-th diagonal of a matrix, or a matrix with 1-D `x` on its k-th diagonal."""
    x = to_tensor(x)
    if x.ndim == 2:
        return diagonal(x, k)
    if x.ndim != 1:
        raise ValueError(f"diag: expected a 1-D or 2-D input, received shape {tuple(x.shape)}.")
    n = x.shape[0] + builtins.abs(k)
    xp = xp_of(x)
    r = np.arange(x.shape[0])
    idx = np.stack([r + builtins.max(-k, 0), r + builtins.max(k, 0)], -1)
    from tapeflow.ops.extra_scatter import ScatterAdd

    return ScatterAdd(xp.asarray(idx), (n, n))(x)


def diagflat(x: Any, k: int = 0) -> Tensor:
    """A matrix with the flattened `x` on its k-th diagonal."""
    return diag(mv.reshape(to_tensor(x), [-1]), k)


def _tri_mask(x: Tensor, k: int, lower: bool) -> Tensor:
    n, m = x.shape[-2], x.shape[-1]
    mask = np.tri(n, m, k, dtype=bool)
    if not lower:
        mask = ~np.tri(n, m, k - 1, dtype=bool)
    return constant_like(mask, x, bool)


@lifted_on_unknown_shapes
def tril(x: Any, k: int = 0) -> Tensor:
    """Zero the entries above the k-th diagonal of the last two axes."""
    x = to_tensor(x)
    return ew.where(_tri_mask(x, int(k), True), x, extra_array.fill_like(x, 0))


@lifted_on_unknown_shapes
def triu(x: Any, k: int = 0) -> Tensor:
    """Zero the entries below the k-th diagonal of the last two axes."""
    x = to_tensor(x)
    return ew.where(_tri_mask(x, int(k), False), x, extra_array.fill_like(x, 0))


def diff(a: Any, n: int = 1, axis: int = -1) -> Tensor:
    """The n-th discrete difference along `axis`."""
    x = to_tensor(a)
    ax = one_axis(axis, x.ndim, "diff")
    for _ in range(int(n)):
        m = x.shape[ax]
        hi = mv.getitem(x, (_slice(None),) * ax + (_slice(1, m),))
        lo = mv.getitem(x, (_slice(None),) * ax + (_slice(0, m - 1),))
        x = ew.not_equal(hi, lo) if x.dtype.name == "bool" else ew.subtract(hi, lo)
    return x


def unravel_index(indices: Any, shape: Any) -> tuple:
    """Flat indices as a tuple of coordinate tensors for `shape`."""
    idx = to_tensor(indices)
    dims = int_list(shape)
    out = []
    rest = idx
    for d in reversed(dims):
        out.append(ew.floormod(rest, cast(to_tensor(d), rest.dtype.name)))
        rest = ew.floordiv(rest, cast(to_tensor(d), rest.dtype.name))
    return tuple(reversed(out))


def view(x: Any, dtype: Any = None) -> Tensor:
    """The same bytes reinterpreted as `dtype` (the last axis rescales; no gradient)."""
    x = to_tensor(x)
    if dtype is None:
        return x
    from tapeflow.keras.ops.promotion import numpy_dtype

    return Tensor(x._value.view(numpy_dtype(dtype)))

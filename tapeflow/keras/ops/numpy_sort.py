"""`keras.ops` sorting and searching: sort, argsort, searchsorted, unique, bincount, histogram."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.keras.ops.arguments import one_axis, promote, to_tensor, xp_of
from tapeflow.ops import movement as mv
from tapeflow.ops.extra_array import ArrayFunction
from tapeflow.ops.extra_scatter import GatherAlong
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_graph_tensors, lifted_on_unknown_shapes


@lifted_on_unknown_shapes
def sort(x: Any, axis: int = -1) -> Tensor:
    """`x` sorted ascending along `axis`, NaNs last (the gradient flows back to the original
    positions)."""
    x = to_tensor(x)
    if axis is None:
        x, axis = mv.reshape(x, [-1]), 0
    if x.ndim == 0:
        return x
    ax = one_axis(axis, x.ndim, "sort")
    order = ArrayFunction("Argsort", lambda xp, a: xp.argsort(a, axis=ax, kind="stable"))(x)
    return GatherAlong(ax)(x, order)


def top_k(x: Any, k: int, sorted: bool = True) -> tuple:  # noqa: A002
    """The k largest values of the last axis (largest first) and their int32 indices; ties
    keep the lower index first. `sorted=False` allows any order; this order is returned."""
    x = to_tensor(x)
    k = int(k)
    if not 0 <= k <= x.shape[-1]:
        raise ValueError(f"top_k: k must be in [0, {x.shape[-1]}], received {k}.")

    def largest(xp: Any, a: Any) -> Any:
        key = -a.astype("float64") if a.dtype.kind in "biu" else -a
        return xp.argsort(key, axis=-1, kind="stable")[..., :k].astype("int32")

    idx = ArrayFunction("TopK", largest)(x)
    return GatherAlong(x.ndim - 1)(x, idx), idx


def argsort(x: Any, axis: int = -1) -> Tensor:
    """Indices that sort `x` along `axis` (stable; int32)."""
    x = to_tensor(x)
    if axis is None:
        x, axis = mv.reshape(x, [-1]), 0
    if x.ndim == 0:
        return Tensor(xp_of(x).asarray(0, dtype="int32"))
    ax = one_axis(axis, x.ndim, "argsort")
    return ArrayFunction("Argsort", lambda xp, a: xp.argsort(a, axis=ax, kind="stable").astype("int32"))(x)


def argpartition(x: Any, kth: int, axis: int = -1) -> Tensor:
    """Indices that partition `x` around its kth smallest element along `axis` (int32)."""
    x = to_tensor(x)
    ax = one_axis(axis, x.ndim, "argpartition")
    k = int(kth)
    return ArrayFunction("Argpartition", lambda xp, a: xp.argpartition(a, k, axis=ax).astype("int32"))(x)


def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> Tensor:
    """Insertion indices of `values` into the 1-D `sorted_sequence` (int32)."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', received {side!r}.")
    s, v = promote(sorted_sequence, values)
    if s.ndim != 1:
        raise ValueError(f"searchsorted: sorted_sequence must be 1-D, received shape {tuple(s.shape)}.")
    return ArrayFunction("SearchSorted",
                         lambda xp, a, b: xp.searchsorted(a, b, side=side).astype("int32"))(s, v)


def digitize(x: Any, bins: Any) -> Tensor:
    """The index of the bin of each value of `x` (`np.digitize` with increasing bins), int32."""
    x, b = promote(x, bins)
    if b.ndim != 1:
        raise ValueError(f"digitize: bins must be 1-D, received shape {tuple(b.shape)}.")
    return ArrayFunction("Digitize", lambda xp, a, e: xp.digitize(a, e).astype("int32"))(x, b)


@lifted_on_graph_tensors
def nonzero(x: Any) -> tuple:
    """The indices of the non-zero elements, one int32 tensor per axis."""
    x = to_tensor(x)
    xp = xp_of(x)
    return tuple(Tensor(i.astype("int32")) for i in xp.nonzero(x._value))


def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each element of x1 occurs in x2 (`invert` negates)."""
    a, b = promote(x1, x2)
    return ArrayFunction("IsIn", lambda xp, p, q: xp.isin(p, q, assume_unique=bool(assume_unique),
                                                          invert=bool(invert)))(a, b)


@lifted_on_graph_tensors
def unique(x: Any, sorted: bool = True, return_index: bool = False, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, axis: Any = None, size: Any = None,
           fill_value: Any = None) -> Any:
    """The distinct values of `x` (flattened, or slices along `axis`): sorted, or in order of
    first occurrence with `sorted=False`; optionally their first indices, the inverse map and
    counts (int32). `size` pads (with `fill_value`, default 0) or truncates the result.
    Not differentiable; computed on the host."""
    x = to_tensor(x)
    host = backend.to_numpy(x._value)
    values, index, inverse, counts = np.unique(host, return_index=True, return_inverse=True,
                                               return_counts=True, axis=axis)
    inverse = inverse.reshape(-1)
    ax = 0 if axis is None else int(axis) % max(host.ndim, 1)
    if not sorted:
        order = np.argsort(index, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        values, index, counts, inverse = np.take(values, order, axis=ax), index[order], counts[order], rank[inverse]
    if size is not None:
        n, k = int(size), values.shape[ax]
        if k >= n:
            values = np.take(values, np.arange(n), axis=ax)
            index, counts = index[:n], counts[:n]
        else:
            pad = [(0, 0)] * values.ndim
            pad[ax] = (0, n - k)
            values = np.pad(values, pad, constant_values=0 if fill_value is None else fill_value)
            index, counts = np.pad(index, (0, n - k)), np.pad(counts, (0, n - k))
    xp = xp_of(x)
    out = [Tensor(backend.asarray(values, None, xp))]
    if return_index:
        out.append(Tensor(backend.asarray(index.astype("int32"), None, xp)))
    if return_inverse:
        inv = inverse.reshape(host.shape) if axis is None else inverse
        out.append(Tensor(backend.asarray(inv.astype("int32"), None, xp)))
    if return_counts:
        out.append(Tensor(backend.asarray(counts.astype("int32"), None, xp)))
    return out[0] if len(out) == 1 else tuple(out)


@lifted_on_graph_tensors
def bincount(x: Any, weights: Any = None, minlength: int = 0, sparse: bool = False) -> Tensor:
    """Counts of each non-negative integer in `x` (weighted sums with `weights`); a 2-D `x`
    counts each row."""
    if sparse:
        raise ValueError("bincount: sparse=True is not supported (Tapeflow has no sparse tensors).")
    x = to_tensor(x)
    if x.dtype.is_floating or x.ndim not in (1, 2):
        raise ValueError(f"bincount: x must be a 1-D or 2-D integer tensor, received dtype "
                         f"{x.dtype.name} and shape {tuple(x.shape)}.")
    xv = backend.to_numpy(x._value)
    if xv.size and xv.min() < 0:
        raise ValueError("bincount: x must not contain negative values.")
    length = max(int(minlength), int(xv.max()) + 1 if xv.size else 0)
    xp = xp_of(x)
    rows = xv.reshape(-1, xv.shape[-1]) if xv.ndim == 2 else xv.reshape(1, -1)
    idx = np.stack([np.repeat(np.arange(rows.shape[0]), rows.shape[1]), rows.reshape(-1)], -1)
    from tapeflow.ops.extra_scatter import ScatterAdd

    if weights is None:
        vals = Tensor(xp.ones(rows.size, dtype="int32"))
    else:
        w = to_tensor(weights)
        vals = mv.reshape(w, [-1])
    out = ScatterAdd(xp.asarray(idx), (rows.shape[0], length))(vals)
    return out if x.ndim == 2 else mv.reshape(out, [length])


@lifted_on_graph_tensors
def histogram(x: Any, bins: int = 10, range: Any = None) -> tuple:  # noqa: A002 - Keras's name
    """Counts of `x` in `bins` equal bins over `range` (default: min to max), in x's float dtype
    as Keras gives them, and the bin edges."""
    x = to_tensor(x)
    host = backend.to_numpy(x._value)
    if host.ndim != 1:
        raise ValueError(f"histogram: x must be 1-D, received shape {host.shape}.")
    counts, edges = np.histogram(host, bins=int(bins), range=range)
    xp = xp_of(x)
    dtype = x.dtype.name if x.dtype.is_floating else "float32"
    return (Tensor(backend.asarray(counts.astype(dtype), None, xp)),
            Tensor(backend.asarray(edges.astype(dtype), None, xp)))

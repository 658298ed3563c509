"""`keras.ops` shape and movement ops: reshape, transpose, join/split, flip/roll, pad, take,
diagonals and triangles, where/select."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from tapeflow.keras.ops.arguments import (
    axis_list,
    cast,
    constant_like,
    int_list,
    one_axis,
    promote,
    strong,
    to_tensor,
    xp_of,
)
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra_array
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_unknown_shapes

_slice = builtins.slice


def reshape(x: Any, newshape: Any) -> Tensor:
    """`x` with shape `newshape` (one entry may be -1)."""
    return mv.reshape(to_tensor(x), int_list(newshape))


def ravel(x: Any) -> Tensor:
    """`x` flattened to 1-D."""
    return mv.reshape(to_tensor(x), [-1])


def transpose(x: Any, axes: Any = None) -> Tensor:
    """Permute the axes (reverse them when `axes` is None)."""
    x = to_tensor(x)
    return mv.transpose(x, None if axes is None else axis_list(axes, x.ndim, "transpose"))


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """`x` with axes `axis1` and `axis2` exchanged."""
    x = to_tensor(x)
    perm = list(range(x.ndim))
    a, b = one_axis(axis1, x.ndim, "swapaxes"), one_axis(axis2, x.ndim, "swapaxes")
    perm[a], perm[b] = perm[b], perm[a]
    return mv.transpose(x, perm)


def moveaxis(x: Any, source: Any, destination: Any) -> Tensor:
    """Move axes `source` to positions `destination`, keeping the others in order."""
    x = to_tensor(x)
    src = axis_list(source, x.ndim, "moveaxis")
    dst = axis_list(destination, x.ndim, "moveaxis")
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source} and destination {destination} differ in length.")
    rest = [i for i in range(x.ndim) if i not in src]
    perm = [None] * x.ndim
    for s, d in zip(src, dst, strict=True):
        perm[d] = s
    it = iter(rest)
    perm = [p if p is not None else next(it) for p in perm]
    return mv.transpose(x, perm)


def expand_dims(x: Any, axis: Any) -> Tensor:
    """Insert length-1 axes at `axis` (an int or a tuple, positions in the result)."""
    x = to_tensor(x)
    axes = sorted(axis_list(axis, x.ndim + (len(axis) if isinstance(axis, (list, tuple)) else 1),
                            "expand_dims"))
    for a in axes:
        x = mv.expand_dims(x, a)
    return x


def squeeze(x: Any, axis: Any = None) -> Tensor:
    """Remove length-1 axes (all, or those in `axis`, which must have length 1)."""
    x = to_tensor(x)
    if axis is None:
        return mv.squeeze(x)
    axes = axis_list(axis, x.ndim, "squeeze")
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: cannot squeeze axis {a} of size {x.shape[a]} (shape {tuple(x.shape)}).")
    return mv.squeeze(x, axes)


def broadcast_to(x: Any, shape: Any) -> Tensor:
    """Broadcast `x` to `shape` like NumPy."""
    return mv.broadcast_to(to_tensor(x), int_list(shape))


def copy(x: Any) -> Tensor:
    """A copy of `x` (the gradient passes through)."""
    return ew.identity(to_tensor(x))


def ndim(x: Any) -> int:
    """The rank of `x` as a Python int."""
    return to_tensor(x).ndim


def size(x: Any) -> int:
    """The number of elements of `x` as a Python int."""
    return int(to_tensor(x)._value.size)


# -- joining and splitting --------------------------------------------------------------------

def _promoted(xs: Any) -> list:
    xs = list(xs)
    return list(promote(*xs)) if xs else []


def concatenate(xs: Any, axis: int | None = 0) -> Tensor:
    """Join tensors along an existing axis (flattened first when `axis` is None)."""
    ts = _promoted(xs)
    if axis is None:
        ts = [mv.reshape(t, [-1]) for t in ts]
        axis = 0
    return mv.concat(ts, int(axis))


def append(x1: Any, x2: Any, axis: Any = None) -> Tensor:
    """x2 appended to x1 along `axis` (both flattened when None)."""
    return concatenate(list(strong(x1, x2)), axis)


def stack(x: Any, axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new `axis` (dtypes promoted)."""
    return mv.stack(_promoted(x), int(axis))


def hstack(xs: Any) -> Tensor:
    """Join along the second axis (the first for 1-D inputs)."""
    ts = _promoted(xs)
    return mv.concat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(xs: Any) -> Tensor:
    """Join along the first axis, 1-D inputs as rows."""
    ts = [t if t.ndim >= 2 else mv.reshape(t, [1, -1]) for t in _promoted(xs)]
    return mv.concat(ts, 0)


def dstack(xs: Any) -> Tensor:
    """Join along the third axis, lower-rank inputs expanded first."""
    out = []
    for t in _promoted(xs):
        if t.ndim == 0:
            t = mv.reshape(t, [1, 1, 1])
        elif t.ndim == 1:
            t = mv.reshape(t, [1, -1, 1])
        elif t.ndim == 2:
            t = mv.expand_dims(t, -1)
        out.append(t)
    return mv.concat(out, 2)


def _split_sizes(n: int, indices_or_sections: Any, op: str, exact: bool) -> list:
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if exact and n % k:
            raise ValueError(f"{op}: an axis of size {n} does not split into {k} equal parts; "
                             "use array_split for unequal parts.")
        base, extra = divmod(n, k)
        return [base + 1] * extra + [base] * (k - extra)
    cuts = [0] + [builtins.min(builtins.max(int(i) if i >= 0 else n + int(i), 0), n)
                  for i in int_list(indices_or_sections)] + [n]
    return [builtins.max(b - a, 0) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


def _split(x: Any, indices_or_sections: Any, axis: int, op: str, exact: bool) -> list:
    x = to_tensor(x)
    ax = one_axis(axis, x.ndim, op)
    sizes = _split_sizes(x.shape[ax], indices_or_sections, op, exact)
    starts = np.cumsum([0] + sizes[:-1])
    return [mv.getitem(x, (_slice(None),) * ax + (_slice(int(s), int(s) + n),))
            for s, n in zip(starts, sizes, strict=True)]


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Split into equal sections, or at the given indices, along `axis`."""
    return _split(x, indices_or_sections, axis, "split", True)


def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Like `split`, but sections may differ in size by one."""
    return _split(x, indices_or_sections, axis, "array_split", False)


def hsplit(x: Any, indices_or_sections: Any) -> list:
    """`split` along the second axis (the first for 1-D inputs)."""
    x = to_tensor(x)
    return _split(x, indices_or_sections, 0 if x.ndim == 1 else 1, "hsplit", True)


def vsplit(x: Any, indices_or_sections: Any) -> list:
    """`split` along the first axis."""
    return _split(x, indices_or_sections, 0, "vsplit", True)


def dsplit(x: Any, indices_or_sections: Any) -> list:
    """`split` along the third axis."""
    return _split(x, indices_or_sections, 2, "dsplit", True)


# -- reordering -------------------------------------------------------------------------------

def flip(x: Any, axis: Any = None) -> Tensor:
    """Reverse the order of elements along `axis` (all axes when None)."""
    x = to_tensor(x)
    axes = list(range(x.ndim)) if axis is None else axis_list(axis, x.ndim, "flip")
    return mv.reverse(x, axes) if axes else x


def fliplr(x: Any) -> Tensor:
    """Reverse along the second axis."""
    return flip(x, 1)


def flipud(x: Any) -> Tensor:
    """Reverse along the first axis."""
    return flip(x, 0)


@lifted_on_unknown_shapes
def roll(x: Any, shift: Any, axis: Any = None) -> Tensor:
    """Shift elements cyclically by `shift` along `axis` (of the flattened input when None)."""
    x = to_tensor(x)
    if axis is None:
        return mv.reshape(roll(mv.reshape(x, [-1]), shift, 0), list(x.shape))
    axes = axis_list(axis, x.ndim, "roll")
    shifts = int_list(shift)
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    xp = xp_of(x)
    for a, s in zip(axes, shifts, strict=True):
        n = x.shape[a]
        idx = Tensor(xp.asarray((np.arange(n) - s) % builtins.max(n, 1), dtype="int64"))
        x = mv.gather(x, idx, axis=a)
    return x


def rot90(array: Any, k: int = 1, axes: tuple = (0, 1)) -> Tensor:
    """Rotate by 90 degrees `k` times in the plane of `axes` (from the first toward the second)."""
    x = to_tensor(array)
    a, b = axis_list(axes, x.ndim, "rot90")
    if a == b:
        raise ValueError(f"rot90: axes must differ, received {axes}.")
    k = int(k) % 4
    for _ in range(k):
        x = swapaxes(flip(x, b), a, b)
    return x


def repeat(x: Any, repeats: Any, axis: Any = None) -> Tensor:
    """Repeat each element `repeats` times (an int, or one count per element) along `axis`."""
    x = to_tensor(x)
    if axis is None:
        x, axis = mv.reshape(x, [-1]), 0
    ax = one_axis(axis, x.ndim, "repeat")
    reps = int_list(repeats)
    xp = xp_of(x)
    counts = reps[0] if len(reps) == 1 else np.asarray(reps)
    idx = np.repeat(np.arange(x.shape[ax]), counts)
    return mv.gather(x, Tensor(xp.asarray(idx, dtype="int64")), axis=ax)


def tile(x: Any, repeats: Any) -> Tensor:
    """Repeat `x` `repeats[i]` times along axis i (ranks aligned at the end)."""
    x = to_tensor(x)
    reps = int_list(repeats)
    if len(reps) > x.ndim:
        x = mv.reshape(x, [1] * (len(reps) - x.ndim) + list(x.shape))
    reps = [1] * (x.ndim - len(reps)) + reps
    return mv.tile(x, reps)


@lifted_on_unknown_shapes
def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> Tensor:
    """Pad with `pad_width` ((before, after) per axis, or one pair/int for all axes)."""
    x = to_tensor(x)
    pw = np.asarray(pad_width.numpy() if isinstance(pad_width, Tensor) else pad_width, dtype=int)
    pw = np.broadcast_to(pw.reshape(-1, 2) if pw.size in (1, 2) and pw.ndim < 2 else pw,
                         (x.ndim, 2)) if pw.size <= 2 else pw
    if mode not in ("constant", "reflect", "symmetric"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect' or 'symmetric' (the modes Keras "
                         f"supports on every backend), received {mode!r}.")
    if constant_values is not None and mode != "constant":
        raise ValueError(f"pad: constant_values is only used with mode='constant', received mode={mode!r}.")
    value = 0 if constant_values is None else constant_values
    return mv.pad(x, pw.tolist(), mode.upper(), value)


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


@lifted_on_unknown_shapes
def take_along_axis(x: Any, indices: Any, axis: Any = None) -> Tensor:
    """Values of `x` at `indices` along `axis`, the other axes broadcast (`np.take_along_axis`)."""
    x = to_tensor(x)
    idx = to_tensor(indices)
    if axis is None:
        x, axis = mv.reshape(x, [-1]), 0
    ax = one_axis(axis, x.ndim, "take_along_axis")
    if idx.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices must have the rank of x ({x.ndim}), received "
                         f"shape {tuple(idx.shape)}.")
    shape = [builtins.max(a, b) if i != ax else b
             for i, (a, b) in enumerate(zip(x.shape, idx.shape, strict=True))]
    bshape = [d if i != ax else x.shape[ax] for i, d in enumerate(shape)]
    x = mv.broadcast_to(x, bshape) if list(x.shape) != bshape else x
    idx = mv.broadcast_to(idx, shape) if list(idx.shape) != shape else idx
    idx = cast(_wrap_negative(idx, x.shape[ax]), "int64")
    # NOTE: one gather on the flattened input: flat = offset of the other axes + idx * stride.
    strides = np.cumprod([1] + bshape[::-1])[:-1][::-1]
    grids = np.meshgrid(*[np.arange(d) for d in shape], indexing="ij")
    base = sum(g * st for i, (g, st) in enumerate(zip(grids, strides, strict=True)) if i != ax)
    flat = ew.add(constant_like(np.asarray(base, dtype=np.int64), idx),
                  ew.multiply(idx, cast(to_tensor(int(strides[ax])), "int64")))
    return mv.gather(mv.reshape(x, [-1]), flat)


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

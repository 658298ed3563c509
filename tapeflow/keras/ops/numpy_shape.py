"""`keras.ops` shape and movement ops: reshape, transpose, join/split, flip/roll/rot90, repeat,
tile, pad. Indexing, where/select and diagonals are in `numpy_index`."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from tapeflow.keras.ops.arguments import (
    axis_list,
    int_list,
    one_axis,
    promote,
    strong,
    to_tensor,
    xp_of,
)
from tapeflow.ops import elementwise as ew
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

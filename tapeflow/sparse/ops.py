"""`tf.sparse` conversions and structure ops: from/to dense, reorder, reshape, slice, concat, ...

Index work is done on the indices' arrays; the values move with `tf.gather` (differentiable),
so gradients flow back to the values of the input.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.sparse import index as ix
from tapeflow.sparse.sparse_tensor import SparseTensor
from tapeflow.tensor import Tensor, convert_to_tensor
from tapeflow.tracing.composite_calls import lift_composite_call

get_xp = backend.get_xp


def _sp(x: Any, op: str) -> SparseTensor:
    if not isinstance(x, SparseTensor):
        raise TypeError(f"tf.sparse.{op}: expected a SparseTensor, received {type(x).__name__}.")
    return x


def _take(values: Tensor, order: Any) -> Tensor:
    return mv.Gather(0)(values, Tensor(order))


def _new(idx: Any, values: Tensor, shape: Any) -> SparseTensor:
    return SparseTensor(Tensor(idx.astype("int64", copy=False)), values,
                        np.asarray(list(shape), np.int64))


def from_dense(tensor: Any, name: Any = None) -> SparseTensor:
    """The non-zero elements of a dense tensor, in row-major order."""
    t = tensor if isinstance(tensor, Tensor) else convert_to_tensor(tensor)
    v = t._value
    xp = get_xp(v)
    zero = b"" if v.dtype.kind == "O" else 0
    if v.ndim == 0:
        raise ValueError("tf.sparse.from_dense: expected a tensor of rank >= 1, received a scalar.")
    idx = xp.argwhere(v != zero).astype("int64")
    values = mv.getitem(t, tuple(idx[:, i] for i in builtins.range(v.ndim)))
    return _new(idx, values, v.shape)


def to_dense(sp_input: Any, default_value: Any = None, validate_indices: bool = True,
             name: Any = None) -> Tensor:
    """The dense tensor: values at their indices, `default_value` (0) elsewhere."""
    sp = _sp(sp_input, "to_dense")
    shape = sp._shape_tuple()
    np_dtype = sp.values._value.dtype
    if validate_indices:
        ix.check_ordered(sp._idx(), shape, "SparseToDense")
    else:
        ix.check_in_bounds(sp._idx(), shape, "SparseToDense")
    if default_value is None:
        fill = b"" if np_dtype.kind == "O" else np.zeros((), np_dtype)[()]
    else:
        d = default_value._value if isinstance(default_value, Tensor) else default_value
        fill = d if np_dtype.kind == "O" else np.asarray(backend.to_numpy(d)).astype(np_dtype)[()]
    return ix.ScatterInto(sp._idx(), shape, fill)(sp.values)


def to_indicator(sp_input: Any, vocab_size: int, name: Any = None) -> Tensor:
    """Bool [..., vocab_size]: True at (index prefix, value) for every stored integer value."""
    sp = _sp(sp_input, "to_indicator")
    idx = sp._idx()
    xp = get_xp(idx)
    ids = sp.values._value.astype("int64")
    shape = sp._shape_tuple()[:-1] + (int(vocab_size),)
    out = xp.zeros(shape, dtype=bool)
    if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= int(vocab_size)):
        raise ValueError(f"tf.sparse.to_indicator: values must be in [0, {vocab_size}), received "
                         f"{backend.to_numpy(ids).tolist()}.")
    out[tuple(idx[:, i] for i in builtins.range(idx.shape[1] - 1)) + (ids,)] = True
    return Tensor(out)


def reorder(sp_input: Any, name: Any = None) -> SparseTensor:
    """The same tensor with its indices in row-major (lexicographic) order."""
    sp = _sp(sp_input, "reorder")
    idx = sp._idx()
    xp = get_xp(idx)
    order = xp.argsort(ix.linear(xp, idx, sp._shape_tuple()), kind="stable")
    return _new(idx[order], _take(sp.values, order), sp._shape_tuple())


def reshape(sp_input: Any, shape: Any, name: Any = None) -> SparseTensor:
    """The same elements in a dense shape of the same size (one dimension may be -1)."""
    sp = _sp(sp_input, "reshape")
    old = sp._shape_tuple()
    size = int(np.prod(old))
    new = [int(d) for d in backend.to_numpy(convert_to_tensor(shape)._value).reshape(-1)]
    if new.count(-1) > 1:
        raise ValueError(f"tf.sparse.reshape: at most one -1 in shape, received {new}.")
    if -1 in new:
        known = int(np.prod([d for d in new if d != -1]))
        new[new.index(-1)] = size // known if known else 0
    if int(np.prod(new)) != size:
        raise ValueError(f"tf.sparse.reshape: cannot reshape a SparseTensor with {size} dense "
                         f"elements (shape {list(old)}) to shape {new}.")
    xp = get_xp(sp._idx())
    return _new(ix.unravel(xp, ix.linear(xp, sp._idx(), old), tuple(new)), sp.values, new)


def retain(sp_input: Any, to_retain: Any) -> SparseTensor:
    """The elements whose entry of the bool vector `to_retain` is True."""
    sp = _sp(sp_input, "retain")
    keep = convert_to_tensor(to_retain)._value
    if keep.shape != (len(sp._idx()),) or keep.dtype != bool:
        raise ValueError(f"tf.sparse.retain: to_retain must be a bool vector of length "
                         f"{len(sp._idx())}, received shape {keep.shape} dtype {keep.dtype}.")
    where = get_xp(keep).nonzero(keep)[0]
    return _new(sp._idx()[where], _take(sp.values, where), sp._shape_tuple())


def slice(sp_input: Any, start: Any, size: Any, name: Any = None) -> SparseTensor:  # noqa: A001
    """The elements inside the box [start, start + size), re-indexed from `start`."""
    sp = _sp(sp_input, "slice")
    idx = sp._idx()
    xp = get_xp(idx)
    shape = np.asarray(sp._shape_tuple(), np.int64)
    b = np.asarray(backend.to_numpy(convert_to_tensor(start)._value), np.int64).reshape(-1)
    n = np.asarray(backend.to_numpy(convert_to_tensor(size)._value), np.int64).reshape(-1)
    if len(b) != len(shape) or len(n) != len(shape):
        raise ValueError(f"tf.sparse.slice: start and size need {len(shape)} entries, received "
                         f"{b.tolist()} and {n.tolist()}.")
    out_shape = np.maximum(np.minimum(b + n, shape) - b, 0)
    bx, ex = xp.asarray(b), xp.asarray(b + n)
    inside = ((idx >= bx) & (idx < ex)).all(axis=1) if len(shape) else xp.ones(len(idx), bool)
    where = xp.nonzero(inside)[0]
    return _new(idx[where] - bx, _take(sp.values, where), out_shape.tolist())


def concat(axis: int, sp_inputs: Any, expand_nonconcat_dims: bool = False, name: Any = None,
           expand_nonconcat_dim: Any = None, concat_dim: Any = None) -> SparseTensor:
    """SparseTensors joined along `axis` (other dims equal, or the largest when expanding)."""
    parts = [_sp(s, "concat") for s in sp_inputs]
    if expand_nonconcat_dim is not None:
        expand_nonconcat_dims = expand_nonconcat_dim
    if concat_dim is not None:
        axis = concat_dim
    rank = parts[0].ndim
    axis = int(axis) + rank if int(axis) < 0 else int(axis)
    shapes = np.asarray([p._shape_tuple() for p in parts], np.int64)
    others = np.delete(shapes, axis, axis=1)
    if not expand_nonconcat_dims and (others != others[0]).any():
        raise ValueError(f"tf.sparse.concat: the inputs' dimensions other than axis {axis} must "
                         f"match, received shapes {shapes.tolist()}.")
    out_shape = shapes.max(axis=0)
    out_shape[axis] = shapes[:, axis].sum()
    xp = get_xp(parts[0]._idx())
    offsets = np.concatenate([[0], np.cumsum(shapes[:, axis])[:-1]])
    idx = []
    for p, off in zip(parts, offsets, strict=True):
        i = p._idx().copy()
        i[:, axis] += int(off)
        idx.append(i)
    values = mv.concat([p.values for p in parts], 0)
    return reorder(_new(xp.concatenate(idx), values, out_shape.tolist()))


def split(sp_input: Any = None, num_split: Any = None, axis: Any = None, name: Any = None,
          keyword_required: Any = None) -> list:
    """`num_split` SparseTensors along `axis` (the first dim % num_split pieces one larger)."""
    sp = _sp(sp_input, "split")
    if num_split is None or axis is None:
        raise ValueError("tf.sparse.split: num_split and axis are required.")
    rank = sp.ndim
    axis = int(axis) + rank if int(axis) < 0 else int(axis)
    n = int(num_split)
    dim = sp._shape_tuple()[axis]
    sizes = [dim // n + (1 if i < dim % n else 0) for i in builtins.range(n)]
    out, start = [], 0
    for s in sizes:
        b = [0] * rank
        size = list(sp._shape_tuple())
        b[axis], size[axis] = start, s
        out.append(slice(sp, b, size))
        start += s
    return out


def transpose(sp_input: Any, perm: Any = None, name: Any = None) -> SparseTensor:
    """Axes permuted by `perm` (reversed by default), indices reordered."""
    sp = _sp(sp_input, "transpose")
    rank = sp.ndim
    perm = list(builtins.range(rank))[::-1] if perm is None else [
        int(p) for p in backend.to_numpy(convert_to_tensor(perm)._value).reshape(-1)]
    if sorted(perm) != list(builtins.range(rank)):
        raise ValueError(f"tf.sparse.transpose: perm must be a permutation of 0..{rank - 1}, "
                         f"received {perm}.")
    shape = [sp._shape_tuple()[p] for p in perm]
    return reorder(_new(sp._idx()[:, perm], sp.values, shape))


def expand_dims(sp_input: Any, axis: Any = None, name: Any = None) -> SparseTensor:
    """A new dimension of size 1 at `axis`."""
    sp = _sp(sp_input, "expand_dims")
    rank = sp.ndim
    axis = -1 if axis is None else int(axis)
    axis = axis + rank + 1 if axis < 0 else axis
    if not 0 <= axis <= rank:
        raise ValueError(f"tf.sparse.expand_dims: axis must be in [{-rank - 1}, {rank}], "
                         f"received {axis}.")
    idx = sp._idx()
    xp = get_xp(idx)
    new_idx = xp.concatenate([idx[:, :axis], xp.zeros((len(idx), 1), "int64"), idx[:, axis:]], 1)
    shape = list(sp._shape_tuple())
    shape.insert(axis, 1)
    return _new(new_idx, sp.values, shape)


def fill_empty_rows(sp_input: Any, default_value: Any, name: Any = None) -> tuple:
    """Rows (axis 0) without elements get `default_value` at [row, 0, ...]; also the indicator."""
    sp = _sp(sp_input, "fill_empty_rows")
    idx = sp._idx()
    xp = get_xp(idx)
    nrows = sp._shape_tuple()[0]
    counts = xp.bincount(idx[:, 0], minlength=nrows) if len(idx) else xp.zeros(nrows, "int64")
    empty = counts == 0
    rows = xp.nonzero(empty)[0].astype("int64")
    new_idx = xp.zeros((len(rows), idx.shape[1]), "int64")
    new_idx[:, 0] = rows
    fill = ew.cast(convert_to_tensor(default_value), sp.dtype)
    fills = mv.broadcast_to(mv.reshape(fill, (1,)), (len(rows),))
    out = _new(xp.concatenate([idx, new_idx]), mv.concat([sp.values, fills], 0), sp._shape_tuple())
    return reorder(out), Tensor(empty)


def reset_shape(sp_input: Any, new_shape: Any = None) -> SparseTensor:
    """A new dense_shape: the tight bounding box of the indices, or `new_shape` (not smaller)."""
    sp = _sp(sp_input, "reset_shape")
    idx = sp._idx()
    if new_shape is None:
        shape = (backend.to_numpy(idx.max(axis=0)) + 1).tolist() if len(idx) else [0] * sp.ndim
        return _new(idx, sp.values, shape)
    shape = [int(d) for d in backend.to_numpy(convert_to_tensor(new_shape)._value).reshape(-1)]
    if len(shape) != sp.ndim or any(a < b for a, b in zip(shape, sp._shape_tuple(), strict=True)):
        raise ValueError(f"tf.sparse.reset_shape: new_shape {shape} must have rank {sp.ndim} and "
                         f"be at least the current shape {list(sp._shape_tuple())}.")
    return _new(idx, sp.values, shape)


def eye(num_rows: int, num_columns: int | None = None, dtype: Any = _dt.float32,
        name: Any = None) -> SparseTensor:
    """A sparse identity matrix [num_rows, num_columns]."""
    cols = num_rows if num_columns is None else int(num_columns)
    n = min(int(num_rows), cols)
    d = np.arange(n, dtype=np.int64)
    return _new(np.stack([d, d], 1), Tensor(np.ones(n, _dt.as_dtype(dtype)._np)),
                [int(num_rows), cols])


def map_values(op: Callable, *args: Any, **kwargs: Any) -> SparseTensor:
    """`op` applied to the values of the SparseTensor arguments (which share their indices)."""
    sps = [a for a in list(args) + list(kwargs.values()) if isinstance(a, SparseTensor)]
    if not sps:
        raise ValueError("tf.sparse.map_values: at least one argument must be a SparseTensor.")
    first = sps[0]
    if len(sps) > 1 and any(s._values._value is None or s._indices._value is None for s in sps):
        # Inside tf.function: the indices are compared when the node runs.
        return lift_composite_call(map_values, (op, *args), kwargs, "SparseMapValues")
    for s in sps[1:]:
        xp = get_xp(first._idx())
        if s._idx().shape != first._idx().shape or not bool(xp.all(s._idx() == first._idx())) or (
                s._shape_tuple() != first._shape_tuple()):
            raise ValueError("tf.sparse.map_values: the SparseTensor arguments must have the same "
                             "indices and dense_shape.")

    def vals(a: Any) -> Any:
        return a.values if isinstance(a, SparseTensor) else a

    return first.with_values(op(*[vals(a) for a in args], **{k: vals(v) for k, v in kwargs.items()}))


def mask(a: Any, mask_indices: Any, name: Any = None) -> Any:
    """The IndexedSlices `a` without the slices whose index is in `mask_indices` (order kept).

    Args:
        a: a `tf.IndexedSlices`. mask_indices: 1-D indices to drop.

    Returns:
        IndexedSlices of the remaining values (gathered: gradients reach `a.values`), same dense_shape.
    """
    from tapeflow.framework_extra import IndexedSlices

    if not isinstance(a, IndexedSlices):
        raise TypeError(f"sparse.mask: `a` must be a tf.IndexedSlices, received {type(a).__name__}.")
    idx = backend.to_numpy(a.indices._value)
    drop = mask_indices if isinstance(mask_indices, Tensor) else convert_to_tensor(mask_indices)
    if not drop.dtype.is_integer:
        raise TypeError(f"sparse.mask: mask_indices must be integers, received {drop.dtype.name}.")
    dropped = backend.to_numpy(drop._value)
    if idx.ndim != 1 or dropped.ndim != 1:
        raise ValueError(f"sparse.mask: indices and mask_indices must be 1-D, received shapes {idx.shape} and "
                         f"{dropped.shape}.")
    keep = np.nonzero(~np.isin(idx, dropped))[0].astype(np.int32)
    xp = backend.get_xp(a.values._value)
    return IndexedSlices(mv.gather(a.values, Tensor(backend.asarray(keep, None, xp))),
                         Tensor(backend.asarray(idx[keep], None, xp)), a.dense_shape)


def gather_rows(sp: SparseTensor, index: np.ndarray) -> SparseTensor:
    """Rows `index` (1-D host ints, distinct, in range) of `sp` along axis 0, indices in row-major
    order; values gathered differentiably (how `fit` batches a SparseTensor)."""
    idx = backend.to_numpy(sp.indices._value)
    shape = backend.to_numpy(sp.dense_shape._value)
    position = np.full(int(shape[0]), -1, np.int64)
    position[index] = np.arange(len(index))
    new_rows = position[idx[:, 0]] if idx.size else np.zeros(0, np.int64)
    keep = np.nonzero(new_rows >= 0)[0]
    out = idx[keep].copy()
    out[:, 0] = new_rows[keep]
    order = np.lexsort(out.T[::-1]) if len(out) else np.zeros(0, np.int64)
    take = keep[order]
    values = mv.gather(sp.values, Tensor(backend.asarray(take, None, backend.get_xp(sp.values._value))))
    return SparseTensor(out[order], values, [len(index), *shape[1:].tolist()])

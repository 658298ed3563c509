"""RaggedTensor <-> dense and sparse conversions, and `merge_dims`.

`to_tensor` pads level by level, innermost first (`rows.PadRows`, differentiable); `from_tensor`
keeps the cells before each row's length (a gather, differentiable).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.ops import movement as mv
from tapeflow.ragged import rows
from tapeflow.tensor import Tensor, convert_to_tensor

get_xp = backend.get_xp


def outer_indices(rt: Any) -> list:
    """For each flat value, its index along axis 0 and along every ragged axis (int64 arrays)."""
    levels = rt.nested_row_splits
    xp = get_xp(levels[0]._value)
    s = levels[-1]._value
    cur = rows.row_ids(xp, s)
    cols = [rows.positions(xp, s, cur)]
    for splits in reversed(levels[:-1]):
        s = splits._value
        ids = rows.row_ids(xp, s)
        cols.append(rows.positions(xp, s, ids)[cur])
        cur = ids[cur]
    cols.append(cur)
    return cols[::-1]


def _fill_value(default_value: Any, np_dtype: Any) -> Any:
    if default_value is None:
        return b"" if np_dtype.kind in "OSU" else np.zeros((), np_dtype)[()]
    d = default_value._value if isinstance(default_value, Tensor) else default_value
    arr = backend.to_numpy(d) if not isinstance(d, (int, float, bool, bytes, str)) else d
    if np.ndim(arr) != 0:
        raise ValueError("RaggedTensor.to_tensor: only a scalar default_value is supported, "
                         f"received shape {np.shape(arr)}.")
    return arr if np_dtype.kind in "OSU" else np.asarray(arr).astype(np_dtype)[()]


def to_tensor(rt: Any, default_value: Any, shape: Any) -> Tensor:
    """The rows of `rt` padded with `default_value` into a dense tensor (see RaggedTensor)."""
    target = None if shape is None else [None if d is None or d == -1 else int(d) for d in shape]
    if target is not None and len(target) != rt.ndim:
        raise ValueError(f"RaggedTensor.to_tensor: shape {list(shape)} must have rank {rt.ndim}.")
    values = rt.values
    if not isinstance(values, Tensor):
        values = to_tensor(values, default_value, None if target is None else target[1:])
    fill = _fill_value(default_value, values._value.dtype)
    s = rt.row_splits._value
    xp = get_xp(s)
    nrows = len(s) - 1
    lengths = s[1:] - s[:-1]
    width = int(lengths.max()) if nrows else 0
    if target is not None and target[1] is not None:
        width = target[1]
    ids = rows.row_ids(xp, s)
    out = rows.PadRows(ids, rows.positions(xp, s, ids), nrows, width, fill)(values)
    if target is not None:
        out = _fit_shape(out, target, fill)
    return out


def _fit_shape(x: Tensor, target: list, fill: Any) -> Tensor:
    """Crop or pad `x` (with `fill`) to the known dims of `target`."""
    crop = tuple(slice(0, t) if t is not None and t < d else slice(None)
                 for d, t in zip(x.shape, target, strict=True))
    if any(c.stop is not None for c in crop):
        x = mv.getitem(x, crop)
    pads = [[0, max(0, t - d) if t is not None else 0] for d, t in zip(x.shape, target, strict=True)]
    if any(p[1] for p in pads):
        x = mv.pad(x, pads, constant_values=fill)
    return x


def from_tensor(cls: Any, tensor: Any, lengths: Any, padding: Any, ragged_rank: int,
                row_splits_dtype: Any) -> Any:
    """See `RaggedTensor.from_tensor`."""
    t = tensor if isinstance(tensor, Tensor) else convert_to_tensor(tensor)
    ragged_rank = int(ragged_rank)
    if ragged_rank < 1 or ragged_rank >= t.ndim:
        raise ValueError(f"RaggedTensor.from_tensor: ragged_rank must be in [1, {t.ndim - 1}] for "
                         f"a tensor of rank {t.ndim}, received {ragged_rank}.")
    if lengths is not None and padding is not None:
        raise ValueError("RaggedTensor.from_tensor: specify lengths or padding, not both.")
    sdt = _dt.as_dtype(row_splits_dtype)._np
    shape = tuple(t.shape)
    xp = get_xp(t._value)
    if ragged_rank > 1 or (lengths is None and padding is None):
        if lengths is not None or padding is not None:
            raise ValueError("RaggedTensor.from_tensor: lengths and padding are supported with "
                             f"ragged_rank=1, received ragged_rank={ragged_rank}.")
        # Rows of uniform length at every ragged axis (as TF: the shape keeps every dimension).
        result: Any = mv.reshape(t, (-1,) + shape[ragged_rank + 1:])
        for d in reversed(shape[1:ragged_rank + 1]):
            result = cls.from_uniform_row_length(result, d)
        return result.with_row_splits_dtype(_dt.from_numpy(np.dtype(sdt)))
    n, m = shape[0], shape[1]
    inner = shape[2:]
    if lengths is not None:
        lv = convert_to_tensor(lengths)._value.astype("int64")
        lv = backend.asarray(backend.to_numpy(lv), None, xp)
        if lv.shape != (n,) or bool((lv < 0).any()) or bool((lv > m).any()):
            raise ValueError(f"RaggedTensor.from_tensor: lengths must be {n} values in [0, {m}], "
                             f"received {backend.to_numpy(lv).tolist()}.")
    else:
        pad = convert_to_tensor(padding, dtype=t.dtype)._value
        not_pad = t._value != pad
        if not_pad.ndim > 2:
            not_pad = not_pad.reshape(n, m, -1).any(axis=2)
        lv = (not_pad * xp.arange(1, m + 1)).max(axis=1) if m else xp.zeros(n, "int64")
        lv = lv.astype("int64")
    splits = rows.splits_from_lengths(xp, lv, sdt)
    ids = rows.row_ids(xp, splits)
    flat_idx = ids * m + rows.positions(xp, splits, ids)
    values = mv.Gather(0)(mv.reshape(t, (n * m,) + inner), Tensor(flat_idx))
    return cls(values, Tensor(splits), internal=True)


def from_sparse(cls: Any, st: Any, row_splits_dtype: Any) -> Any:
    """See `RaggedTensor.from_sparse`: a 2-D SparseTensor whose rows are filled from the left."""
    idx = st.indices._value
    if idx.shape[1] != 2:
        raise ValueError(f"RaggedTensor.from_sparse: expected a 2-D SparseTensor, received rank "
                         f"{idx.shape[1]}.")
    xp = get_xp(idx)
    nrows = int(st.dense_shape._value[0])
    rt = cls.from_value_rowids(st.values, idx[:, 0], nrows)
    s = rt.row_splits._value
    if not bool((rows.positions(xp, s) == idx[:, 1]).all()):
        raise ValueError("RaggedTensor.from_sparse: the SparseTensor must be ragged-right "
                         "(each row's indices 0, 1, 2, ... in order).")
    return rt.with_row_splits_dtype(row_splits_dtype)


def to_sparse(rt: Any) -> Any:
    """A SparseTensor with one entry per scalar element of `rt`."""
    from tapeflow.sparse.sparse_tensor import SparseTensor

    flat = rt.flat_values
    xp = get_xp(flat._value)
    cols = outer_indices(rt)
    inner = tuple(flat.shape[1:])
    if inner:
        k = int(np.prod(inner))
        grid = np.indices(inner).reshape(len(inner), -1)
        cols = [xp.repeat(c, k) for c in cols] + [xp.tile(xp.asarray(g), len(flat._value)) for g in grid]
    indices = xp.stack(cols, axis=1).astype("int64") if cols[0].size else xp.zeros((0, len(cols)),
                                                                                   "int64")
    return SparseTensor(Tensor(indices), mv.reshape(flat, (-1,)),
                        Tensor(rt.bounding_shape(out_type="int64")._value))


def _sizes(v: Any, depth: int) -> Any:
    """How many items `depth` axes down each row of `v` holds (depth 0: one each)."""
    if isinstance(v, Tensor):
        xp = get_xp(v._value)
        return xp.full(v.shape[0], int(np.prod(v.shape[1:depth + 1])), dtype="int64")
    s = v.row_splits._value
    xp = get_xp(s)
    if depth == 0:
        return xp.ones(len(s) - 1, dtype="int64")
    cs = rows.splits_from_lengths(xp, _sizes(v.values, depth - 1))
    return cs[s[1:]] - cs[s[:-1]]


def merge_dims(rt: Any, outer_axis: int, inner_axis: int) -> Any:
    """See `RaggedTensor.merge_dims`."""
    rank = rt.ndim
    o = outer_axis + rank if outer_axis < 0 else outer_axis
    i = inner_axis + rank if inner_axis < 0 else inner_axis
    if not 0 <= o <= i < rank:
        raise ValueError(f"RaggedTensor.merge_dims: expected 0 <= outer_axis <= inner_axis < "
                         f"{rank}, received outer_axis={outer_axis}, inner_axis={inner_axis}.")
    if o == i:
        return rt
    if o > 1:
        return rt.with_values(merge_dims(rt.values, o - 1, i - 1))
    if o == 1:
        s = rt.row_splits._value
        xp = get_xp(s)
        cs = rows.splits_from_lengths(xp, _sizes(rt.values, i - 1))
        merged = _merge_from_top(rt.values, i - 1)
        return type(rt).from_row_splits(merged, Tensor(cs[s].astype(s.dtype)), validate=False)
    return _merge_from_top(rt, i)


def _merge_from_top(v: Any, i: int) -> Any:
    """`v` with its axes 0..i merged into one."""
    for k in range(i):
        if isinstance(v, Tensor):
            return mv.reshape(v, (-1,) + tuple(v.shape[i - k + 1:]))
        v = v.values
    return v


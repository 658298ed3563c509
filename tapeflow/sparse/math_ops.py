"""`tf.sparse` arithmetic: add, maximum/minimum, sparse_dense_matmul, reductions, softmax,
segment sums, bincount, sampled_addmm.

Values move with gathers and scatter-adds (`ScatterAdd`), so the values (and dense operands)
get gradients wherever TF defines them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.ops import elementwise as ew
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.ops.extra_scatter import ScatterAdd, ScatterReduce
from tapeflow.sparse import index as ix
from tapeflow.sparse.ops import _new, _sp, to_dense
from tapeflow.sparse.sparse_tensor import SparseTensor
from tapeflow.tensor import Tensor, convert_to_tensor

get_xp = backend.get_xp


def _segment_sum(values: Tensor, groups: Any, n: int) -> Tensor:
    return ScatterAdd(groups.reshape(-1, 1), (n,) + tuple(values.shape[1:]))(values)


def _union(a: SparseTensor, b: SparseTensor, op: str) -> tuple:
    """(sorted union of both index sets, each input's position in it)."""
    if a._shape_tuple() != b._shape_tuple():
        raise ValueError(f"tf.sparse.{op}: both SparseTensors must have the same dense_shape, "
                         f"received {list(a._shape_tuple())} and {list(b._shape_tuple())}.")
    xp = get_xp(a._idx())
    shape = a._shape_tuple()
    keys = xp.concatenate([ix.linear(xp, a._idx(), shape), ix.linear(xp, b._idx(), shape)])
    uniq, groups = ix.group(xp, keys)
    na = len(a._idx())
    return ix.unravel(xp, uniq, shape), groups[:na], groups[na:], len(uniq)


def add(a: Any, b: Any, threshold: Any = 0, name: Any = None) -> Any:
    """Sparse + sparse -> sparse (entries below `threshold` in magnitude dropped); with a dense
    operand the result is dense."""
    if not isinstance(a, SparseTensor):
        a, b = b, a
    if not isinstance(b, SparseTensor):
        b = b if isinstance(b, Tensor) else convert_to_tensor(b, dtype=a.dtype)
        return ew.add(to_dense(a, validate_indices=False), b)
    if a.dtype != b.dtype:
        raise TypeError(f"tf.sparse.add: both operands must have the same dtype, received "
                        f"{a.dtype.name} and {b.dtype.name}.")
    idx, ga, gb, n = _union(a, b, "add")
    total = _segment_sum(mv.concat([a.values, b.values], 0), get_xp(ga).concatenate([ga, gb]), n)
    thresh = threshold._value if isinstance(threshold, Tensor) else threshold
    if np.any(np.asarray(backend.to_numpy(thresh)) > 0):
        keep = get_xp(idx).nonzero(get_xp(idx).abs(total._value) >= thresh)[0]
        return _new(idx[keep], mv.Gather(0)(total, Tensor(keep)), a._shape_tuple())
    return _new(idx, total, a._shape_tuple())


def _elementwise_union(fn: Any, a: SparseTensor, b: SparseTensor, op: str) -> SparseTensor:
    idx, ga, gb, n = _union(_sp(a, op), _sp(b, op), op)
    return _new(idx, fn(_segment_sum(a.values, ga, n), _segment_sum(b.values, gb, n)),
                a._shape_tuple())


def maximum(sp_a: Any, sp_b: Any, name: Any = None) -> SparseTensor:
    """Elementwise max of two SparseTensors of one shape (missing entries are 0)."""
    return _elementwise_union(ew.maximum, sp_a, sp_b, "maximum")


def minimum(sp_a: Any, sp_b: Any, name: Any = None) -> SparseTensor:
    """Elementwise min of two SparseTensors of one shape (missing entries are 0)."""
    return _elementwise_union(ew.minimum, sp_a, sp_b, "minimum")


def sparse_dense_matmul(sp_a: Any, b: Any, adjoint_a: bool = False, adjoint_b: bool = False,
                        name: Any = None) -> Tensor:
    """A @ B with one operand a rank-2 SparseTensor: [m, k] @ [k, n] -> dense [m, n]."""
    if not isinstance(sp_a, SparseTensor):
        # dense @ sparse = (sparse^T @ dense^T)^T
        if not isinstance(b, SparseTensor):
            raise TypeError("tf.sparse.sparse_dense_matmul: one operand must be a SparseTensor.")
        out = sparse_dense_matmul(b, sp_a, adjoint_a=not adjoint_b, adjoint_b=not adjoint_a)
        return mv.transpose(out)
    if sp_a.ndim != 2:
        raise ValueError(f"tf.sparse.sparse_dense_matmul: the SparseTensor must have rank 2, "
                         f"received dense_shape {list(sp_a._shape_tuple())}.")
    b = b if isinstance(b, Tensor) else convert_to_tensor(b, dtype=sp_a.dtype)
    if adjoint_b:
        b = mv.transpose(b)
    idx = sp_a._idx()
    rows, cols = (idx[:, 1], idx[:, 0]) if adjoint_a else (idx[:, 0], idx[:, 1])
    m, k = sp_a._shape_tuple()[::-1] if adjoint_a else sp_a._shape_tuple()
    if b.ndim != 2 or b.shape[0] != k:
        raise ValueError(f"tf.sparse.sparse_dense_matmul: cannot multiply a [{m}, {k}] sparse "
                         f"matrix by a dense one of shape {tuple(b.shape)}.")
    contrib = ew.multiply(mv.reshape(sp_a.values, (-1, 1)), mv.Gather(0)(b, Tensor(cols)))
    return ScatterAdd(rows.reshape(-1, 1), (m, b.shape[1]))(contrib)


def _reduce_axes(sp: SparseTensor, axis: Any, op: str) -> list:
    rank = sp.ndim
    if axis is None:
        return list(range(rank))
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(
        backend.to_numpy(convert_to_tensor(axis)._value).reshape(-1))
    out = sorted({int(a) + rank if int(a) < 0 else int(a) for a in axes})
    if any(not 0 <= a < rank for a in out):
        raise ValueError(f"tf.sparse.{op}: axis {axis} is out of range for rank {rank}.")
    return out


def _reduce(sp_input: Any, axis: Any, keepdims: Any, output_is_sparse: bool, op: str) -> Any:
    sp = _sp(sp_input, op)
    axes = _reduce_axes(sp, axis, op)
    keep = [d for d in range(sp.ndim) if d not in axes]
    shape = sp._shape_tuple()
    out_shape = tuple(shape[d] for d in keep)
    idx = sp._idx()
    xp = get_xp(idx)
    uniq, groups = ix.group(xp, ix.linear(xp, idx[:, keep], out_shape))
    n = len(uniq)
    if op == "reduce_sum":
        vals = _segment_sum(sp.values, groups, n)
    else:
        low = np.finfo(sp.values._value.dtype).min if sp.dtype._np.kind == "f" else np.iinfo(
            sp.values._value.dtype).min
        vals = ScatterReduce(groups.reshape(-1, 1), (n,), "max", low)(sp.values)
    if not keep and not output_is_sparse:  # every axis reduced: a scalar (0 when nothing stored)
        total = to_dense(_new(xp.zeros((n, 1), "int64"), vals, (1,)), validate_indices=False)
        return mv.reshape(total, (1,) * sp.ndim if keepdims else ())
    out_idx = ix.unravel(xp, uniq, out_shape)
    if keepdims:
        full = xp.zeros((n, sp.ndim), "int64")
        full[:, keep] = out_idx
        out_idx, out_shape = full, tuple(1 if d in axes else shape[d] for d in range(sp.ndim))
    result = _new(out_idx, vals, out_shape)
    return result if output_is_sparse else to_dense(result, validate_indices=False)


def reduce_sum(sp_input: Any, axis: Any = None, keepdims: Any = None, output_is_sparse: bool = False,
               name: Any = None) -> Any:
    """Sum over `axis` (all axes when None): dense, or sparse with `output_is_sparse`."""
    return _reduce(sp_input, axis, keepdims, output_is_sparse, "reduce_sum")


def reduce_max(sp_input: Any, axis: Any = None, keepdims: Any = None, output_is_sparse: bool = False,
               name: Any = None) -> Any:
    """Max of the stored values over `axis` (0 where none is stored), as TF."""
    return _reduce(sp_input, axis, keepdims, output_is_sparse, "reduce_max")


def softmax(sp_input: Any, name: Any = None) -> SparseTensor:
    """Softmax over the stored values of each innermost row (missing entries excluded)."""
    sp = _sp(sp_input, "softmax")
    if sp.dtype._np.kind != "f":
        raise TypeError(f"tf.sparse.softmax: expected floating values, received {sp.dtype.name}.")
    idx = sp._idx()
    xp = get_xp(idx)
    shape = sp._shape_tuple()
    uniq, groups = ix.group(xp, ix.linear(xp, idx[:, :-1], shape[:-1]))
    n = len(uniq)
    v = sp.values
    # NOTE: subtract each row's max (a constant for the gradient) before exp, for stability.
    low = np.finfo(v._value.dtype).min
    row_max = ScatterReduce(groups.reshape(-1, 1), (n,), "max", low)(ew.stop_gradient(v))
    e = ew.exp(ew.subtract(v, mv.Gather(0)(row_max, Tensor(groups))))
    denom = mv.Gather(0)(_segment_sum(e, groups, n), Tensor(groups))
    return sp.with_values(ew.truediv(e, denom))


def _segment(data: Any, indices: Any, segment_ids: Any, num_segments: Any, op: str) -> Tensor:
    d = data if isinstance(data, Tensor) else convert_to_tensor(data)
    i = convert_to_tensor(indices)._value.astype("int64")
    s = convert_to_tensor(segment_ids)._value.astype("int64")
    xp = get_xp(s)
    if i.shape != s.shape or i.ndim != 1:
        raise ValueError(f"tf.sparse.{op}: indices and segment_ids must be vectors of one length, "
                         f"received shapes {i.shape} and {s.shape}.")
    n = int(num_segments) if num_segments is not None else (int(s.max()) + 1 if len(s) else 0)
    picked = mv.Gather(0)(d, Tensor(i))
    total = _segment_sum(picked, s, n)
    if op == "segment_sum":
        return total
    count = xp.maximum(xp.bincount(s, minlength=n), 1).astype(d._value.dtype).reshape(
        (-1,) + (1,) * (d.ndim - 1))
    if op == "segment_mean":
        return ew.truediv(total, Tensor(count))
    # NOTE: TF multiplies by 1/sqrt(n) (not a division by sqrt(n)); the float32 roundings differ.
    return ew.multiply(total, Tensor(1 / xp.sqrt(count)))


def segment_sum(data: Any, indices: Any, segment_ids: Any, num_segments: Any = None,
                name: Any = None) -> Tensor:
    """out[s] = sum of data[indices[i]] over the i with segment_ids[i] == s."""
    return _segment(data, indices, segment_ids, num_segments, "segment_sum")


def segment_mean(data: Any, indices: Any, segment_ids: Any, num_segments: Any = None,
                 name: Any = None) -> Tensor:
    """Like `segment_sum`, divided by each segment's size (empty segments give 0)."""
    return _segment(data, indices, segment_ids, num_segments, "segment_mean")


def segment_sqrt_n(data: Any, indices: Any, segment_ids: Any, num_segments: Any = None,
                   name: Any = None) -> Tensor:
    """Like `segment_sum`, divided by the square root of each segment's size."""
    return _segment(data, indices, segment_ids, num_segments, "segment_sqrt_n")


def bincount(values: Any, weights: Any = None, axis: int = 0, minlength: Any = None,
             maxlength: Any = None, binary_output: bool = False, name: Any = None) -> SparseTensor:
    """Counts (or summed weights) of each integer value as a SparseTensor; axis=-1 per row."""
    sp_in = isinstance(values, SparseTensor)
    vals = values.values._value if sp_in else convert_to_tensor(values)._value
    xp = get_xp(vals)
    vals = vals.astype("int64")
    if axis not in (0, -1, None):
        raise ValueError(f"tf.sparse.bincount: axis must be 0 or -1, received {axis}.")
    rank = values.ndim if sp_in else vals.ndim
    if sp_in:
        rows = values._idx()[:, 0] if axis == -1 and rank == 2 else xp.zeros(len(vals), "int64")
        flat = vals
    else:
        rows = (xp.repeat(xp.arange(vals.shape[0]), vals.shape[1]) if axis == -1 and rank == 2
                else xp.zeros(vals.size, "int64"))
        flat = vals.reshape(-1)
    size = int(flat.max()) + 1 if flat.size else 0
    if minlength is not None:
        size = max(size, int(minlength))
    if maxlength is not None:
        size = min(size, int(maxlength))
    keep = (flat >= 0) & (flat < size)
    w = None
    if weights is not None:
        wv = weights.values._value if isinstance(weights, SparseTensor) else convert_to_tensor(
            weights)._value
        w = wv.reshape(-1)[keep]
    per_row = axis == -1 and rank == 2
    nrows = (values._shape_tuple()[0] if sp_in else vals.shape[0]) if per_row else 1
    keys = rows[keep] * size + flat[keep]
    uniq, groups = ix.group(xp, keys)
    if w is not None:
        dt = w.dtype
    else:  # counts take the values' dtype (int32 stays int32)
        dt = values.dtype._np if sp_in else convert_to_tensor(values).dtype._np
    if binary_output:
        counts = xp.ones(len(uniq), dtype=dt)
    else:
        counts = xp.bincount(groups, weights=w, minlength=len(uniq)).astype(dt)
    if per_row:
        return _new(ix.unravel(xp, uniq, (nrows, size)), Tensor(counts), [nrows, size])
    return _new(uniq.reshape(-1, 1), Tensor(counts), [size])


def sampled_addmm(indices: Any, values: Any, dense_shape: Any, mat1: Any, mat2: Any,
                  beta: float = 1.0, alpha: float = 1.0, output_type: Any = _dt.float32) -> tuple:
    """beta * values + alpha * (mat1 @ mat2) read at `indices`: (indices, values, dense_shape)."""
    m1 = mat1 if isinstance(mat1, Tensor) else convert_to_tensor(mat1, dtype=output_type)
    m2 = mat2 if isinstance(mat2, Tensor) else convert_to_tensor(mat2, dtype=output_type)
    v = values if isinstance(values, Tensor) else convert_to_tensor(values, dtype=output_type)
    idx_t = indices if isinstance(indices, Tensor) else convert_to_tensor(indices)
    idx = idx_t._value
    prod = la.matmul(m1, m2)
    key = tuple(idx[..., i] for i in range(idx.shape[-1])) if prod.ndim == 2 else (
        tuple(np.indices(idx.shape[:-1])[:-1]) + tuple(idx[..., i] for i in range(2)))
    picked = mv.getitem(prod, key)
    out = ew.add(ew.multiply(v, beta), ew.multiply(picked, alpha))
    shape = dense_shape if isinstance(dense_shape, Tensor) else convert_to_tensor(dense_shape)
    return idx_t, out, shape


__all__ = ["add", "maximum", "minimum", "sparse_dense_matmul", "reduce_sum", "reduce_max",
           "softmax", "segment_sum", "segment_mean", "segment_sqrt_n", "bincount", "sampled_addmm"]

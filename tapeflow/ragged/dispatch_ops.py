"""How `tf.*` ops run on RaggedTensors (reached through `tapeflow.dispatch`).

Elementwise ops run on the flat values once every operand is aligned with them (ragged operands
must share the row partition; dense ones are gathered at each value's row/position, which is
TF's broadcasting of a dense tensor against ragged axes). Reductions along the innermost ragged
axis pad the rows with the reduction's identity and reduce the dense block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.dtypes import is_inexact_np
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.ragged import rows
from tapeflow.ragged.conversion import outer_indices
from tapeflow.ragged.ragged_tensor import RaggedTensor
from tapeflow.tensor import Tensor, convert_to_tensor

get_xp = backend.get_xp


def dispatch(kind: str, api_name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
    if kind == "elementwise":
        return elementwise(fn, args, kwargs)
    if kind == "reduction":
        return reduction(api_name, fn, args, kwargs)
    handler = _HANDLERS.get(api_name)
    return NotImplemented if handler is None else handler(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# Elementwise
# ---------------------------------------------------------------------------------------------

def _same_partition(a: RaggedTensor, b: RaggedTensor) -> bool:
    sa, sb = a.nested_row_splits, b.nested_row_splits
    if len(sa) != len(sb):
        return False
    xp = get_xp(sa[0]._value)
    return all(x is y or (x._value.shape == y._value.shape and bool(xp.all(x._value == y._value)))
               for x, y in zip(sa, sb, strict=True))


def _align_dense(d: Tensor, rt: RaggedTensor, cols: list | None) -> tuple[Tensor, list | None]:
    """Dense `d` as an operand of rt.flat_values: broadcast across the ragged axes by gathering."""
    flat = rt.flat_values
    inner_rank = flat.ndim - 1
    if d.ndim <= inner_rank:
        return d, cols
    nouter = rt.ragged_rank + 1
    if d.ndim > rt.ndim:
        raise ValueError(f"A dense operand of shape {d.shape} has a higher rank than the "
                         f"RaggedTensor of shape {rt.shape}.")
    shape = (1,) * (rt.ndim - d.ndim) + tuple(d.shape)
    d = mv.reshape(d, shape)
    if cols is None:
        cols = outer_indices(rt)
    xp = get_xp(cols[0])
    lengths = [None] + [s._value[1:] - s._value[:-1] for s in rt.nested_row_splits]
    key = []
    for axis in range(nouter):
        size = shape[axis]
        if size == 1:
            key.append(xp.zeros_like(cols[axis]))
            continue
        ok = (size == len(rt)) if axis == 0 else bool((lengths[axis] == size).all())
        if not ok:
            raise InvalidArgumentError(
                f"Cannot broadcast a dense operand of shape {tuple(d.shape)} against the "
                f"RaggedTensor of shape {rt.shape} at axis {axis}.")
        key.append(cols[axis])
    return mv.getitem(d, tuple(key)), cols


def elementwise(fn: Callable, args: tuple, kwargs: dict) -> RaggedTensor:
    """Apply the elementwise op `fn` to the flat values of its RaggedTensor operands."""
    everything = list(args) + list(kwargs.values())
    rt = next(a for a in everything if isinstance(a, RaggedTensor))
    flat = rt.flat_values
    cols: list | None = None

    def convert(a: Any) -> Any:
        nonlocal cols
        if isinstance(a, RaggedTensor):
            if a is not rt and not _same_partition(a, rt):
                raise InvalidArgumentError(
                    "Ragged operands of an elementwise op must have the same row partitions, "
                    f"received shapes {rt.shape} and {a.shape} with different row lengths.")
            return a.flat_values
        if isinstance(a, (Tensor, np.ndarray)) or backend.is_gpu_array(a) or (
                isinstance(a, (list, tuple)) and a):
            d = a if isinstance(a, Tensor) else convert_to_tensor(a, dtype=_dtype_for(a, flat))
            aligned, cols = _align_dense(d, rt, cols)
            return aligned
        return a

    new_args = [convert(a) for a in args]
    new_kwargs = {k: convert(v) for k, v in kwargs.items()}
    return rt.with_flat_values(fn(*new_args, **new_kwargs))


def _dtype_for(a: Any, flat: Tensor) -> Any:
    # A Python list operand takes the ragged tensor's dtype, as Python scalars do.
    if isinstance(a, (list, tuple)) and flat.dtype._np.kind in "fc":
        return flat.dtype
    return None


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------

def _identity(api_name: str, np_dtype: Any) -> Any:
    """The value that leaves the reduction unchanged (TF fills empty rows with it)."""
    if api_name in ("reduce_sum", "reduce_mean"):
        return 0
    if api_name == "reduce_prod":
        return 1
    if api_name == "reduce_any":
        return False
    if api_name == "reduce_all":
        return True
    info = np.finfo(np_dtype) if np_dtype.kind == "f" else np.iinfo(np_dtype)
    return info.min if api_name == "reduce_max" else info.max


def reduction(api_name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
    """tf.reduce_*(ragged, axis, keepdims): over all values, inner axes or a ragged axis."""
    names = ("input_tensor", "axis", "keepdims", "name")
    bound = dict(zip(names, args, strict=False))
    bound.update(kwargs)
    rt: RaggedTensor = bound["input_tensor"]
    axis = bound.get("axis")
    keepdims = bool(bound.get("keepdims", False))
    if api_name == "reduce_mean":
        total = reduction("reduce_sum", rd.reduce_sum, (rt, axis, keepdims), {})
        ones = rt.with_flat_values(ew.ones_like_t(ew.cast(rt.flat_values, _dt.float64)
                                                  if not is_inexact_np(rt.dtype._np)
                                                  else rt.flat_values))
        count = reduction("reduce_sum", rd.reduce_sum, (ones, axis, keepdims), {})
        if not is_inexact_np(rt.dtype._np):  # TF's ragged mean of integers is float64
            total = _map(lambda t: ew.cast(t, _dt.float64), total)
        return _combine(ew.truediv, total, count)
    if axis is None:
        return fn(rt.flat_values, None, keepdims) if not keepdims else _keep_all(fn, rt)
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(
        backend.to_numpy(axis._value).reshape(-1) if isinstance(axis, Tensor) else axis)
    rank = rt.ndim
    axes = sorted({int(a) + rank if int(a) < 0 else int(a) for a in axes}, reverse=True)
    if any(not 0 <= a < rank for a in axes):
        raise ValueError(f"tf.{api_name}: axis {axis} is out of range for a RaggedTensor of "
                         f"rank {rank}.")
    out: Any = rt
    for a in axes:
        out = _reduce_axis(api_name, fn, out, a, keepdims)
    return out


def _keep_all(fn: Callable, rt: RaggedTensor) -> Tensor:
    r = fn(rt.flat_values, None, False)
    return mv.reshape(r, (1,) * rt.ndim)


def _reduce_axis(api_name: str, fn: Callable, x: Any, axis: int, keepdims: bool) -> Any:
    if isinstance(x, Tensor):
        return fn(x, axis, keepdims)
    rr = x.ragged_rank
    if axis > rr:  # a uniform inner axis: reduce the flat values
        return x.with_flat_values(fn(x.flat_values, axis - rr, keepdims))
    fill = _identity(api_name, x.dtype._np)
    if axis == rr:  # the innermost ragged axis: pad its rows and reduce across them
        level = _innermost_level(x)
        reduced = fn(level.to_tensor(default_value=fill), 1, False)
        out = reduced if rr == 1 else _rebuild_outer(x, reduced)
    elif axis == 0 and rr == 1:
        out = fn(x.to_tensor(default_value=fill), 0, False)
    elif axis == rr - 1 and rr >= 2:  # the second-innermost ragged axis
        out = _reduce_second_innermost(fn, x, axis, fill)
    else:
        out = _reduce_outer_ragged_axis(api_name, fn, x, axis)
    # NOTE: as TF's ragged reductions, keepdims re-inserts the reduced axis with length 1.
    return _expand(out, axis) if keepdims else out


def _expand(x: Any, axis: int) -> Any:
    return mv.expand_dims(x, axis) if isinstance(x, Tensor) else expand_dims(x, axis)


def _reduce_outer_ragged_axis(api_name: str, fn: Callable, x: RaggedTensor, axis: int) -> Any:
    """Reduce ragged axis `axis` (< ragged rank - 1) by merging the rows it indexes: position p
    of the result gathers position p of every merged row (rows may differ in length), so each
    result row is as long as the longest merged row. The grouping is host bookkeeping; the
    values are gathered (differentiably) and reduced by the op itself."""
    splits = [backend.to_numpy(s._value) for s in x.nested_row_splits]
    depth = len(splits)

    def node(level: int, i: int) -> Any:  # the subtree of row i at `level` (leaves: flat value ids)
        lo, hi = int(splits[level][i]), int(splits[level][i + 1])
        return list(range(lo, hi)) if level == depth - 1 else [node(level + 1, j) for j in range(lo, hi)]

    def combine(items: list, level: int) -> Any:  # level-`level` items that share a position
        return list(items) if level == depth else merge_lists(items, level + 1)

    def merge_lists(nodes: list, level: int) -> list:  # position p gathers item p of every node
        width = max((len(n) for n in nodes), default=0)
        return [combine([n[p] for n in nodes if len(n) > p], level) for p in range(width)]

    def reduce_at(items: list, level: int) -> Any:  # items: the level-`level` nodes of one parent
        if level == axis:
            return merge_lists(items, level + 1)
        return [reduce_at(child, level + 1) for child in items]

    top = [node(0, i) for i in range(len(splits[0]) - 1)]
    result = reduce_at(top, 0)
    # Walk the result level by level: row lengths per ragged level, then the groups in order.
    lengths, level_nodes = [], result
    for _ in range(depth - 1):
        lengths.append(np.asarray([len(n) for n in level_nodes], np.int64))
        level_nodes = [c for n in level_nodes for c in n]
    groups = level_nodes
    # Each group padded with the reduction's identity to the longest group, then reduced by `fn`.
    flat = x.flat_values
    xp = get_xp(flat._value)
    n = int(flat.shape[0])
    width = max((len(g) for g in groups), default=0)
    index = np.full((len(groups), max(width, 1)), n, np.int64)
    for g, members in enumerate(groups):
        index[g, :len(members)] = members
    fill = mv.broadcast_to(ew.cast(_identity(api_name, x.dtype._np), flat.dtype), [1] + list(flat.shape[1:]))
    padded = mv.gather(mv.concat([flat, fill], 0), Tensor(backend.asarray(index, None, xp)))
    values = fn(padded, 1, False)
    nested = [Tensor(backend.asarray(n, None, xp)) for n in lengths]
    return RaggedTensor.from_nested_row_lengths(values, nested, validate=False).with_row_splits_dtype(
        _dt.from_numpy(splits[0].dtype))


def _reduce_second_innermost(fn: Callable, x: RaggedTensor, axis: int, fill: Any) -> Any:
    """Reduce across the sub-rows of each row: pad both ragged levels, reduce, cut each result
    row back to its longest sub-row."""
    level = x
    for _ in range(axis - 1):
        level = level.values
    s_out = level.row_splits._value
    s_in = level.values.row_splits._value
    xp = get_xp(s_out)
    sub_lengths = (s_in[1:] - s_in[:-1]).astype("int64")
    lengths = xp.zeros(len(s_out) - 1, dtype="int64")
    if len(sub_lengths):
        ids = rows.row_ids(xp, s_out)
        np_lengths = backend.to_numpy(lengths)
        np.maximum.at(np_lengths, backend.to_numpy(ids), backend.to_numpy(sub_lengths))
        lengths = backend.asarray(np_lengths, None, xp)
    reduced = fn(level.to_tensor(default_value=fill), 1, False)
    result = RaggedTensor.from_tensor(reduced, lengths=Tensor(lengths)).with_row_splits_dtype(
        _dt.from_numpy(s_out.dtype))
    if axis == 1:
        return result
    return RaggedTensor.from_nested_row_splits(result, x.nested_row_splits[:axis - 1],
                                               validate=False)


def _innermost_level(x: RaggedTensor) -> RaggedTensor:
    while isinstance(x.values, RaggedTensor):
        x = x.values
    return x


def _rebuild_outer(x: RaggedTensor, new_flat: Tensor) -> RaggedTensor:
    splits = x.nested_row_splits[:-1]
    return RaggedTensor.from_nested_row_splits(new_flat, splits, validate=False)


def _map(f: Callable, x: Any) -> Any:
    return x.with_flat_values(f(x.flat_values)) if isinstance(x, RaggedTensor) else f(x)


def _combine(f: Callable, a: Any, b: Any) -> Any:
    if isinstance(a, RaggedTensor):
        return a.with_flat_values(f(a.flat_values, ew.cast(b.flat_values, a.dtype)))
    return f(a, ew.cast(b, a.dtype))


# ---------------------------------------------------------------------------------------------
# concat / stack / add_n / boolean_mask / expand_dims / size / rank
# ---------------------------------------------------------------------------------------------

def _as_ragged(x: Any, ragged_rank: int) -> RaggedTensor:
    if isinstance(x, RaggedTensor):
        return x
    t = x if isinstance(x, Tensor) else convert_to_tensor(x)
    return RaggedTensor.from_tensor(t, ragged_rank=min(ragged_rank, t.ndim - 1))


def concat_rows(parts: list) -> Any:
    """Rows of every part one after another (axis 0); parts are Tensors or RaggedTensors."""
    if isinstance(parts[0], Tensor):
        return mv.concat(parts, 0)
    xp = get_xp(parts[0].row_splits._value)
    splits, offset = [parts[0].row_splits._value[:1].astype("int64")], 0
    for p in parts:
        s = p.row_splits._value.astype("int64")
        splits.append(s[1:] + offset)
        offset += int(s[-1])
    values = concat_rows([p.values for p in parts])
    dtype = parts[0].row_splits._value.dtype
    return RaggedTensor(values, Tensor(xp.concatenate(splits).astype(dtype)), internal=True)


def concat(values: Any, axis: int, name: Any = None) -> RaggedTensor:
    """tf.concat of RaggedTensors (and dense tensors) along axis 0, 1 or an inner uniform axis."""
    values = list(values)
    rr = max(v.ragged_rank for v in values if isinstance(v, RaggedTensor))
    parts = [_as_ragged(v, rr) for v in values]
    ranks = {p.ndim for p in parts}
    if len(ranks) != 1:
        raise ValueError(f"tf.concat: all inputs must have the same rank, received {sorted(ranks)}.")
    rank = ranks.pop()
    axis = int(axis) + rank if int(axis) < 0 else int(axis)
    if axis == 0:
        return concat_rows(parts)
    if axis == 1:
        return _concat_inside_rows(parts)
    first = parts[0]
    if axis > first.ragged_rank and all(_same_partition(p, first) for p in parts):
        return first.with_flat_values(mv.concat([p.flat_values for p in parts],
                                                axis - first.ragged_rank))
    raise ValueError(f"tf.concat: RaggedTensors are concatenated along axis 0, axis 1, or an inner "
                     f"axis when their row partitions match; received axis {axis}.")


def _concat_inside_rows(parts: list) -> RaggedTensor:
    """Row i of the result is row i of each part, one after another."""
    n = len(parts[0])
    if any(len(p) != n for p in parts):
        raise InvalidArgumentError(f"tf.concat: axis=1 needs the same number of rows in every "
                                   f"input, received {[len(p) for p in parts]}.")
    xp = get_xp(parts[0].row_splits._value)
    lengths = [p.row_splits._value[1:].astype("int64") - p.row_splits._value[:-1] for p in parts]
    total = sum(lengths)
    out_splits = rows.splits_from_lengths(xp, total)
    src = xp.empty(int(out_splits[-1]), dtype="int64")
    before = xp.zeros(n, dtype="int64")
    offset = 0
    for p, ln in zip(parts, lengths, strict=True):
        s = p.row_splits._value.astype("int64")
        ids = rows.row_ids(xp, s)
        target = out_splits[:-1][ids] + before[ids] + rows.positions(xp, s, ids)
        src[target] = xp.arange(int(s[-1]), dtype="int64") + offset
        before = before + ln
        offset += int(s[-1])
    values = rows.take(concat_rows([p.values for p in parts]), src)
    dtype = parts[0].row_splits._value.dtype
    return RaggedTensor(values, Tensor(out_splits.astype(dtype)), internal=True)


def expand_dims(input: Any, axis: int, name: Any = None) -> RaggedTensor:  # noqa: A002
    """A new axis of length 1 at `axis` (0: one row holding everything; 1: each row in its own)."""
    rt = input
    axis = int(axis) + rt.ndim + 1 if int(axis) < 0 else int(axis)
    xp = get_xp(rt.row_splits._value)
    dtype = rt.row_splits._value.dtype
    if axis == 0:
        return RaggedTensor.from_uniform_row_length(rt, len(rt)) if len(rt) else RaggedTensor(
            rt, Tensor(xp.zeros(1, dtype=dtype)), internal=True)
    if axis == 1:
        return RaggedTensor.from_uniform_row_length(rt, 1)
    if axis > rt.ragged_rank:
        return rt.with_flat_values(mv.expand_dims(rt.flat_values, axis - rt.ragged_rank))
    return rt.with_values(expand_dims(rt.values, axis - 1))


def stack(values: Any, axis: int = 0, name: Any = None) -> RaggedTensor:
    """tf.stack of RaggedTensors: concat of each input with a new axis at `axis`."""
    values = list(values)
    rr = max(v.ragged_rank for v in values if isinstance(v, RaggedTensor))
    parts = [_as_ragged(v, rr) for v in values]
    rank = parts[0].ndim
    axis = int(axis) + rank + 1 if int(axis) < 0 else int(axis)
    if axis == 0:
        xp = get_xp(parts[0].row_splits._value)
        lengths = xp.asarray([len(p) for p in parts], dtype="int64")
        return RaggedTensor.from_row_lengths(concat_rows(parts), Tensor(lengths), validate=False)
    return concat([expand_dims(p, axis) for p in parts], axis)


def add_n(inputs: Any, name: Any = None) -> RaggedTensor:
    out = inputs[0]
    for x in inputs[1:]:
        out = elementwise(ew.add, (out, x), {})
    return out


def boolean_mask(tensor: Any, mask: Any, axis: Any = None, name: Any = None) -> Any:
    from tapeflow.ragged.functions import boolean_mask as ragged_boolean_mask

    if axis not in (None, 0):
        raise ValueError(f"tf.boolean_mask: a RaggedTensor needs axis=0, received {axis}.")
    return ragged_boolean_mask(tensor, mask)


def size(input: Any, out_type: Any = "int32", name: Any = None) -> Tensor:  # noqa: A002
    n = int(np.prod(input.flat_values.shape))
    return Tensor(np.asarray(n, _dt.as_dtype(out_type)._np))


def rank(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    return Tensor(np.asarray(input.ndim, np.int32))


def gather_rows(rt: RaggedTensor, index: np.ndarray) -> RaggedTensor:
    """Rows `index` (1-D host ints, in range) of `rt`; values gathered differentiably."""
    splits = backend.to_numpy(rt.row_splits._value)
    starts, stops = splits[index], splits[index + 1]
    lengths = (stops - starts).astype(splits.dtype)
    pos = (np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(splits.dtype), lengths)
           + np.arange(int(lengths.sum()), dtype=splits.dtype)) if len(index) else np.zeros(0, splits.dtype)
    xp = get_xp(rt.row_splits._value)
    if isinstance(rt.values, RaggedTensor):
        values = gather_rows(rt.values, pos)
    else:
        values = mv.gather(rt.values, Tensor(backend.asarray(pos, None, get_xp(rt.values._value))))
    return RaggedTensor.from_row_lengths(values, Tensor(backend.asarray(lengths, None, xp)), validate=False)


def gather(params: Any, indices: Any, validate_indices: Any = None, axis: Any = None, batch_dims: int = 0,
           name: Any = None) -> Any:
    """tf.gather of a RaggedTensor's rows (axis 0) by scalar or 1-D dense indices, or of a dense
    tensor's rows by ragged indices (a ragged result: indices' shape + params.shape[1:], as TF)."""
    if not isinstance(params, RaggedTensor):
        if axis not in (None, 0) or int(batch_dims) != 0:
            raise ValueError(f"tf.gather: ragged indices select rows of params (axis 0, batch_dims=0), "
                             f"received axis={axis}, batch_dims={batch_dims}.")
        return indices.with_flat_values(mv.gather(params, indices.flat_values))
    if isinstance(indices, RaggedTensor):
        raise TypeError("tf.gather: a RaggedTensor gathered by ragged indices is not supported; pass dense "
                        "indices.")
    if axis not in (None, 0) or int(batch_dims) != 0:
        raise ValueError(f"tf.gather: a RaggedTensor is gathered along axis 0 with batch_dims=0, received "
                         f"axis={axis}, batch_dims={batch_dims}.")
    idx = backend.to_numpy(indices._value) if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.size == 0:
        idx = idx.astype(np.int64)
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise ValueError(f"tf.gather: RaggedTensor rows need scalar or 1-D integer indices, received shape "
                         f"{idx.shape} of {idx.dtype}.")
    n = len(params)
    bad = idx[(idx < 0) | (idx >= n)]
    if bad.size:
        from tapeflow.errors import InvalidArgumentError

        raise InvalidArgumentError(None, None, f"GatherV2: indices {bad.tolist()} are not in [0, {n}).")
    rows = gather_rows(params, idx.reshape(-1).astype(np.int64))
    return rows[0] if idx.ndim == 0 else rows


def reverse(tensor: Any, axis: Any, name: Any = None) -> RaggedTensor:
    """tf.reverse of a RaggedTensor: axis 0 reverses the rows, the ragged axis 1 (ragged_rank 1)
    reverses the values inside each row; values are moved with a differentiable gather."""
    from tapeflow.errors import UnimplementedError

    axes = backend.to_numpy(axis._value).reshape(-1).tolist() if isinstance(axis, Tensor) else (
        list(axis) if isinstance(axis, (list, tuple)) else [axis])
    rank = tensor.shape.rank
    out = tensor
    for a in sorted({int(a) + rank if int(a) < 0 else int(a) for a in axes}):
        if a == 0:
            out = gather_rows(out, np.arange(len(out) - 1, -1, -1, dtype=np.int64))
        elif a == 1 and out.ragged_rank == 1:
            splits = backend.to_numpy(out.row_splits._value).astype(np.int64)
            lengths = np.diff(splits)
            rows = np.repeat(np.arange(len(lengths)), lengths)
            # value j of row r comes from splits[r] + splits[r + 1] - 1 - j
            perm = (splits[:-1] + splits[1:] - 1)[rows] - np.arange(int(splits[-1]), dtype=np.int64)
            values = mv.gather(out.values, Tensor(backend.asarray(perm, None, get_xp(out.values._value))))
            out = RaggedTensor.from_row_splits(values, out.row_splits, validate=False)
        else:
            raise UnimplementedError(None, None, f"tf.reverse: a RaggedTensor is reversed along axis 0 or its "
                                     f"ragged axis 1 (ragged_rank 1), received axis {a} with ragged_rank "
                                     f"{out.ragged_rank}.")
    return out


def tile(input: Any, multiples: Any, name: Any = None) -> RaggedTensor:  # noqa: A002
    """tf.tile of a 2-D RaggedTensor (ragged_rank 1): each row's values repeated multiples[1]
    times inside the row, then the rows repeated multiples[0] times, as TF."""
    from tapeflow.errors import UnimplementedError

    reps = (backend.to_numpy(multiples._value) if isinstance(multiples, Tensor) else np.asarray(multiples))
    reps = reps.reshape(-1).astype(np.int64).tolist()
    if input.ragged_rank != 1 or input.shape.rank != 2 or len(reps) != 2:
        raise UnimplementedError(None, None, f"tf.tile: RaggedTensors of rank 2 with ragged_rank 1 are tiled, "
                                 f"received rank {input.shape.rank}, ragged_rank {input.ragged_rank}, "
                                 f"multiples {reps}.")
    if min(reps) < 0:
        raise ValueError(f"tf.tile: multiples must be non-negative, received {reps}.")
    splits = backend.to_numpy(input.row_splits._value).astype(np.int64)
    lengths = np.diff(splits)
    new_lengths = lengths * reps[1]
    rows = np.repeat(np.arange(len(lengths)), new_lengths)
    new_starts = np.concatenate([[0], np.cumsum(new_lengths)[:-1]]).astype(np.int64)
    k = np.arange(int(new_lengths.sum()), dtype=np.int64) - new_starts[rows]
    perm = splits[:-1][rows] + k % np.maximum(lengths[rows], 1)
    values = mv.gather(input.values, Tensor(backend.asarray(perm, None, get_xp(input.values._value))))
    xp = get_xp(input.row_splits._value)
    out = RaggedTensor.from_row_lengths(values, Tensor(backend.asarray(new_lengths.astype(splits.dtype), None, xp)
                                                       .astype(input.row_splits.dtype._np)), validate=False)
    return gather_rows(out, np.tile(np.arange(len(lengths), dtype=np.int64), reps[0]))


def embedding_lookup(params: Any, ids: Any, max_norm: Any = None, name: Any = None) -> RaggedTensor:
    """tf.nn.embedding_lookup with ragged ids: a RaggedTensor of the rows (ids' shape +
    params.shape[1:]), differentiable in params, as TF."""
    from tapeflow.nn_extra import embedding_lookup as dense_lookup

    if isinstance(params, RaggedTensor) or not isinstance(ids, RaggedTensor):
        raise TypeError("tf.nn.embedding_lookup: params must be a dense tensor (or list of them); ragged ids "
                        f"are looked up row by row, received params {type(params).__name__}.")
    return ids.with_flat_values(dense_lookup(params, ids.flat_values, max_norm=max_norm))


def strings_join(inputs: Any, separator: str = "", name: Any = None) -> RaggedTensor:
    """tf.strings.join of RaggedTensors with the same row partitions: the strings joined value
    by value, in that partition, as TF."""
    from tapeflow.strings.ops import join as dense_join

    parts = list(inputs)
    first = next(p for p in parts if isinstance(p, RaggedTensor))
    if not all(isinstance(p, RaggedTensor) and _same_partition(p, first) for p in parts):
        raise ValueError("tf.strings.join: RaggedTensor inputs must all be RaggedTensors with the same row "
                         "lengths.")
    return first.with_flat_values(dense_join([p.flat_values for p in parts], separator=separator))


def shape(input: Any, out_type: Any = None, name: Any = None) -> Any:  # noqa: A002
    """tf.shape of a RaggedTensor: its `tf.experimental.DynamicRaggedShape`, as TF."""
    from tapeflow import dtypes as _dtypes
    from tapeflow.experimental.ragged_shape import DynamicRaggedShape

    return DynamicRaggedShape.from_tensor(input, dtype=_dtypes.as_dtype(out_type or "int32"))


_HANDLERS: dict[str, Callable] = {
    "concat": concat, "stack": stack, "add_n": add_n, "boolean_mask": boolean_mask,
    "expand_dims": expand_dims, "size": size, "rank": rank, "gather": gather, "reverse": reverse,
    "tile": tile, "embedding_lookup": embedding_lookup,
    "strings_join": strings_join, "shape": shape,
}

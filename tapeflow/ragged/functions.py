"""The `tf.ragged.*` functions: constant, map_flat_values, boolean_mask, range, stack, ..."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.ops import movement as mv
from tapeflow.ragged import dispatch_ops, rows
from tapeflow.ragged.ragged_tensor import RaggedTensor
from tapeflow.tensor import Tensor, convert_to_tensor
from tapeflow.tensor import constant as _constant
from tapeflow.tracing.composite_calls import lift_composite_call

get_xp = backend.get_xp


def _depths(x: Any, depth: int, found: set) -> int:
    """Record the depth of every scalar in `found`; return the deepest list nesting."""
    if isinstance(x, (list, tuple)):
        return max((_depths(e, depth + 1, found) for e in x), default=depth + 1)
    found.add(depth)
    return depth


def constant(pylist: Any, dtype: Any = None, ragged_rank: int | None = None,
             inner_shape: Any = None, name: Any = None,
             row_splits_dtype: Any = _dt.int64) -> RaggedTensor:
    """A RaggedTensor from nested Python lists (`tf.ragged.constant`).

    Args:
        pylist: nested lists whose scalars all sit at the same depth.
        dtype: the values' dtype (inferred as `tf.constant` does when None).
        ragged_rank: how many axes are ragged (default: all but the scalars' and `inner_shape`'s).
        inner_shape: the shape of the uniform inner values.
        row_splits_dtype: int64 or int32.

    Example:
        >>> tf.ragged.constant([[1, 2], [3]])
        <tf.RaggedTensor [[1, 2], [3]]>
    """
    found: set = set()
    max_depth = _depths(pylist, 0, found)
    if len(found) > 1:
        raise ValueError(f"tf.ragged.constant: all scalar values must have the same nesting depth, "
                         f"found depths {sorted(found)}.")
    if not isinstance(pylist, (list, tuple)):
        raise ValueError("tf.ragged.constant: expected a nested list, received a scalar.")
    scalar_depth = found.pop() if found else None
    inner = tuple(inner_shape) if inner_shape is not None else None
    if ragged_rank is None:
        depth = scalar_depth if scalar_depth is not None else max_depth
        ragged_rank = max(1, depth - 1 - (len(inner) if inner is not None else 0))
    ragged_rank = int(ragged_rank)
    if ragged_rank < 1 or (scalar_depth is not None and ragged_rank >= scalar_depth):
        raise ValueError(f"tf.ragged.constant: ragged_rank={ragged_rank} must be at least 1 and "
                         f"less than the nesting depth {scalar_depth}.")
    lengths_per_level = []
    items = list(pylist)
    for _ in builtins.range(ragged_rank):
        lengths_per_level.append([len(x) for x in items])
        items = [e for x in items for e in x]
    if items:
        values = _constant(items, dtype=dtype)
        if inner is not None and tuple(values.shape[1:]) != inner:
            raise ValueError(f"tf.ragged.constant: the inner values have shape "
                             f"{tuple(values.shape[1:])}, not inner_shape {inner}.")
    else:
        shape = (0,) + (inner or ())
        if scalar_depth is None and inner is None and max_depth - 1 > ragged_rank:
            shape = (0,) + (0,) * (max_depth - 1 - ragged_rank)
        values = _constant(np.zeros(shape, np.float32), dtype=dtype or _dt.float32)
    result: Any = values
    for lengths in reversed(lengths_per_level):
        result = RaggedTensor.from_row_lengths(
            result, np.asarray(lengths, _dt.as_dtype(row_splits_dtype)._np), validate=False)
    return result


def map_flat_values(op: Callable, *args: Any, **kwargs: Any) -> Any:
    """`op` applied to the flat values of the RaggedTensor arguments (same row partitions)."""
    everything = list(args) + list(kwargs.values())
    rts = [a for a in everything if isinstance(a, RaggedTensor)]
    if not rts:
        return op(*args, **kwargs)
    first = rts[0]
    for r in rts[1:]:
        if _shares_splits(first, r):
            continue
        if any(_is_graph(x) for x in rts):  # inside tf.function: compared when the node runs
            return lift_composite_call(map_flat_values, (op, *args), kwargs, "RaggedMapFlatValues")
        if not dispatch_ops._same_partition(first, r):
            raise ValueError("tf.ragged.map_flat_values: the RaggedTensor arguments must have "
                             "identical row partitions.")

    def flat(a: Any) -> Any:
        return a.flat_values if isinstance(a, RaggedTensor) else a

    out = op(*[flat(a) for a in args], **{k: flat(v) for k, v in kwargs.items()})
    n, m = out.shape[0], first.flat_values.shape[0]
    if n is not None and m is not None and n != m:
        raise ValueError(f"tf.ragged.map_flat_values: op must keep the number of flat values "
                         f"({first.flat_values.shape[0]}), it returned shape {out.shape}.")
    return first.with_flat_values(out)


def _shares_splits(a: RaggedTensor, b: RaggedTensor) -> bool:
    sa, sb = a.nested_row_splits, b.nested_row_splits
    return len(sa) == len(sb) and all(x is y for x, y in zip(sa, sb, strict=True))


def _is_graph(rt: RaggedTensor) -> bool:
    return rt.flat_values._value is None or any(s._value is None for s in rt.nested_row_splits)


def boolean_mask(data: Any, mask: Any, name: Any = None) -> Any:
    """Keep the items of `data` where `mask` is true; a mask of rank k > 1 gives ragged rows."""
    if not isinstance(mask, RaggedTensor):
        mask = convert_to_tensor(mask)
    if mask.dtype != _dt.bool:
        raise TypeError(f"tf.ragged.boolean_mask: mask must be bool, received {mask.dtype.name}.")
    if mask.ndim == 1:
        keep = get_xp(mask._value).nonzero(mask._value)[0]
        if isinstance(data, RaggedTensor):
            return data._gather_rows(keep)
        return mv.boolean_mask(data, mask)
    k = mask.ndim
    rr = k - 1
    if not isinstance(mask, RaggedTensor):
        mask = RaggedTensor.from_tensor(mask, ragged_rank=rr)
    if not isinstance(data, RaggedTensor):
        data = convert_to_tensor(data)
        data = RaggedTensor.from_tensor(data, ragged_rank=min(rr, data.ndim - 1))
    if mask.ragged_rank != rr or data.ragged_rank < rr:
        raise ValueError(f"tf.ragged.boolean_mask: a mask of rank {k} needs {rr} ragged axes in "
                         f"mask and data, received ragged ranks {mask.ragged_rank} and "
                         f"{data.ragged_rank}.")
    ds, ms = data.nested_row_splits[:rr], mask.nested_row_splits
    xp = get_xp(ds[0]._value)
    for a, b in zip(ds, ms, strict=True):
        if a._value.shape != b._value.shape or not bool(xp.all(a._value == b._value)):
            raise ValueError("tf.ragged.boolean_mask: mask and data must have the same row "
                             "lengths in the masked axes.")
    keep = mask.flat_values._value
    level = data
    for _ in builtins.range(rr - 1):
        level = level.values
    s = level.row_splits._value
    cs = rows.splits_from_lengths(xp, keep.astype("int64"))
    new_level = RaggedTensor(rows.take(level.values, xp.nonzero(keep)[0]),
                             Tensor(cs[s].astype(s.dtype)), internal=True)
    return RaggedTensor.from_nested_row_splits(new_level, ds[:-1], validate=False)


def range(starts: Any, limits: Any = None, deltas: Any = 1, dtype: Any = None,  # noqa: A001
          name: Any = None, row_splits_dtype: Any = _dt.int64) -> RaggedTensor:
    """Row i is tf.range(starts[i], limits[i], deltas[i]) (scalars broadcast)."""
    if limits is None:
        starts, limits = 0, starts
    ts = [convert_to_tensor(v, dtype=dtype) for v in (starts, limits, deltas)]
    if dtype is None:
        kinds = [t.dtype for t in ts]
        dt = next((d for d in kinds if d._np.kind == "f"), kinds[0])
        ts = [Tensor(t._value.astype(dt._np)) for t in ts]
    s, lim, d = (t._value for t in ts)
    xp = get_xp(s)
    if bool(xp.any(d == 0)):
        raise ValueError("tf.ragged.range: deltas must be non-zero.")
    s, lim, d = xp.broadcast_arrays(xp.reshape(s, (-1,)) if s.ndim else s,
                                    xp.reshape(lim, (-1,)) if lim.ndim else lim,
                                    xp.reshape(d, (-1,)) if d.ndim else d)
    s, lim, d = (xp.atleast_1d(a) for a in (s, lim, d))
    lengths = xp.maximum(xp.ceil((lim - s) / d), 0).astype("int64")
    splits = rows.splits_from_lengths(xp, lengths, _dt.as_dtype(row_splits_dtype)._np)
    ids = rows.row_ids(xp, splits)
    values = (s[ids] + rows.positions(xp, splits, ids).astype(s.dtype) * d[ids]).astype(s.dtype)
    return RaggedTensor(Tensor(values), Tensor(splits), internal=True)


def stack(values: Any, axis: int = 0, name: Any = None) -> RaggedTensor:
    """Stack RaggedTensors or dense tensors along a new `axis` into a RaggedTensor."""
    values = list(values)
    if not any(isinstance(v, RaggedTensor) for v in values):
        values = [RaggedTensor.from_tensor(convert_to_tensor(v)) if convert_to_tensor(v).ndim > 1
                  else v for v in values]
        if not any(isinstance(v, RaggedTensor) for v in values):
            # 1-D tensors: rows of a new ragged axis
            return RaggedTensor.from_row_lengths(
                mv.concat([convert_to_tensor(v) for v in values], 0),
                [convert_to_tensor(v).shape[0] for v in values])
    return dispatch_ops.stack(values, axis)


def stack_dynamic_partitions(data: Any, partitions: Any, num_partitions: int,
                             name: Any = None) -> RaggedTensor:
    """Row p holds the items of `data` whose partition is p, in their original order."""
    data = data if isinstance(data, (Tensor, RaggedTensor)) else convert_to_tensor(data)
    p = convert_to_tensor(partitions)._value.astype("int64")
    xp = get_xp(p)
    if p.ndim != 1 or len(p) != data.shape[0]:
        raise ValueError(f"tf.ragged.stack_dynamic_partitions: partitions must be a vector of "
                         f"length {data.shape[0]}, received shape {p.shape}.")
    if len(p) and (int(p.min()) < 0 or int(p.max()) >= int(num_partitions)):
        raise ValueError(f"tf.ragged.stack_dynamic_partitions: partitions must be in "
                         f"[0, {num_partitions}), received {backend.to_numpy(p).tolist()}.")
    order = xp.argsort(p, kind="stable")
    return RaggedTensor.from_value_rowids(rows.take(data, order), Tensor(p[order]),
                                          nrows=int(num_partitions))


def row_splits_to_segment_ids(splits: Any, name: Any = None, out_type: Any = None) -> Tensor:
    """[0, 2, 3] -> [0, 0, 1]: the row of each value."""
    s = convert_to_tensor(splits)._value
    if out_type is not None:
        dt = _dt.as_dtype(out_type)._np
    else:  # a Python list is taken as int64, as TF does
        dt = s.dtype if isinstance(splits, Tensor) else np.dtype("int64")
    return Tensor(rows.row_ids(get_xp(s), s).astype(dt))


def segment_ids_to_row_splits(segment_ids: Any, num_segments: Any = None, out_type: Any = None,
                              name: Any = None) -> Tensor:
    """[0, 0, 1] -> [0, 2, 3]: row splits from sorted segment ids."""
    ids = convert_to_tensor(segment_ids)._value
    xp = get_xp(ids)
    n = int(num_segments) if num_segments is not None else (int(ids.max()) + 1 if len(ids) else 0)
    dt = _dt.as_dtype(out_type)._np if out_type is not None else np.dtype("int64")
    return Tensor(rows.splits_from_lengths(xp, xp.bincount(ids.astype("int64"), minlength=n), dt))


def _crossed(fn: Callable, inputs: Any, **kwargs: Any) -> RaggedTensor:

    parts = [x.to_sparse() if isinstance(x, RaggedTensor) else x for x in inputs]
    out = fn(parts, **kwargs)
    return RaggedTensor.from_value_rowids(out.values, out.indices._value[:, 0],
                                          nrows=int(out.dense_shape._value[0]))


def cross(inputs: Any, name: Any = None) -> RaggedTensor:
    """Per row, every combination of one feature from each input, joined with "_X_" (strings)."""
    from tapeflow.sparse.cross import cross_in_order

    return _crossed(cross_in_order, inputs)


def cross_hashed(inputs: Any, num_buckets: int = 0, hash_key: Any = None,
                 name: Any = None) -> RaggedTensor:
    """Like `cross`, each combination hashed into int64 (`tf.sparse.cross_hashed`)."""
    from tapeflow.sparse.cross import cross_hashed_in_order

    return _crossed(cross_hashed_in_order, inputs, num_buckets=num_buckets, hash_key=hash_key)

"""Top-level `tf.*` array ops beyond the core set: scatters into new or existing tensors,
meshgrid, searchsorted, unique, bitcast, roll, sequence masks, partition/stitch, histograms,
index arithmetic and the space/batch reshuffles.

Differentiable ones are composed of engine primitives (`ScatterNd`, gather, transpose...);
index-valued results (unique, searchsorted...) are `ArrayFunction`s on the inputs' device.
"""

from __future__ import annotations

import builtins
import collections
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.ops.extra_array import ArrayFunction
from tapeflow.ops.extra_scatter import ScatterNd
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor
from tapeflow.tracing import state as _trace_state
from tapeflow.tracing.func_graph import lift_call, lifted_on_graph_tensors


def _t(x: Any, op: str) -> Tensor:
    return ew.unary_operand(x, op)


def _host(x: Any) -> np.ndarray:
    return backend.to_numpy(_t(x, "host")._value)


def _np_of(v: Any) -> np.ndarray:
    """A Python/NumPy value or tensor as a host array."""
    return _host(v) if isinstance(v, Tensor) else np.asarray(v)


def _check_indices(idx: np.ndarray, shape: tuple, op: str) -> None:
    k = idx.shape[-1]
    if k > len(shape):
        raise InvalidArgumentError(f"{op}: index depth {k} exceeds the rank {len(shape)} of shape {shape}.")
    flat = idx.reshape(-1, k)
    bad = (flat < 0) | (flat >= np.asarray(shape[:k]))
    if bad.any():
        row = flat[np.nonzero(bad.any(-1))[0][0]]
        raise InvalidArgumentError(f"{op}: indices {row.tolist()} do not index into shape {shape}.")


# -- scatters ----------------------------------------------------------------------------------

def scatter_nd(indices: Any, updates: Any, shape: Any, name: Any = None) -> Tensor:
    """zeros(shape) with `updates` added at `indices` (..., k) (repeated indices add up)."""
    idx_t = _t(indices, "ScatterNd")
    upd = _t(updates, "ScatterNd")
    shp = tuple(int(d) for d in (_host(shape).tolist() if not isinstance(shape, (list, tuple)) else shape))
    idx = backend.to_numpy(idx_t._value)
    _check_indices(idx, shp, "ScatterNd")
    want = tuple(idx.shape[:-1]) + shp[idx.shape[-1]:]
    if tuple(upd.shape) != want:
        raise InvalidArgumentError(f"ScatterNd: updates must have shape {want}, received {tuple(upd.shape)}.")
    return ScatterNd(shp)(upd, idx_t)


def _scatter_mask(tensor: Tensor, idx_t: Tensor) -> Tensor:
    """A bool tensor of `tensor`'s shape, True at the slices `indices` address."""
    ones = ArrayFunction("OnesLike", lambda xp, i: xp.ones(i.shape[:-1], dtype=bool))(idx_t)
    hit = ScatterNd(tuple(tensor.shape[:idx_t.shape[-1]]))(ew.cast(ones, _dt.float32), idx_t)
    hit = ew.greater(hit, 0.0)
    extra = len(tensor.shape) - idx_t.shape[-1]
    return mv.reshape(hit, [*hit.shape, *([1] * extra)])


def _tensor_scatter(kind: str, tensor: Any, indices: Any, updates: Any) -> Tensor:
    op = f"TensorScatter{kind.capitalize()}"
    x = _t(tensor, op)
    upd = ew.cast(_t(updates, op), x.dtype) if not isinstance(updates, Tensor) else updates
    if upd.dtype != x.dtype:
        raise InvalidArgumentError(f"{op}: tensor and updates must have the same dtype, received "
                                   f"{x.dtype.name} and {upd.dtype.name}.")
    idx_t = _t(indices, op)
    idx = backend.to_numpy(idx_t._value)
    shape = tuple(x.shape)
    _check_indices(idx, shape, op)
    want = tuple(idx.shape[:-1]) + shape[idx.shape[-1]:]
    if tuple(upd.shape) != want:
        raise InvalidArgumentError(f"{op}: updates must have shape {want}, received {tuple(upd.shape)}.")
    if kind == "add":
        return ew.add(x, ScatterNd(shape)(upd, idx_t))
    if kind == "sub":
        return ew.subtract(x, ScatterNd(shape)(upd, idx_t))
    mask = _scatter_mask(x, idx_t)
    if kind == "update":
        # NOTE: with repeated indices TF keeps one of the updates (unspecified); here the last.
        k = idx.shape[-1]
        flat = np.ravel_multi_index(tuple(idx.reshape(-1, k).T), shape[:k]) if k else np.zeros(1, int)
        last = np.zeros(int(np.prod(shape[:k])), dtype=np.int64) - 1
        last[flat] = np.arange(flat.shape[0])
        keep = np.isin(np.arange(flat.shape[0]), last[last >= 0])
        sel = np.nonzero(keep)[0]
        xp = backend.get_xp(x._value)
        u = mv.gather(mv.reshape(upd, [-1, *shape[k:]]), Tensor(xp.asarray(sel)))
        i = Tensor(xp.asarray(idx.reshape(-1, k)[sel]))
        return ew.where(mask, ScatterNd(shape)(u, i), x)
    fill = {"max": "min", "min": "max"}[kind]
    info = np.finfo(x.dtype._np) if x.dtype.is_floating else np.iinfo(x.dtype._np)
    from tapeflow.ops.extra_scatter import ScatterReduce

    ext = ScatterReduce(idx, shape, kind, getattr(info, fill))(upd)
    out = (ew.maximum if kind == "max" else ew.minimum)(x, ext)
    if not x.dtype.is_floating:
        return out
    # NOTE: TF's gradient: dy goes to every input equal to the result, split evenly on ties;
    # the average of the tied values is the result itself.
    out = ew.stop_gradient(out)
    xi = ew.cast(ew.equal(x, out), x.dtype)
    ui = ew.cast(ew.equal(upd, mv.gather_nd(out, idx_t)), x.dtype)
    num = ew.add(ew.multiply(x, xi), ScatterNd(shape)(ew.multiply(upd, ui), idx_t))
    den = ew.add(xi, ScatterNd(shape)(ui, idx_t))
    return ew.divide(num, den)


def tensor_scatter_nd_update(tensor: Any, indices: Any, updates: Any, name: Any = None) -> Tensor:
    """A copy of `tensor` with the slices at `indices` replaced by `updates`."""
    return _tensor_scatter("update", tensor, indices, updates)


def tensor_scatter_nd_add(tensor: Any, indices: Any, updates: Any, name: Any = None) -> Tensor:
    """A copy of `tensor` with `updates` added at `indices`."""
    return _tensor_scatter("add", tensor, indices, updates)


def tensor_scatter_nd_sub(tensor: Any, indices: Any, updates: Any, name: Any = None) -> Tensor:
    """A copy of `tensor` with `updates` subtracted at `indices`."""
    return _tensor_scatter("sub", tensor, indices, updates)


def tensor_scatter_nd_max(tensor: Any, indices: Any, updates: Any, name: Any = None) -> Tensor:
    """A copy of `tensor` with max(tensor, updates) at `indices`."""
    return _tensor_scatter("max", tensor, indices, updates)


def tensor_scatter_nd_min(tensor: Any, indices: Any, updates: Any, name: Any = None) -> Tensor:
    """A copy of `tensor` with min(tensor, updates) at `indices`."""
    return _tensor_scatter("min", tensor, indices, updates)


# -- grids, searching, uniqueness ----------------------------------------------------------------

def meshgrid(*args: Any, **kwargs: Any) -> list:
    """Coordinate grids from 1-D tensors; indexing 'xy' (default, Cartesian) or 'ij' (matrix)."""
    indexing = kwargs.pop("indexing", "xy")
    kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"meshgrid: unexpected arguments {sorted(kwargs)}.")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', received {indexing!r}.")
    ts = [mv.reshape(_t(a, "Meshgrid"), [-1]) for a in args]
    n = len(ts)
    sizes = [t.shape[0] for t in ts]
    if indexing == "xy" and n > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, t in enumerate(ts):
        pos = i
        if indexing == "xy" and n > 1 and i < 2:
            pos = 1 - i
        shape = [1] * n
        shape[pos] = t.shape[0]
        out.append(mv.broadcast_to(mv.reshape(t, shape), sizes))
    return out


def searchsorted(sorted_sequence: Any, values: Any, side: str = "left", out_type: Any = _dt.int32,
                 name: Any = None) -> Tensor:
    """For each row of `values`, the insertion indices into the matching row of `sorted_sequence`."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', received {side!r}.")
    s, v = ew.binary_operands(sorted_sequence, values, "SearchSorted")
    if tuple(s.shape[:-1]) != tuple(v.shape[:-1]):
        raise InvalidArgumentError(f"SearchSorted: leading dimensions differ: {tuple(s.shape)} and {tuple(v.shape)}.")
    np_out = _dt.as_dtype(out_type)._np

    def search(xp: Any, a: Any, b: Any) -> Any:
        a2 = a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)
        b2 = b.reshape(-1, b.shape[-1]) if b.ndim else b.reshape(1, 1)
        # NOTE: one searchsorted over rows offset apart keeps the search vectorised.
        span = xp.maximum(xp.abs(a2).max() if a2.size else 0, xp.abs(b2).max() if b2.size else 0)
        if a2.dtype.kind == "f":
            off = (2 * span + 1) * xp.arange(a2.shape[0], dtype=a2.dtype)[:, None]
            out = xp.searchsorted((a2 + off).ravel(), (b2 + off).ravel(), side=side)
            out = out.reshape(b2.shape) - xp.arange(a2.shape[0])[:, None] * a2.shape[1]
        else:
            out = xp.stack([xp.searchsorted(a2[r], b2[r], side=side) for r in builtins.range(a2.shape[0])])
        return out.reshape(b.shape).astype(np_out)

    return ArrayFunction("SearchSorted", search)(s, v)


_Unique = collections.namedtuple("Unique", ["y", "idx"])
_UniqueWithCounts = collections.namedtuple("UniqueWithCounts", ["y", "idx", "count"])


def _unique(x: Any, out_idx: Any, op: str) -> tuple:
    t = _t(x, op)
    if len(t.shape) != 1:
        raise InvalidArgumentError(f"{op}: expected a 1-D tensor, received shape {tuple(t.shape)}.")
    host = backend.to_numpy(t._value)
    _, first, inverse, counts = np.unique(host, return_index=True, return_inverse=True, return_counts=True)
    order = np.argsort(first, kind="stable")  # TF keeps the order of first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    xp = backend.get_xp(t._value)
    d = _dt.as_dtype(out_idx)._np
    y = mv.gather(t, Tensor(xp.asarray(first[order])))
    return y, Tensor(xp.asarray(rank[inverse.reshape(-1)].astype(d))), Tensor(xp.asarray(counts[order].astype(d)))


@lifted_on_graph_tensors
def unique(x: Any, out_idx: Any = _dt.int32, name: Any = None) -> tuple:
    """(y, idx): the distinct values of 1-D `x` in order of first occurrence, and x = y[idx]."""
    y, idx, _ = _unique(x, out_idx, "Unique")
    return _Unique(y, idx)


@lifted_on_graph_tensors
def unique_with_counts(x: Any, out_idx: Any = _dt.int32, name: Any = None) -> tuple:
    """(y, idx, count): `unique` plus how often each distinct value occurs."""
    return _UniqueWithCounts(*_unique(x, out_idx, "UniqueWithCounts"))


def bitcast(input: Any, type: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The same bytes viewed as `type`: a wider type merges the last axis, a narrower one adds one."""
    t = _t(input, "Bitcast")
    d = _dt.as_dtype(type)
    a, b = t.dtype._np.itemsize, d._np.itemsize
    if a < b and (not t.shape or t.shape[-1] != b // a):
        raise InvalidArgumentError(f"Bitcast: casting {t.dtype.name} to {d.name} needs a last dimension of "
                                   f"{b // a}, received shape {tuple(t.shape)}.")

    def view(xp: Any, v: Any) -> Any:
        out = xp.ascontiguousarray(v).view(d._np)
        if a > b:
            return out.reshape(*v.shape, a // b)
        if a < b:
            return out.reshape(v.shape[:-1])
        return out

    return ArrayFunction("Bitcast", view)(t)


def roll(input: Any, shift: Any, axis: Any, name: Any = None) -> Tensor:  # noqa: A002
    """Elements shifted by `shift` along `axis` (lists of both for several axes), wrapping around."""
    t = _t(input, "Roll")
    shifts = np.atleast_1d(_host(shift) if isinstance(shift, Tensor) else np.asarray(shift)).astype(int)
    axes = np.atleast_1d(_host(axis) if isinstance(axis, Tensor) else np.asarray(axis)).astype(int)
    if shifts.shape != axes.shape:
        raise InvalidArgumentError(f"Roll: shift and axis must have the same size, received {shifts} and {axes}.")
    total: dict = {}
    for s, a in zip(shifts.tolist(), axes.tolist(), strict=True):
        a = a % len(t.shape)
        total[a] = total.get(a, 0) + s
    for a, s in total.items():
        n = t.shape[a]
        if n:
            t = mv.gather(t, (np.arange(n) - s) % n, axis=a)
    return t


def sequence_mask(lengths: Any, maxlen: Any = None, dtype: Any = _dt.bool, name: Any = None) -> Tensor:
    """mask[..., j] = j < lengths[...]: shape lengths.shape + (maxlen,) (default max(lengths))."""
    ln = _t(lengths, "SequenceMask")
    m = int(_host(rd.reduce_max(ln))) if maxlen is None else int(_np_of(maxlen))
    xp = backend.get_xp(ln._value)
    rng = Tensor(xp.arange(m, dtype=ln.dtype._np))
    mask = ew.less(rng, mv.expand_dims(ln, -1))
    return mask if _dt.as_dtype(dtype) == _dt.bool else ew.cast(mask, dtype)


def reverse_sequence(input: Any, seq_lengths: Any, seq_axis: Any = None, batch_axis: Any = None,  # noqa: A002
                     name: Any = None) -> Tensor:
    """Reverse the first seq_lengths[b] elements along `seq_axis` of each batch entry b."""
    t = _t(input, "ReverseSequence")
    nd = len(t.shape)
    sa = int(seq_axis) % nd
    ba = 0 if batch_axis is None else int(batch_axis) % nd
    lens = _host(seq_lengths).astype(np.int64)
    n = t.shape[sa]
    if lens.shape != (t.shape[ba],) or (lens > n).any() or (lens < 0).any():
        raise InvalidArgumentError(f"ReverseSequence: seq_lengths must be {t.shape[ba]} values in [0, {n}], "
                                   f"received {lens.tolist()}.")
    j = np.arange(n)[None, :]
    src = np.where(j < lens[:, None], lens[:, None] - 1 - j, j)  # (batch, n)
    shape = [1] * nd
    shape[ba], shape[sa] = t.shape[ba], n
    if ba > sa:
        src = src.T
    idx = np.broadcast_to(src.reshape([t.shape[ba] if i == ba else n if i == sa else 1 for i in range(nd)]), t.shape)
    from tapeflow.ops.extra_scatter import GatherAlong

    xp = backend.get_xp(t._value)
    return GatherAlong(sa)(t, Tensor(xp.asarray(np.ascontiguousarray(idx))))


# -- shapes and lists -----------------------------------------------------------------------------

def broadcast_static_shape(shape_x: Any, shape_y: Any) -> TensorShape:
    """The broadcast of two static TensorShapes (ValueError if incompatible)."""
    try:
        return TensorShape(np.broadcast_shapes(tuple(shape_x), tuple(shape_y)))
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: {tuple(shape_x)} and {tuple(shape_y)}") from None


def broadcast_dynamic_shape(shape_x: Any, shape_y: Any) -> Tensor:
    """The broadcast of two shape tensors, as an int tensor."""
    a, b = _host(shape_x), _host(shape_y)
    try:
        out = np.broadcast_shapes(tuple(a.tolist()), tuple(b.tolist()))
    except ValueError:
        raise InvalidArgumentError(f"Incompatible shapes: {a.tolist()} vs. {b.tolist()}") from None
    return convert_to_tensor(np.asarray(out, dtype=a.dtype if a.size else np.int32))


def shape_n(input: Any, out_type: Any = _dt.int32, name: Any = None) -> list:
    """The shapes of a list of tensors."""
    return [mv.shape(x, out_type=out_type) for x in input]


def identity_n(input: Any, name: Any = None) -> list:
    """Each tensor of the list passed through `tf.identity`."""
    return [ew.identity(x) for x in input]


def parallel_stack(values: Any, name: Any = None) -> Tensor:
    """`tf.stack(values, axis=0)` (TF copies inputs in parallel; here it is one stack)."""
    return mv.stack(list(values), axis=0)


def ensure_shape(x: Any, shape: Any, name: Any = None) -> Tensor:
    """`x` after checking its shape is compatible with `shape` (None entries match anything)."""
    t = _t(x, "EnsureShape")
    if t._value is None:
        return _ensure_shape_symbolic(t, shape)
    want = None if shape is None else tuple(shape)
    got = tuple(t.shape)
    if want is not None and (len(want) != len(got) or any(w is not None and g is not None and int(w) != g
                                                          for w, g in zip(want, got, strict=True))):
        raise InvalidArgumentError(f"Shape of tensor x {list(got)} is not compatible with expected shape "
                                   f"{[None if w is None else int(w) for w in want]}.")
    return t


def _ensure_shape_symbolic(t: Tensor, shape: Any) -> Tensor:
    """ensure_shape of a graph tensor: its static shape merged with `shape` (ValueError where
    they disagree); inside a tf.function, a node that checks the real shape on every call."""
    want = TensorShape(None if shape is None else [None if d is None else int(d) for d in shape])
    static = t.shape.merge_with(want)
    if (not _trace_state.graphs or _trace_state.graphs[-1] is None or static.rank is None
            or (t.shape.rank is not None and t.shape.is_subtype_of(want))):
        return t  # nothing to check at run time that the static shape does not already say
    trace = _trace_state.graphs[-1]
    out = lift_call(lambda v: ensure_shape(v, shape), (t,), {}, name="EnsureShape", stateful=False,
                    probe=lambda v: v)
    out._shape = static
    # The probe's stand-ins are x's: keep the first where it has the new static shape.
    first = trace.dummies.pop((id(out), 2), None)
    trace.dummies.pop((id(out), 3), None)
    if first is not None and TensorShape(first.shape).is_compatible_with(static):
        trace.dummies[(id(out), 2)] = first
    return out


def guarantee_const(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """`input` itself (a promise to TF's optimiser that it is constant)."""
    return ew.identity(input)


# -- partitions, histograms, indices ------------------------------------------------------------

def dynamic_partition(data: Any, partitions: Any, num_partitions: int, name: Any = None) -> list:
    """Split `data` into `num_partitions` tensors: slice i of data goes to list entry partitions[i]."""
    d = _t(data, "DynamicPartition")
    p = _host(partitions).astype(np.int64)
    k = p.ndim
    if tuple(d.shape[:k]) != p.shape:
        raise InvalidArgumentError(f"DynamicPartition: partitions shape {p.shape} must prefix data shape "
                                   f"{tuple(d.shape)}.")
    if p.size and (p.min() < 0 or p.max() >= num_partitions):
        raise InvalidArgumentError(f"DynamicPartition: partitions must be in [0, {num_partitions}).")
    flat = mv.reshape(d, [-1, *d.shape[k:]])
    xp = backend.get_xp(d._value)
    pf = p.reshape(-1)
    return [mv.gather(flat, Tensor(xp.asarray(np.nonzero(pf == i)[0]))) for i in builtins.range(int(num_partitions))]


def dynamic_stitch(indices: Any, data: Any, name: Any = None) -> Tensor:
    """merged[indices[m][i]] = data[m][i] (later entries win on repeated indices)."""
    idx = [_host(i).astype(np.int64) for i in indices]
    ds = [_t(x, "DynamicStitch") for x in data]
    inner = tuple(ds[0].shape[idx[0].ndim:])
    flat_idx = np.concatenate([i.reshape(-1) for i in idx]) if idx else np.zeros(0, np.int64)
    flat = mv.concat([mv.reshape(x, [-1, *inner]) for x, i in zip(ds, idx, strict=True)], 0)
    n = int(flat_idx.max()) + 1 if flat_idx.size else 0
    last = np.full(n, -1)
    last[flat_idx] = np.arange(flat_idx.shape[0])
    if (last < 0).any():
        raise InvalidArgumentError(f"DynamicStitch: indices leave positions {np.nonzero(last < 0)[0].tolist()} unset.")
    xp = backend.get_xp(flat._value)
    return mv.gather(flat, Tensor(xp.asarray(last)))


def histogram_fixed_width_bins(values: Any, value_range: Any, nbins: int = 100, dtype: Any = _dt.int32,
                               name: Any = None) -> Tensor:
    """The bin index (0..nbins-1) of each value in `nbins` equal bins over value_range (outliers clamp)."""
    v = _t(values, "HistogramFixedWidthBins")
    lo, hi = (float(x) for x in _host(value_range).reshape(-1)[:2])
    n = int(nbins)
    np_out = _dt.as_dtype(dtype)._np

    def bins(xp: Any, a: Any) -> Any:
        scaled = (a.astype("float64") - lo) / (hi - lo)
        return xp.clip(xp.floor(scaled * n), 0, n - 1).astype(np_out)

    return ArrayFunction("HistogramFixedWidthBins", bins)(v)


def histogram_fixed_width(values: Any, value_range: Any, nbins: int = 100, dtype: Any = _dt.int32,
                          name: Any = None) -> Tensor:
    """Counts of `values` in `nbins` equal bins over value_range (outliers go to the end bins)."""
    b = histogram_fixed_width_bins(values, value_range, nbins, _dt.int64)
    n = int(nbins)
    np_out = _dt.as_dtype(dtype)._np
    return ArrayFunction("HistogramFixedWidth",
                         lambda xp, i: xp.bincount(i.reshape(-1), minlength=n).astype(np_out))(b)


def unravel_index(indices: Any, dims: Any, name: Any = None) -> Tensor:
    """Coordinates (len(dims), ...) of flat `indices` into an array of shape `dims`."""
    i = _t(indices, "UnravelIndex")
    dv = _host(dims).astype(np.int64)
    iv = backend.to_numpy(i._value)
    if iv.size and ((iv < 0).any() or (iv >= int(np.prod(dv))).any()):
        raise InvalidArgumentError(f"UnravelIndex: index out of bounds for dims {dv.tolist()}.")
    return ArrayFunction("UnravelIndex", lambda xp, a: xp.stack(xp.unravel_index(a, tuple(dv.tolist()))).astype(a.dtype)
                         if a.ndim else xp.asarray(xp.unravel_index(a, tuple(dv.tolist()))).astype(a.dtype))(i)


def required_space_to_batch_paddings(input_shape: Any, block_shape: Any, base_paddings: Any = None,
                                     name: Any = None) -> tuple:
    """(paddings, crops) making input_shape + base paddings divisible by block_shape."""
    shp = np.asarray(_host(input_shape) if isinstance(input_shape, Tensor) else input_shape, np.int64)
    blk = np.asarray(_host(block_shape) if isinstance(block_shape, Tensor) else block_shape, np.int64)
    base = np.zeros((blk.shape[0], 2), np.int64) if base_paddings is None else np.asarray(
        _host(base_paddings) if isinstance(base_paddings, Tensor) else base_paddings, np.int64)
    full = shp + base[:, 0] + base[:, 1]
    extra = (blk - full % blk) % blk
    pads = np.stack([base[:, 0], base[:, 1] + extra], 1)
    crops = np.stack([np.zeros_like(extra), extra], 1)
    return convert_to_tensor(pads.astype(np.int32)), convert_to_tensor(crops.astype(np.int32))


def space_to_batch_nd(input: Any, block_shape: Any, paddings: Any, name: Any = None) -> Tensor:  # noqa: A002
    """Pad the M spatial dims after the batch, split each into blocks, move the blocks to the batch."""
    x = _t(input, "SpaceToBatchND")
    blk = [int(b) for b in _np_of(block_shape).reshape(-1)]
    pads = np.asarray(_host(paddings) if isinstance(paddings, Tensor) else paddings, np.int64).reshape(-1, 2)
    m = len(blk)
    x = mv.pad(x, [[0, 0], *pads.tolist(), *[[0, 0]] * (len(x.shape) - 1 - m)])
    b, sp, rest = x.shape[0], list(x.shape[1:1 + m]), list(x.shape[1 + m:])
    if any(s % k for s, k in zip(sp, blk, strict=True)):
        raise InvalidArgumentError(f"SpaceToBatchND: padded spatial shape {sp} is not divisible by block_shape {blk}.")
    split = [b] + [v for s, k in zip(sp, blk, strict=True) for v in (s // k, k)] + rest
    x = mv.reshape(x, split)
    perm = [2 + 2 * i for i in range(m)] + [0] + [1 + 2 * i for i in range(m)] + list(range(1 + 2 * m, len(split)))
    x = mv.transpose(x, perm)
    return mv.reshape(x, [b * int(np.prod(blk))] + [s // k for s, k in zip(sp, blk, strict=True)] + rest)


def space_to_batch(input: Any, block_shape: Any, paddings: Any, name: Any = None) -> Tensor:  # noqa: A002
    """`space_to_batch_nd` (TF 2's `tf.space_to_batch`)."""
    return space_to_batch_nd(input, block_shape, paddings)


def batch_to_space(input: Any, block_shape: Any, crops: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The inverse of `space_to_batch_nd`: blocks moved from the batch back to space, then cropped."""
    x = _t(input, "BatchToSpaceND")
    blk = [int(b) for b in _np_of(block_shape).reshape(-1)]
    cr = np.asarray(_host(crops) if isinstance(crops, Tensor) else crops, np.int64).reshape(-1, 2)
    m = len(blk)
    prod = int(np.prod(blk))
    b = x.shape[0] // prod
    sp, rest = list(x.shape[1:1 + m]), list(x.shape[1 + m:])
    x = mv.reshape(x, blk + [b] + sp + rest)
    perm = [m] + [v for i in range(m) for v in (m + 1 + i, i)] + list(range(2 * m + 1, 2 * m + 1 + len(rest)))
    x = mv.transpose(x, perm)
    x = mv.reshape(x, [b] + [s * k for s, k in zip(sp, blk, strict=True)] + rest)
    key = (slice(None),) + tuple(slice(int(c0), s * k - int(c1)) for (c0, c1), s, k in zip(cr, sp, blk, strict=True))
    return x[key]


def approx_top_k(operand: Any, k: int, reduction_dimension: int = -1, recall_target: float = 0.95,
                 is_max_k: bool = True, reduction_input_size_override: int = -1, aggregate_to_topk: bool = True,
                 name: Any = None) -> tuple:
    """(values, indices) of the k largest (or smallest) entries along a dimension, computed exactly."""
    from tapeflow.math_extra import approx_max_k, approx_min_k

    return (approx_max_k if is_max_k else approx_min_k)(operand, k, reduction_dimension)

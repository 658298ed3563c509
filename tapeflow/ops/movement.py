"""Shape and data movement: reshape, transpose, indexing, concat/split, pad, tile, gather, sort."""

from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow import string_values as _sv
from tapeflow.autodiff.function import Function
from tapeflow.autodiff.unbroadcast import sum_to
from tapeflow.tensor import Tensor, TensorShape, Variable, convert_to_tensor
from tapeflow.tracing import state as _trace_state
from tapeflow.tracing.func_graph import (
    _register_lifted,
    call_on_unknown_rank,
    has_traced_dims,
    lifted_on_graph_tensors,
    lifted_on_symbolic_tensors,
    lifted_on_unknown_shapes,
)

get_xp = backend.get_xp
_pyslice = builtins.slice


def _t(x: Any, op: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    try:
        return convert_to_tensor(x)
    except TypeError as e:
        raise TypeError(f"{op}: {e}") from None


def _ints(v: Any) -> list:
    if isinstance(v, Tensor):
        v = backend.to_numpy(v._value).tolist()
    if isinstance(v, (int,)) or hasattr(v, "__index__") and not isinstance(v, (list, tuple)):
        return [int(v)]
    return [(-1 if d is None else int(d)) for d in v]


# ---------------------------------------------------------------------------------------------
# Reshape / transpose / broadcast
# ---------------------------------------------------------------------------------------------

class Reshape(Function):
    def __init__(self, shape: tuple) -> None:
        self.shape = shape

    def forward(self, a: Any) -> Any:
        self.in_shape = a.shape
        return a.reshape(self.shape)

    def backward(self, dy: Tensor) -> tuple:
        return (reshape(dy, self.in_shape),)

    def static_output_specs(self, inputs: list) -> list | None:
        """The output (shape, dtype) of a reshape of a tensor with unknown dimensions, from the
        target shape alone (the -1 dimension unknown), as TF's shape inference gives it."""
        x = inputs[0]
        known = x.shape.rank is not None and None not in tuple(x.shape)
        if known or self.shape.count(-1) > 1 or any(d < -1 for d in self.shape):
            return None
        return [(tuple(None if d == -1 else d for d in self.shape), x.dtype)]


def reshape(tensor: Any, shape: Any, name: Any = None) -> Tensor:
    """`tensor` with a new shape of the same size; one dimension may be -1 (`tf.reshape`)."""
    if has_traced_dims(shape):
        return _reshape_to_traced_shape(tensor, shape)
    x = _t(tensor, "Reshape")
    shape = tuple(_ints(shape))
    if x._value is not None:
        if x._value.shape == shape:
            return x
        size = x._value.size
        known = 1
        for d in shape:
            if d != -1:
                known *= d
        if shape.count(-1) > 1 or (-1 not in shape and known != size) or (
            -1 in shape and (known == 0 or size % known)
        ):
            from tapeflow.errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"Reshape: input is a tensor with {size} values and shape {tuple(x._value.shape)}, "
                f"but the requested shape {list(shape)} "
                + (f"has {known} values." if -1 not in shape else "is not compatible.")
            )
    return Reshape(shape)(x)


@lifted_on_graph_tensors
def _reshape_to_traced_shape(tensor: Any, shape: Any) -> Tensor:
    """`reshape` to a shape computed in the graph: run with the real shape on each call."""
    return reshape(tensor, shape)


class Transpose(Function):
    """Permute axes by `perm`; None reverses them (a graph tensor of unknown rank)."""

    def __init__(self, perm: tuple | None) -> None:
        self.perm = perm

    def forward(self, a: Any) -> Any:
        return a.transpose(self.perm)

    def backward(self, dy: Tensor) -> tuple:
        if self.perm is None:
            return (Transpose(None)(dy),)
        inv = [0] * len(self.perm)
        for i, p in enumerate(self.perm):
            inv[p] = i
        return (Transpose(tuple(inv))(dy),)


def transpose(a: Any, perm: Any = None, conjugate: bool = False, name: Any = None) -> Tensor:
    """Permute the axes of `a` (reverse them when `perm` is None)."""
    x = _t(a, "Transpose")
    if x._value is None and x.shape.rank is None:
        if perm is None:
            return Transpose(None)(x)
        perm = tuple(_ints(perm))
        if sorted(perm) != list(range(len(perm))):
            raise ValueError(f"Transpose: perm {list(perm)} is not a permutation of the axes 0..{len(perm) - 1}.")
        return Transpose(perm)(x)
    n = x.ndim if x._value is not None else len(x.shape)
    perm = tuple(reversed(range(n))) if perm is None else tuple(p % n for p in _ints(perm))
    if sorted(perm) != list(range(n)):
        raise ValueError(f"Transpose: perm {list(perm)} is not a permutation of the {n} axes of the input.")
    return Transpose(perm)(x)


class BroadcastTo(Function):
    def __init__(self, shape: tuple) -> None:
        self.shape = shape

    def forward(self, a: Any) -> Any:
        self.in_shape = a.shape
        return get_xp(a).broadcast_to(a, self.shape)

    def backward(self, dy: Tensor) -> tuple:
        return (sum_to(dy, self.in_shape),)


def broadcast_to(input: Any, shape: Any, name: Any = None) -> Tensor:  # noqa: A002
    """Broadcast `input` to `shape` like NumPy (`tf.broadcast_to`)."""
    x = _t(input, "BroadcastTo")
    shape = tuple(_ints(shape))
    if x._value is not None:
        have = x._value.shape
        if have == shape:
            return x
        ok = len(have) <= len(shape) and all(
            d == 1 or d == t for d, t in zip(have[::-1], shape[::-1], strict=False))
        if not ok:
            raise_invalid(f"BroadcastTo: cannot broadcast a tensor of shape {tuple(have)} to shape {shape}.")
    return BroadcastTo(shape)(x)


def expand_dims(input: Any, axis: int, name: Any = None) -> Tensor:  # noqa: A002
    """Insert a length-1 axis at `axis` (negative counts from the end of the result)."""
    x = _t(input, "ExpandDims")
    if x._value is None and x.shape.rank is None:  # the rank is known when the graph runs
        return call_on_unknown_rank(_expand_dims, (x, axis), {})
    return _expand_dims(x, axis)


def _expand_dims(x: Tensor, axis: int) -> Tensor:
    shape = list(x.shape)
    n = len(shape)
    axis = int(axis)
    if not -n - 1 <= axis <= n:
        raise ValueError(f"ExpandDims: axis {axis} is out of range for a tensor of rank {n}.")
    if axis < 0:
        axis += n + 1
    shape.insert(axis, 1)
    return reshape(x, [(-1 if d is None else d) for d in shape])


@lifted_on_unknown_shapes
def squeeze(input: Any, axis: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    """Remove length-1 axes (all of them, or those in `axis`)."""
    x = _t(input, "Squeeze")
    shape = list(x.shape)
    n = len(shape)
    if axis is None:
        keep = [d for d in shape if d != 1]
    else:
        axes = {a % n for a in _ints(axis)}
        for a in axes:
            if shape[a] != 1:
                raise ValueError(
                    f"Squeeze: cannot squeeze axis {a} of size {shape[a]} (shape {tuple(shape)}).")
        keep = [d for i, d in enumerate(shape) if i not in axes]
    return reshape(x, [(-1 if d is None else d) for d in keep])


# ---------------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------------

def _normalize_key(key: Any, xp: Any) -> tuple[tuple, bool]:
    """Convert Tensors in an index to arrays; returns (key, is_basic)."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    basic = True
    for k in key:
        if isinstance(k, Tensor):
            k = k._value
            if k.ndim == 0 and k.dtype.kind in "iu":
                k = int(k)
        if isinstance(k, list) or (xp is not backend.host and isinstance(k, backend.host.ndarray)):
            k = xp.asarray(k)  # index arrays live on the indexed tensor's device
        elif xp is backend.host and backend.is_gpu_array(k):
            k = backend.to_numpy(k)  # (indices are small metadata: copied, like TF's host ints)
        if hasattr(k, "dtype") and hasattr(k, "ndim") and not isinstance(k, (int,)):
            if k.dtype.kind == "b":
                nz = k.nonzero()
                out.extend(nz)
                basic = False
                continue
            if k.ndim == 0:
                k = int(k)
            else:
                basic = False
        out.append(k)
    return tuple(out), basic


class GetItem(Function):
    def __init__(self, key: tuple, basic: bool) -> None:
        self.key = key
        self.basic = basic

    def forward(self, a: Any) -> Any:
        self.in_shape = a.shape
        out = a[self.key]
        if a.dtype.kind == "O" and type(out) is bytes:  # one string element: keep it an array
            out = _sv.scalar(out)
        return out

    def backward(self, dy: Tensor) -> tuple:
        return (GetItemGrad(self.key, self.basic, self.in_shape)(dy),)


class GetItemGrad(Function):
    """Scatter-add `dy` into zeros of the indexed tensor's shape (backward of GetItem)."""

    def __init__(self, key: tuple, basic: bool, shape: tuple) -> None:
        self.key = key
        self.basic = basic
        self.shape = shape

    def forward(self, dy: Any) -> Any:
        xp = get_xp(dy)
        dx = xp.zeros(self.shape, dtype=dy.dtype)
        if self.basic:
            dx[self.key] = dy
        else:
            _scatter_add(xp, dx, self.key, dy)
        return dx

    def backward(self, ddx: Tensor) -> tuple:
        return (GetItem(self.key, self.basic)(ddx),)


def _scatter_add(xp: Any, out: Any, key: Any, values: Any) -> None:
    """out[key] += values with repeated indices accumulated (NumPy and CuPy >= 13: ufunc.at).

    A key of integer arrays over the leading axes (a gather's or scatter_nd's gradient) goes
    through a one-dimensional `add.at` on flat element positions: NumPy's fast path, 2-4x faster
    than the n-dimensional `add.at`, with the same summation order and so the same bits.
    """
    at = getattr(xp.add, "at", None)
    if at is None:  # older CuPy
        import cupyx

        cupyx.scatter_add(out, key, values)
        return
    flat = _flat_positions(xp, out, key)
    if flat is None:
        at(out, key, values)
        return
    rows, inner = flat
    if inner == 1:
        positions = rows.reshape(-1)
    else:
        positions = (rows.reshape(-1, 1) * inner + xp.arange(inner)).reshape(-1)
    trailing = out.shape[_key_rank(key):]
    at(out.reshape(-1), positions, xp.broadcast_to(values, rows.shape + trailing).reshape(-1))


def _key_rank(key: Any) -> int:
    return len(key) if isinstance(key, tuple) else 1


def _flat_positions(xp: Any, out: Any, key: Any) -> tuple | None:
    """(row positions over out's leading axes, elements per row) for a key of same-shaped integer
    arrays on a C-contiguous `out`; None where the n-dimensional `add.at` must decide (slices,
    booleans, broadcasting keys, negative or out-of-range indices: its errors and wrapping rules)."""
    parts = key if isinstance(key, tuple) else (key,)
    if not parts or len(parts) > out.ndim or not out.flags.c_contiguous:
        return None
    for p in parts:
        if not hasattr(p, "dtype") or p.dtype.kind not in "iu" or p.shape != parts[0].shape:
            return None
    if len(parts) == 1:
        rows = parts[0]
        if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= out.shape[0]):
            return None
    else:
        try:
            rows = xp.ravel_multi_index(parts, out.shape[:len(parts)])
        except ValueError:
            return None
    inner = 1
    for d in out.shape[len(parts):]:
        inner *= d
    return rows, inner


def getitem(x: Tensor, key: Any) -> Tensor:
    """`x[key]` with NumPy indexing rules (ints, slices, `...`, None, int and bool arrays)."""
    if _trace_state.graphs and _trace_state.graphs[-1] is not None and _symbolic_key(key):
        from tapeflow.tracing.func_graph import lift_call

        # An index computed in a tf.function graph: one node that indexes on replay.
        return lift_call(_getitem_parts, (x, _key_parts(key)), name="strided_slice", stateful=False,
                         probe=_getitem_parts)
    xv = x._value
    xp = get_xp(xv) if xv is not None else get_xp()
    k, basic = _normalize_key(key, xp)
    if xv is not None and basic:
        _check_basic_bounds(k, xv.shape)
    out = GetItem(k, basic)(x)
    if basic and isinstance(x, Variable) and out._value is not None:
        out._value = out._value.copy()  # a snapshot, not a view of the variable's storage
    return out


def _getitem_parts(x: Tensor, parts: Any) -> Tensor:
    return getitem(x, _key_from_parts(parts))


_register_lifted(_getitem_parts, _getitem_parts)


def _key_parts(key: Any) -> Any:
    """The key with each slice as {"slice": (start, stop, step)}, so graph tensors inside it are
    visible leaves (and a SavedModel can write it)."""
    if isinstance(key, _pyslice):
        return {"slice": (key.start, key.stop, key.step)}
    if isinstance(key, tuple):
        return tuple(_key_parts(k) for k in key)
    return key


def _key_from_parts(key: Any) -> Any:
    if isinstance(key, dict):
        return _pyslice(*key["slice"])
    if isinstance(key, tuple):
        return tuple(_key_from_parts(k) for k in key)
    return key


def _symbolic_key(key: Any) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    for k in parts:
        if isinstance(k, _pyslice):
            if any(isinstance(b, Tensor) and b._value is None for b in (k.start, k.stop, k.step)):
                return True
        elif isinstance(k, Tensor) and k._value is None:
            return True
        elif isinstance(k, list) and any(isinstance(b, Tensor) and b._value is None for b in k):
            return True
    return False


def _check_basic_bounds(key: tuple, shape: tuple) -> None:
    dim = 0
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    for k in key:
        if k is Ellipsis:
            dim += len(shape) - n_real
            continue
        if k is None:
            continue
        if isinstance(k, int):
            if dim >= len(shape):
                raise IndexError(
                    f"Index {k} is out of bounds: too many indices for a tensor of rank {len(shape)}.")
            if not -shape[dim] <= k < shape[dim]:
                raise IndexError(
                    f"Index {k} is out of bounds for axis {dim} with size {shape[dim]} "
                    f"(tensor shape {tuple(shape)})."
                )
        dim += 1


def slice(input_: Any, begin: Any, size: Any, name: Any = None) -> Tensor:  # noqa: A001 - TF's name
    """`size[i]` elements from `begin[i]` on each axis (-1 = to the end)."""
    x = _t(input_, "Slice")
    b = _ints(begin)
    s = _ints(size)
    return getitem(x, tuple(_pyslice(bi, None if si == -1 else bi + si) for bi, si in zip(b, s,
                   strict=False)))


def strided_slice(input_: Any, begin: Any, end: Any, strides: Any = None, **kwargs: Any) -> Tensor:
    x = _t(input_, "StridedSlice")
    b, e = _ints(begin), _ints(end)
    st = _ints(strides) if strides is not None else [1] * len(b)
    return getitem(x, tuple(_pyslice(bi, ei, si) for bi, ei, si in zip(b, e, st, strict=False)))


def reverse(tensor: Any, axis: Any, name: Any = None) -> Tensor:
    """Reverse `tensor` along each axis in `axis`."""
    x = _t(tensor, "Reverse")
    n = len(x.shape)
    axes = {a % n for a in _ints(axis)}
    return getitem(x, tuple(_pyslice(None, None, -1) if i in axes else _pyslice(None) for i in range(n)))


@lifted_on_unknown_shapes
def boolean_mask(tensor: Any, mask: Any, axis: int = 0, name: Any = None) -> Tensor:
    """The elements of `tensor` where `mask` is true; `mask` covers axes `axis..axis+mask.ndim`."""
    x = _t(tensor, "BooleanMask")
    m = _t(mask, "BooleanMask")
    if m.dtype._np.kind != "b":
        raise TypeError(f"BooleanMask: mask must be bool, received dtype {m.dtype.name}.")
    mshape = tuple(m.shape)
    xshape = tuple(x.shape)
    axis = axis % max(len(xshape), 1)
    if xshape[axis: axis + len(mshape)] != mshape:
        raise ValueError(
            f"BooleanMask: mask shape {mshape} does not match tensor shape {xshape} at axis {axis}."
        )
    return getitem(x, (_pyslice(None),) * axis + (m,))


@lifted_on_graph_tensors
def gather_nd(params: Any, indices: Any, batch_dims: int = 0, name: Any = None) -> Tensor:
    """Gather slices of `params` at the index tuples in the last axis of `indices`.

    With `batch_dims` b, the first b axes of params and indices are batch axes: each batch
    element indexes its own slice of params (output: indices.shape[:-1] + params.shape[b + k:]).
    """
    p = _t(params, "GatherNd")
    idx = _t(indices, "GatherNd")
    iv = idx._value
    b = int(batch_dims)
    if b < 0 or b >= iv.ndim or b > p.ndim or tuple(p.shape)[:b] != tuple(iv.shape)[:b]:
        raise ValueError(f"GatherNd: batch_dims={batch_dims} needs the first batch_dims axes of params "
                         f"{tuple(p.shape)} and indices {tuple(iv.shape)} to match (and indices to have more axes).")
    _check_index_range(iv, tuple(p.shape)[b: b + iv.shape[-1]], "GatherNd", all_axes=True)
    xp = get_xp(iv)
    lead = iv.ndim - 1
    batch = tuple(xp.arange(iv.shape[j]).reshape((1,) * j + (-1,) + (1,) * (lead - j - 1)) for j in range(b))
    key = batch + tuple(iv[..., i] for i in range(iv.shape[-1]))
    return GetItem(key, False)(p)


def _check_index_range(iv: Any, dims: tuple, op: str, all_axes: bool = False) -> None:
    if iv.size == 0:
        return
    xp = get_xp(iv)
    if all_axes:
        for i, d in enumerate(dims):
            col = iv[..., i]
            if bool(xp.any(col < 0)) or bool(xp.any(col >= d)):
                bad = int(col[(col < 0) | (col >= d)].ravel()[0])
                raise_invalid(f"{op}: index {bad} is out of range [0, {d}) for axis {i}.")
        return
    d = dims[0]
    if bool((iv < 0).any()) or bool((iv >= d).any()):
        bad = int(iv[(iv < 0) | (iv >= d)].ravel()[0])
        raise_invalid(f"{op}: index {bad} is out of range [0, {d}).")


def raise_invalid(msg: str) -> None:
    from tapeflow.errors import InvalidArgumentError

    raise InvalidArgumentError(msg)


class Gather(Function):
    """`take(params, indices, axis)`; backward scatter-adds (indices may repeat)."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, p: Any, idx: Any) -> Any:
        self.in_shape = p.shape
        _check_index_range(idx, (p.shape[self.axis],), "GatherV2")
        return get_xp(p).take(p, idx, axis=self.axis)

    def backward(self, dy: Tensor) -> tuple:
        idx = self.inputs[1]
        return GatherGrad(self.axis, self.in_shape)(dy, idx), None


class GatherGrad(Function):
    def __init__(self, axis: int, shape: tuple) -> None:
        self.axis = axis
        self.shape = shape

    def forward(self, dy: Any, idx: Any) -> Any:
        xp = get_xp(dy)
        ax = self.axis
        n = self.shape[ax]
        # Move the gathered axis first and flatten: dy -> (idx.size, rest), then segment-sum.
        pre = self.shape[:ax]
        post = self.shape[ax + 1:]
        d = xp.moveaxis(dy.reshape(pre + (idx.size,) + post), ax, 0).reshape(idx.size, -1)
        out = xp.zeros((n, d.shape[1]), dtype=dy.dtype)
        flat = idx.reshape(-1)
        _scatter_add(xp, out, flat, d)
        return xp.moveaxis(out.reshape((n,) + pre + post), 0, ax)

    def backward(self, ddx: Tensor) -> tuple:
        return Gather(self.axis)(ddx, self.inputs[1]), None


def gather(params: Any, indices: Any, validate_indices: Any = None, axis: Any = None,
           batch_dims: int = 0, name: Any = None) -> Tensor:
    """Gather slices of `params` along `axis` at `indices` (`tf.gather`)."""
    p = _t(params, "GatherV2")
    idx = _t(indices, "GatherV2")
    if idx.dtype._np.kind not in "iu":
        raise TypeError(f"GatherV2: indices must be integers, received dtype {idx.dtype.name}.")
    n = len(p.shape)
    axis = batch_dims if axis is None else int(axis)
    if axis < 0:
        axis += n
    bd = batch_dims if batch_dims >= 0 else batch_dims + len(idx.shape)
    if bd == 0:
        return Gather(axis)(p, idx)  # (checks the indices' range when it runs)
    return _batched_gather(p, idx, axis, bd)


@lifted_on_graph_tensors
def _batched_gather(p: Tensor, idx: Tensor, axis: int, bd: int) -> Tensor:
    """`gather` with batch_dims `bd` > 0 (reads the indices' values to offset them)."""
    n = len(p.shape)
    # batch_dims > 0: move `axis` next to the batch axes, flatten the batch, offset the indices.
    pshape = tuple(p.shape)
    ishape = tuple(idx.shape)
    perm = list(range(bd)) + [axis] + [i for i in range(bd, n) if i != axis]
    pt = transpose(p, perm) if perm != list(range(n)) else p
    batch = 1
    for d in pshape[:bd]:
        batch *= d
    nax = pshape[axis]
    rest = tuple(pshape[i] for i in range(bd, n) if i != axis)
    flat_p = reshape(pt, (batch * nax,) + rest)
    xp = get_xp(idx._value)
    offsets = (xp.arange(batch) * nax).reshape((batch,) + (1,) * (len(ishape) - bd)).astype(idx._value.dtype)
    flat_idx = Tensor(idx._value.reshape((batch,) + ishape[bd:]) + offsets)
    g = Gather(0)(flat_p, flat_idx)  # (batch, *idx_rest, *pre, *post)
    pre = tuple(pshape[bd:axis])
    post = tuple(pshape[axis + 1:])
    g = reshape(g, pshape[:bd] + ishape[bd:] + pre + post)
    if pre:
        k = len(ishape) - bd
        order = (list(range(bd)) + list(range(bd + k, bd + k + len(pre))) + list(range(bd, bd + k))
                 + list(range(bd + k + len(pre), bd + k + len(pre) + len(post))))
        g = transpose(g, order)
    return g


class TakeAlongAxis(Function):
    """`take_along_axis` with indices unique per slice (sort, top_k)."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, a: Any, idx: Any) -> Any:
        self.in_shape = a.shape
        return get_xp(a).take_along_axis(a, idx, axis=self.axis)

    def backward(self, dy: Tensor) -> tuple:
        return PutAlongAxis(self.axis, self.in_shape)(dy, self.inputs[1]), None


class PutAlongAxis(Function):
    def __init__(self, axis: int, shape: tuple) -> None:
        self.axis = axis
        self.shape = shape

    def forward(self, dy: Any, idx: Any) -> Any:
        xp = get_xp(dy)
        out = xp.zeros(self.shape, dtype=dy.dtype)
        xp.put_along_axis(out, idx, dy, axis=self.axis)
        return out

    def backward(self, ddx: Tensor) -> tuple:
        return TakeAlongAxis(self.axis)(ddx, self.inputs[1]), None


@lifted_on_graph_tensors
def argsort(values: Any, axis: int = -1, direction: str = "ASCENDING", stable: bool = False,
            name: Any = None) -> Tensor:
    """Indices that sort `values` along `axis` (int32; ties keep their order)."""
    x = _t(values, "Argsort")
    xv = x._value
    xp = get_xp(xv)
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"Argsort: direction must be 'ASCENDING' or 'DESCENDING', received {direction!r}.")
    key = xv
    if direction == "DESCENDING":
        key = -xv if xv.dtype.kind in "fi" else xv.max() - xv
    return Tensor(xp.argsort(key, axis=axis, kind="stable").astype("int32"))


def sort(values: Any, axis: int = -1, direction: str = "ASCENDING", name: Any = None) -> Tensor:
    """`values` sorted along `axis`; the gradient flows back to the original positions."""
    x = _t(values, "Sort")
    idx = argsort(x, axis, direction)
    return TakeAlongAxis(axis % len(x.shape))(x, idx)


TopKV2 = namedtuple("TopKV2", ["values", "indices"])


@lifted_on_graph_tensors
def top_k(input: Any, k: int = 1, sorted: bool = True, index_type: Any = "int32", name: Any = None) -> TopKV2:  # noqa: A002
    """The `k` largest entries of the last axis and their indices (lower index first on ties)."""
    x = _t(input, "TopKV2")
    n = x.shape[-1]
    if k > n:
        raise ValueError(f"TopKV2: k ({k}) must be at most the size of the last axis ({n}).")
    idx = argsort(x, -1, "DESCENDING")
    idx = Tensor(idx._value[..., :k].astype(_dt.as_dtype(index_type)._np))
    return TopKV2(TakeAlongAxis(len(x.shape) - 1)(x, idx), idx)


# ---------------------------------------------------------------------------------------------
# Joining and splitting
# ---------------------------------------------------------------------------------------------

class Concat(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs: Any) -> Any:
        self.sizes = [x.shape[self.axis] for x in xs]
        return get_xp(*xs).concatenate(xs, axis=self.axis)

    def backward(self, dy: Tensor) -> tuple:
        return Split(self.sizes, self.axis)(dy)


class Split(Function):
    def __init__(self, sizes: list, axis: int) -> None:
        self.sizes = list(sizes)
        self.axis = axis
        self.n_outputs = len(self.sizes)

    def forward(self, a: Any) -> Any:
        xp = get_xp(a)
        points = []
        acc = 0
        for s in self.sizes[:-1]:
            acc += s
            points.append(acc)
        return tuple(xp.split(a, points, axis=self.axis))

    def backward(self, *dys: Tensor) -> tuple:
        return (Concat(self.axis)(*dys),)


def concat(values: Any, axis: int, name: Any = None) -> Tensor:
    """Join tensors along an existing axis (`tf.concat`)."""
    ts = [_t(v, "ConcatV2") for v in values]
    if not ts:
        raise ValueError("ConcatV2: values must be a non-empty list of tensors.")
    if len(ts) == 1:
        return ts[0]
    n = len(ts[0].shape)
    ax = int(axis)
    if not -n <= ax < n:
        raise ValueError(f"ConcatV2: axis {ax} is out of range for tensors of rank {n}.")
    ax %= n
    first = ts[0]
    for t in ts[1:]:
        if t.dtype != first.dtype:
            from tapeflow.ops.elementwise import _dtype_mismatch

            raise _dtype_mismatch("ConcatV2", first.dtype, t.dtype)
        s0, s1 = tuple(first.shape), tuple(t.shape)
        if len(s1) != n or any(a != b for i, (a, b) in enumerate(zip(s0, s1, strict=False))
                               if i != ax and a is not None and b is not None):
            raise ValueError(
                f"ConcatV2: dimensions must match except on axis {ax}; received shapes {s0} and {s1}."
            )
    return Concat(ax)(*ts)


@lifted_on_unknown_shapes
def stack(values: Any, axis: int = 0, name: Any = None) -> Tensor:
    """Stack same-shape tensors along a new axis (`tf.stack`)."""
    ts = [_t(v, "Pack") for v in values]
    if not ts:
        raise ValueError("Pack: values must be a non-empty list of tensors.")
    shape0 = tuple(ts[0].shape)
    for t in ts[1:]:
        if tuple(t.shape) != shape0:
            raise ValueError(
                f"Pack: all tensors must have the same shape; received {shape0} and {tuple(t.shape)}.")
    n = len(shape0) + 1
    ax = int(axis) % n
    return concat([expand_dims(t, ax) for t in ts], ax)


def unstack(value: Any, num: Any = None, axis: int = 0, name: Any = None) -> list:
    """Split along `axis` into a list of tensors with that axis removed (`num` of them: the
    size of `axis`, which a graph tensor must know unless `num` is given)."""
    x = _t(value, "Unpack")
    if x._value is None and num is None and x.shape.rank:
        ax = int(axis) % len(x.shape)
        if x.shape[ax] is None:
            raise ValueError(f"Cannot infer argument `num` from shape {x.shape}")
    return _unstack(x, num, axis)


@lifted_on_unknown_shapes
def _unstack(x: Tensor, num: Any, axis: int) -> list:
    n = len(x.shape)
    ax = int(axis) % n
    count = x.shape[ax]
    parts = Split([1] * count, ax)(x) if count > 1 else (x,)
    return [squeeze(p, [ax]) for p in parts]


@lifted_on_unknown_shapes
def split(value: Any, num_or_size_splits: Any, axis: int = 0, num: Any = None, name: Any = None) -> list:
    """Split into `num` equal parts or parts of the given sizes along `axis`."""
    x = _t(value, "Split")
    n = len(x.shape)
    ax = int(axis) % n
    total = x.shape[ax]
    if isinstance(num_or_size_splits, int):
        k = num_or_size_splits
        if total % k:
            raise ValueError(f"Split: dimension {total} of axis {ax} is not divisible into {k} equal parts.")
        sizes = [total // k] * k
    else:
        sizes = _ints(num_or_size_splits)
        if -1 in sizes:
            sizes[sizes.index(-1)] = total - (sum(sizes) + 1)
        if sum(sizes) != total:
            raise ValueError(f"Split: sizes {sizes} do not add up to the dimension {total} of axis {ax}.")
    if len(sizes) == 1:
        return [x]
    return list(Split(sizes, ax)(x))


class Tile(Function):
    def __init__(self, multiples: tuple) -> None:
        self.multiples = multiples

    def forward(self, a: Any) -> Any:
        self.in_shape = a.shape
        return get_xp(a).tile(a, self.multiples)

    def backward(self, dy: Tensor) -> tuple:
        from tapeflow.ops.reduce import reduce_sum

        inter = []
        for m, d in zip(self.multiples, self.in_shape, strict=False):
            inter += [m, d]
        g = reshape(dy, inter)
        return (reduce_sum(g, list(range(0, len(inter), 2))),)


def tile(input: Any, multiples: Any, name: Any = None) -> Tensor:  # noqa: A002
    """Repeat `input` `multiples[i]` times along axis i."""
    x = _t(input, "Tile")
    m = tuple(_ints(multiples))
    if len(m) != len(x.shape):
        raise ValueError(f"Tile: multiples has {len(m)} entries but the input has rank {len(x.shape)}.")
    return Tile(m)(x)


@lifted_on_graph_tensors
def repeat(input: Any, repeats: int, axis: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    x = _t(input, "Repeat")
    if axis is None:
        x = reshape(x, [-1])
        axis = 0
    xp = get_xp(x._value)
    idx = Tensor(xp.repeat(xp.arange(x.shape[axis]), int(repeats)))
    return gather(x, idx, axis=axis)


class Pad(Function):
    def __init__(self, paddings: tuple, value: Any) -> None:
        self.paddings = paddings
        self.value = value

    def forward(self, a: Any) -> Any:
        if a.dtype.kind == "O":  # strings: NumPy would store the fill as np.bytes_
            return _sv.pad(a, self.paddings, self.value)
        return get_xp(a).pad(a, self.paddings, mode="constant", constant_values=self.value)

    def backward(self, dy: Tensor) -> tuple:
        key = tuple(_pyslice(lo, dy.shape[i] - hi) for i, (lo, hi) in enumerate(self.paddings))
        return (getitem(dy, key),)


@lifted_on_graph_tensors
def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", constant_values: Any = 0,
        name: Any = None) -> Tensor:
    """Pad with `paddings[i] = [before, after]` per axis; mode CONSTANT, REFLECT or SYMMETRIC."""
    x = _t(tensor, "Pad")
    if isinstance(paddings, Tensor):
        paddings = backend.to_numpy(paddings._value).tolist()
    pads = tuple((int(a), int(b)) for a, b in paddings)
    if len(pads) != len(x.shape):
        raise ValueError(f"Pad: paddings has {len(pads)} rows but the input has rank {len(x.shape)}.")
    mode = mode.upper()
    if mode == "CONSTANT":
        if x.dtype is _dt.string:  # TF pads strings with b"" (its zero) or the given text
            text = b"" if isinstance(constant_values, int) and constant_values == 0 else constant_values
            constant_values = _sv.to_bytes_array(text, requested=True)[()]
        return Pad(pads, constant_values)(x)
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise ValueError(f"Pad: mode must be CONSTANT, REFLECT or SYMMETRIC, received {mode!r}.")
    # Reflection is a gather along each axis with a mirrored index map (differentiable).
    xp = get_xp(x._value)
    out = x
    for ax, (lo, hi) in enumerate(pads):
        if lo == 0 and hi == 0:
            continue
        n = x.shape[ax]
        shift = 1 if mode == "REFLECT" else 0
        if max(lo, hi) > n - shift:
            raise ValueError(
                f"Pad: padding {max(lo, hi)} is too large for axis {ax} of size {n} in {mode} mode.")
        left = [lo - i - 1 + shift for i in range(lo)]
        right = [n - 1 - shift - i for i in range(hi)]
        idx = Tensor(xp.asarray(left + list(range(n)) + right, dtype="int64"))
        out = Gather(ax)(out, idx)
    return out


# ---------------------------------------------------------------------------------------------
# Shape queries (not differentiable)
# ---------------------------------------------------------------------------------------------

def shape(input: Any, out_type: Any = "int32", name: Any = None) -> Tensor:  # noqa: A002
    x = _t(input, "Shape")
    if x._value is None and (x.shape.rank is None or None in tuple(x.shape)):
        return _graph_shape(x, out_type)
    return convert_to_tensor(list(x.shape), dtype=out_type)


def size(input: Any, out_type: Any = "int32", name: Any = None) -> Tensor:  # noqa: A002
    x = _t(input, "Size")
    if x._value is None:
        n = TensorShape(x.shape).num_elements()
        return _graph_size(x, out_type) if n is None else convert_to_tensor(n, dtype=out_type)
    return convert_to_tensor(int(x._value.size), dtype=out_type)


@lifted_on_symbolic_tensors
def _graph_shape(x: Tensor, out_type: Any) -> Tensor:
    return convert_to_tensor(list(x._value.shape), dtype=out_type)


@lifted_on_symbolic_tensors
def _graph_size(x: Tensor, out_type: Any) -> Tensor:
    return convert_to_tensor(int(x._value.size), dtype=out_type)


def rank(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    x = _t(input, "Rank")
    if x._value is None and x.shape.rank is None:
        return _graph_rank(x)
    return convert_to_tensor(len(x.shape), dtype="int32")


@lifted_on_symbolic_tensors
def _graph_rank(x: Tensor) -> Tensor:
    return convert_to_tensor(x._value.ndim, dtype="int32")

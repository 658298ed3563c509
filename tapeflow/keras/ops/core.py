"""`keras.ops` core functions: control flow, dynamic slices and scatters, conversion and dtypes.

`cond`, `while_loop` and `fori_loop` are thin calls of the engine's `tapeflow.cond` and
`tapeflow.while_loop` (eager outside `tf.function`, traced inside it); `scan`,
`associative_scan`, `map`, `switch` and `vectorized_map` loop eagerly in Python. Gradients flow
through the ops the branches and bodies apply.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

import tapeflow
from tapeflow import backend, nest
from tapeflow.autodiff.custom_gradient import custom_gradient as _tf_custom_gradient
from tapeflow.keras.ops.arguments import cast as _cast
from tapeflow.keras.ops.arguments import int_list, promote, to_tensor, xp_of
from tapeflow.keras.ops.promotion import standardize_dtype
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra_array, extra_scatter
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_graph_tensors, lifted_on_unknown_shapes

# -- control flow --------------------------------------------------------------------------------

def _truth(pred: Any) -> bool:
    if isinstance(pred, Tensor):
        if pred._value is None:
            raise ValueError("cond: the predicate has no value yet (a symbolic tensor); Tapeflow's "
                             "keras.ops control flow runs eagerly.")
        if pred._value.size != 1:
            raise ValueError(f"cond: the predicate must be a scalar, received shape {tuple(pred.shape)}.")
    return builtins.bool(pred)


def cond(pred: Any, true_fn: Callable, false_fn: Callable) -> Any:
    """`true_fn()` if `pred` else `false_fn()` (`tapeflow.cond`)."""
    if isinstance(pred, Tensor) and pred._value is not None:
        _truth(pred)
    return tapeflow.cond(pred, true_fn, false_fn)


def switch(index: Any, branches: list, *operands: Any) -> Any:
    """`branches[index](*operands)`, with `index` clamped to the valid range."""
    if not branches:
        raise ValueError("switch: branches must be a non-empty list of callables.")
    i = builtins.int(to_tensor(index).numpy()) if isinstance(index, Tensor) else builtins.int(index)
    i = builtins.min(builtins.max(i, 0), len(branches) - 1)
    return branches[i](*operands)


def while_loop(cond: Callable, body: Callable, loop_vars: Any, maximum_iterations: Any = None) -> Any:
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` (at most
    `maximum_iterations` times); returns the final loop variables in their input structure
    (`tapeflow.while_loop`)."""
    is_tuple = isinstance(loop_vars, (tuple, list))
    out = tapeflow.while_loop(cond, body, tuple(loop_vars) if is_tuple else loop_vars,
                             maximum_iterations=maximum_iterations)
    if is_tuple:
        out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        return list(out) if isinstance(loop_vars, list) else out
    return out


def fori_loop(lower: Any, upper: Any, body_fun: Callable, init_val: Any) -> Any:
    """`init_val = body_fun(i, init_val)` for i in [lower, upper)."""
    return tapeflow.while_loop(lambda i, _: i < upper, lambda i, v: (i + 1, body_fun(i, v)),
                              (lower, init_val))[1]


def _stack_tree(items: list) -> Any:
    if not items:
        return None
    flats = [nest.flatten(it) for it in items]
    stacked = [mv.stack(list(promote(*[f[k] for f in flats]))) for k in range(len(flats[0]))]
    return nest.pack_sequence_as(items[0], stacked)


def scan(f: Callable, init: Any, xs: Any = None, length: Any = None, reverse: bool = False,
         unroll: Any = 1) -> tuple:
    """Loop `carry, y = f(carry, x)` over the leading axis of `xs`; returns (carry, stacked ys).

    `unroll` (a positive int or a bool) is how many steps a compiled backend unrolls; the
    values do not depend on it, and here every step runs in Python either way.
    """
    if isinstance(unroll, bool) or not isinstance(unroll, int) or unroll < 1:
        if not isinstance(unroll, bool):
            raise ValueError(f"scan: unroll must be a positive int or a bool, received {unroll!r}.")
    if xs is None:
        if length is None:
            raise ValueError("scan: give xs or length.")
        n = builtins.int(length)
        slices = [None] * n
    else:
        flat = [to_tensor(v) for v in nest.flatten(xs)]
        n = flat[0].shape[0]
        if length is not None and builtins.int(length) != n:
            raise ValueError(f"scan: length {length} differs from the leading axis of xs ({n}).")
        slices = [nest.pack_sequence_as(xs, [v[i] for v in flat]) for i in range(n)]
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry = init
    ys: list = [None] * n
    for i in order:
        carry, y = f(carry, slices[i])
        ys[i] = y
    if n == 0 or ys[0] is None:
        return carry, None
    return carry, _stack_tree(ys)


def associative_scan(f: Callable, elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """Inclusive scan with an associative `f` along `axis` (e.g. a cumulative sum for add)."""
    flat = [to_tensor(v) for v in nest.flatten(elems)]
    ax = axis % builtins.max(flat[0].ndim, 1)
    n = flat[0].shape[ax]

    def piece(i: int) -> Any:
        key = (builtins.slice(None),) * ax + (builtins.slice(i, i + 1),)
        return nest.pack_sequence_as(elems, [mv.getitem(v, key) for v in flat])

    order = list(range(n - 1, -1, -1)) if reverse else list(range(n))
    acc = None
    outs: list = [None] * n
    for i in order:
        acc = piece(i) if acc is None else f(acc, piece(i))
        outs[i] = acc
    joined = [mv.concat([nest.flatten(o)[k] for o in outs], ax) for k in range(len(flat))]
    return nest.pack_sequence_as(elems, joined)


def map(f: Callable, xs: Any) -> Any:  # noqa: A001 - Keras's name
    """`f` applied to each slice of `xs` along its leading axis, the results stacked."""
    flat = [to_tensor(v) for v in nest.flatten(xs)]
    n = flat[0].shape[0]
    return _stack_tree([f(nest.pack_sequence_as(xs, [v[i] for v in flat])) for i in range(n)])


def vectorized_map(function: Callable, elements: Any) -> Any:
    """`function` applied to each slice of `elements` along the leading axis, stacked."""
    return map(function, elements)


def vectorize(pyfunc: Callable, *, excluded: Any = None, signature: Any = None) -> Callable:
    """A version of `pyfunc` that loops over broadcast leading axes, like `np.vectorize`.

    `signature` ("(n),(n)->()") names the core axes each argument keeps; without it every
    argument is looped over elementwise. `excluded` positions are passed through unchanged.
    """
    excluded = set(excluded or ())
    core_in, core_out = _parse_signature(signature)

    def wrapped(*args: Any) -> Any:
        loop = [i for i in range(len(args)) if i not in excluded]
        ts = {i: to_tensor(args[i]) for i in loop}
        cores = core_in if core_in is not None else [0] * len(loop)
        if len(cores) != len(loop):
            raise ValueError(f"vectorize: the signature has {len(cores)} inputs, received {len(loop)}.")
        loop_shapes = [tuple(ts[i].shape[:ts[i].ndim - c]) for i, c in zip(loop, cores, strict=True)]
        shape = np.broadcast_shapes(*loop_shapes) if loop_shapes else ()
        count = builtins.int(np.prod(shape)) if shape else 1
        flat = {}
        for i, c in zip(loop, cores, strict=True):
            t = ts[i]
            core = list(t.shape[t.ndim - c:]) if c else []
            flat[i] = mv.reshape(mv.broadcast_to(t, list(shape) + core), [count] + core)
        results = []
        for k in range(count):
            call = [flat[i][k] if i in flat else args[i] for i in range(len(args))]
            results.append(pyfunc(*call))
        out = _stack_tree(results)
        return nest.map_structure(lambda r: mv.reshape(r, list(shape) + list(r.shape[1:])), out)

    return wrapped


def _parse_signature(signature: Any) -> tuple:
    if signature is None:
        return None, None
    import re

    lhs, rhs = signature.replace(" ", "").split("->")
    groups = re.findall(r"\(([^)]*)\)", lhs)
    outs = re.findall(r"\(([^)]*)\)", rhs)
    return [len([d for d in g.split(",") if d]) for g in groups], outs


# -- dynamic slices and scatters ---------------------------------------------------------------

def _starts(start_indices: Any, ndim: int, op: str) -> list:
    starts = int_list(start_indices)
    if len(starts) != ndim:
        raise ValueError(f"{op}: start_indices needs {ndim} entries (one per axis), received {starts}.")
    return starts


@lifted_on_unknown_shapes
def slice(inputs: Any, start_indices: Any, shape: Any) -> Tensor:  # noqa: A001 - Keras's name
    """The block of `shape` starting at `start_indices` (starts are clamped so it fits)."""
    x = to_tensor(inputs)
    starts = _starts(start_indices, x.ndim, "slice")
    size = int_list(shape)
    key = []
    for s, n, d in zip(starts, size, x.shape, strict=True):
        if d is None:  # an unknown dimension (a Keras input's batch): no clamping
            key.append(builtins.slice(s, None if n == -1 else s + n))
            continue
        n = d - s if n == -1 else n
        s = builtins.min(builtins.max(s, 0), d - n)
        key.append(builtins.slice(s, s + n))
    return mv.getitem(x, tuple(key))


@lifted_on_unknown_shapes
def slice_update(inputs: Any, start_indices: Any, updates: Any) -> Tensor:
    """`inputs` with the block at `start_indices` replaced by `updates` (differentiable in both)."""
    x, u = promote(inputs, updates)
    starts = _starts(start_indices, x.ndim, "slice_update")
    pads = []
    for s, n, d in zip(starts, u.shape, x.shape, strict=True):
        s = builtins.min(builtins.max(s, 0), d - n)
        pads.append([s, d - s - n])
    mask = Tensor(xp_of(x).pad(xp_of(x).ones(u.shape, dtype=bool), pads))
    return ew.where(mask, mv.pad(u, pads), x)


def _indices(indices: Any, op: str) -> Tensor:
    idx = to_tensor(indices)
    if idx.dtype.is_floating:
        raise TypeError(f"{op}: indices must be integers, received dtype {idx.dtype.name}.")
    return _cast(idx, "int64")


def scatter(indices: Any, values: Any, shape: Any) -> Tensor:
    """zeros(shape) with `values` added at `indices` (N, k) (repeated indices add up)."""
    return extra_scatter.ScatterNd(tuple(int_list(shape)))(to_tensor(values), _indices(indices, "scatter"))


@lifted_on_graph_tensors
def scatter_update(inputs: Any, indices: Any, updates: Any, reduction: Any = None) -> Tensor:
    """`inputs` with `inputs[indices] = updates` (the last update wins on repeats), or combined
    with reduction "add", "max", "min" or "mul".

    Gradients reach `inputs` always and `updates` for reduction None and "add". Inside
    `tf.function` with graph indices, repeated indices of reduction None add up.
    """
    x, u = promote(inputs, updates)
    idx = _indices(indices, "scatter_update")
    shape = tuple(x.shape)
    scatter_nd = extra_scatter.ScatterNd(shape)
    if reduction is None:
        if idx._value is not None:
            host = backend.to_numpy(idx._value).reshape(idx.shape[0], -1)
            # Keep the last update of each index tuple.
            _, first_rev = np.unique(host[::-1], axis=0, return_index=True)
            keep = np.sort(len(host) - 1 - first_rev)
            if len(keep) != len(host):
                keep_t = Tensor(xp_of(x).asarray(keep))
                idx, u = mv.gather(idx, keep_t), mv.gather(u, keep_t)
        ones = extra_array.fill_like(u, 1)
        mask = ew.greater(extra_scatter.ScatterNd(shape)(ones, idx), extra_array.fill_like(x, 0))
        return ew.where(mask, scatter_nd(u, idx), x)
    if reduction == "add":
        return ew.add(x, scatter_nd(u, idx))
    if reduction in ("max", "min", "mul"):
        if idx._value is None:
            raise ValueError(f"scatter_update: reduction={reduction!r} needs concrete indices; inside "
                             "tf.function pass them as a constant.")
        if x.dtype.is_floating:
            info = np.finfo(x.dtype.as_numpy_dtype)
        else:
            info = np.iinfo(x.dtype.as_numpy_dtype)
        fill = {"max": info.min, "min": info.max, "mul": 1}[reduction]
        combined = extra_scatter.ScatterReduce(idx._value, shape, reduction, fill)(u)
        op = {"max": ew.maximum, "min": ew.minimum, "mul": ew.multiply}[reduction]
        return op(x, combined)
    raise ValueError(f"scatter_update: reduction must be None, 'add', 'max', 'min' or 'mul', "
                     f"received {reduction!r}.")


# -- conversion, dtypes, gradients ------------------------------------------------------------

def convert_to_tensor(x: Any, dtype: Any = None, sparse: Any = None, ragged: Any = None) -> Tensor:
    """`x` as a tensor (Python floats become floatx, ints int32), cast to `dtype` if given."""
    if sparse:
        raise ValueError("convert_to_tensor: sparse=True is not supported (Tapeflow has no sparse tensors).")
    if ragged:
        raise ValueError("convert_to_tensor: ragged=True is not supported (Tapeflow has no ragged tensors).")
    return to_tensor(x, dtype)


def convert_to_numpy(x: Any) -> np.ndarray:
    """`x` as a NumPy array (copied from the GPU when needed)."""
    if isinstance(x, Tensor):
        return np.asarray(x.numpy())
    return np.asarray(x)


def is_tensor(x: Any) -> bool:
    """Whether `x` is a Tapeflow tensor."""
    return isinstance(x, Tensor)


def cast(x: Any, dtype: Any) -> Tensor:
    """`x` converted to `dtype` (floats to ints truncate toward zero)."""
    return _cast(to_tensor(x), standardize_dtype(dtype))


def _range_of(np_dtype: Any) -> tuple:
    info = np.finfo(np_dtype) if np.dtype(np_dtype).kind == "f" else np.iinfo(np_dtype)
    return float(info.min), float(info.max)


def saturate_cast(x: Any, dtype: Any) -> Tensor:
    """`x` clipped to the range of `dtype`, then cast (no wrap-around)."""
    x = to_tensor(x)
    name = standardize_dtype(dtype)
    if np.dtype(name).kind in "iuf" and not x.dtype.is_bool and not x.dtype.is_complex:
        lo, hi = _range_of(name)
        xlo, xhi = _range_of(x.dtype.as_numpy_dtype)
        if lo > xlo or hi < xhi:
            bounds = np.asarray([builtins.max(lo, xlo), builtins.min(hi, xhi)])
            lo_t, hi_t = (Tensor(backend.asarray(b.astype(x.dtype.as_numpy_dtype), None, xp_of(x)))
                          for b in bounds)
            x = ew.minimum(ew.maximum(x, lo_t), hi_t)
    return _cast(x, name)


def shape(x: Any) -> tuple:
    """The static shape as a tuple of ints."""
    return tuple(to_tensor(x).shape)


def dtype(x: Any) -> str:
    """The dtype's Keras name ("float32", ...)."""
    return standardize_dtype(to_tensor(x).dtype)


def stop_gradient(variable: Any) -> Tensor:
    """`variable`'s value, treated as a constant by gradients."""
    return ew.stop_gradient(to_tensor(variable))


def unstack(x: Any, num: Any = None, axis: int = 0) -> list:
    """The slices of `x` along `axis`, as a list."""
    x = to_tensor(x)
    if num is not None and builtins.int(num) != x.shape[axis]:
        raise ValueError(f"unstack: num={num} differs from the axis size {x.shape[axis]}.")
    return mv.unstack(x, axis=axis)


def custom_gradient(f: Callable) -> Callable:
    """Decorate `f(*args) -> (output, grad_fn)` so that gradients use `grad_fn(upstream)`."""
    return _tf_custom_gradient(f)

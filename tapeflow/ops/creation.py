"""Tensors created from shapes and values: zeros, ones, fill, eye, range, linspace, one_hot."""

from __future__ import annotations

import builtins
from typing import Any

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow import string_values as _sv
from tapeflow.errors import InvalidArgumentError
from tapeflow.tensor import Tensor, convert_to_tensor
from tapeflow.tracing.func_graph import has_traced_dims, lifted_on_graph_tensors


def _shape(shape: Any) -> tuple:
    if isinstance(shape, Tensor):
        shape = backend.to_numpy(shape._value).tolist()
    if isinstance(shape, int) or hasattr(shape, "__index__") and not isinstance(shape, (list, tuple)):
        return (int(shape),)
    out = tuple(int(d) for d in shape)
    if any(d < 0 for d in out):
        raise ValueError(f"Dimensions must be non-negative, received shape {out}.")
    return out


def _np_dtype(dtype: Any) -> Any:
    return _dt.as_dtype(dtype)._np


def zeros(shape: Any, dtype: Any = _dt.float32, name: Any = None) -> Tensor:
    """A tensor of zeros (`tf.zeros`), float32 by default; empty strings for tf.string."""
    if has_traced_dims(shape):
        return fill(shape, convert_to_tensor(zeros((), dtype)))
    np_dtype = _np_dtype(dtype)
    if np_dtype.kind == "O":
        return Tensor(_sv.empty_strings(_shape(shape)))
    return Tensor(backend.default_xp().zeros(_shape(shape), dtype=np_dtype))


def ones(shape: Any, dtype: Any = _dt.float32, name: Any = None) -> Tensor:
    """A tensor of ones (`tf.ones`), float32 by default."""
    if has_traced_dims(shape):
        return fill(shape, convert_to_tensor(ones((), dtype)))
    return Tensor(backend.default_xp().ones(_shape(shape), dtype=_numeric(_np_dtype(dtype), "ones")))


def _numeric(np_dtype: Any, op: str) -> Any:
    if np_dtype.kind == "O":
        raise InvalidArgumentError(f"{op}: dtype string has no one; expected a numeric or bool dtype.")
    return np_dtype


def _like(input: Any) -> Any:  # noqa: A002
    return input._value if isinstance(input, Tensor) else convert_to_tensor(input)._value


@lifted_on_graph_tensors
def zeros_like(input: Any, dtype: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    """Zeros with the shape (and dtype, unless given) of `input`, on its device."""
    v = _like(input)
    np_dtype = v.dtype if dtype is None else _np_dtype(dtype)
    if np_dtype.kind == "O":
        return Tensor(_sv.empty_strings(v.shape))
    return Tensor(backend.get_xp(v).zeros(v.shape, dtype=np_dtype))


@lifted_on_graph_tensors
def ones_like(input: Any, dtype: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    """Ones with the shape (and dtype, unless given) of `input`, on its device."""
    v = _like(input)
    xp = backend.get_xp(v)
    return Tensor(xp.ones(v.shape, dtype=_numeric(v.dtype if dtype is None else _np_dtype(dtype), "ones_like")))


@lifted_on_graph_tensors
def fill(dims: Any, value: Any, name: Any = None) -> Tensor:
    """A tensor of shape `dims` filled with `value` (its dtype follows `value`)."""
    v = convert_to_tensor(value)
    xp = backend.default_xp() if v.dtype is not _dt.string else backend.host  # strings: host only
    return Tensor(xp.full(_shape(dims), backend.to_numpy(v._value), dtype=v._value.dtype))


def eye(num_rows: int, num_columns: Any = None, batch_shape: Any = None, dtype: Any = _dt.float32,
        name: Any = None) -> Tensor:
    """Identity matrix (optionally batched)."""
    xp = backend.default_xp()
    m = xp.eye(int(num_rows), None if num_columns is None else int(num_columns), dtype=_np_dtype(dtype))
    if batch_shape is not None:
        bs = _shape(batch_shape)
        m = xp.broadcast_to(m, bs + m.shape).copy()
    return Tensor(m)


@lifted_on_graph_tensors
def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: Any = "range") -> Tensor:  # noqa: A001
    """[start, limit) in steps of `delta` (`tf.range`); int32 for ints, float32 for floats."""
    if limit is None:
        start, limit = 0, start
    vals = [backend.to_numpy(v._value).item() if isinstance(v, Tensor) else v for v in (start, limit, delta)]
    if dtype is None:
        dtype = _dt.float32 if any(isinstance(v, float) for v in vals) else _dt.int32
    xp = backend.default_xp()
    return Tensor(xp.arange(vals[0], vals[1], vals[2]).astype(_np_dtype(dtype)))


@lifted_on_graph_tensors
def linspace(start: Any, stop: Any, num: int, name: Any = None, axis: int = 0) -> Tensor:
    """`num` evenly spaced values from `start` to `stop` inclusive (float32 for Python floats)."""
    s = convert_to_tensor(start, dtype_hint=_dt.float32)
    e = convert_to_tensor(stop, dtype=s.dtype) if not isinstance(stop, Tensor) else stop
    xp = backend.get_xp(s._value)
    return Tensor(xp.linspace(s._value, e._value, int(num), axis=axis).astype(s._value.dtype))


@lifted_on_graph_tensors
def one_hot(indices: Any, depth: int, on_value: Any = None, off_value: Any = None, axis: Any = None,
            dtype: Any = None, name: Any = None) -> Tensor:
    """One-hot encoding of integer `indices` along a new axis of size `depth` (float32 default).

    Out-of-range indices (including -1) give an all-off row, as in TF.
    """
    idx = convert_to_tensor(indices)
    if idx.dtype._np.kind not in "iu":
        raise TypeError(f"OneHot: indices must be integers, received dtype {idx.dtype.name}.")
    if dtype is None:
        dtype = on_value.dtype if isinstance(on_value, Tensor) else _dt.float32
    np_dt = _np_dtype(dtype)
    iv = idx._value
    xp = backend.get_xp(iv)
    depth = int(depth)
    hot = iv[..., None] == xp.arange(depth)
    on = 1 if on_value is None else backend.to_numpy(convert_to_tensor(on_value)._value).item()
    off = 0 if off_value is None else backend.to_numpy(convert_to_tensor(off_value)._value).item()
    out = xp.where(hot, xp.asarray(on, dtype=np_dt), xp.asarray(off, dtype=np_dt))
    if axis is not None and axis != -1:
        out = xp.moveaxis(out, -1, axis)
    return Tensor(out)


def one_hot_flat(i: int, like: Tensor) -> Tensor:
    """A tensor shaped like `like`, zero except a one at flat position `i` (for jacobians)."""
    v = like._value
    xp = backend.get_xp(v)
    out = xp.zeros(v.size, dtype=v.dtype)
    out[i] = 1
    return Tensor(out.reshape(v.shape))


def batch_one_hot(j: int, like: Tensor) -> Tensor:
    """Ones at flat position `j` of every example of `like` (for batch jacobians)."""
    v = like._value
    xp = backend.get_xp(v)
    out = xp.zeros((v.shape[0], builtins.max(1, v.size // builtins.max(v.shape[0], 1))), dtype=v.dtype)
    out[:, j] = 1
    return Tensor(out.reshape(v.shape))

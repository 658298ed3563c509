"""Argument handling shared by `keras.ops`: Keras's tensor conversion, promotion and axes.

Keras converts Python floats to `floatx()` and ints to int32, keeps NumPy arrays' dtypes, and
promotes mixed operands with `result_type` (Python numbers are weak types), unlike the engine's
TF rules where both operands of a binary op must already share a dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.dtypes import is_real_float_np
from tapeflow.keras.ops.promotion import result_type, standardize_dtype
from tapeflow.ops import elementwise as ew
from tapeflow.tensor import Tensor, convert_to_tensor

_PY_NUMBERS = (bool, int, float)


def is_python_number(x: Any) -> bool:
    return isinstance(x, _PY_NUMBERS) and not isinstance(x, np.generic)


def dtype_of(x: Any) -> Any:
    """The dtype `result_type` sees for `x`: a name, or the weak types `int`/`float`/`bool`."""
    if isinstance(x, Tensor):
        return x.dtype.name
    if is_python_number(x):
        return bool if isinstance(x, bool) else type(x)
    if hasattr(x, "dtype"):
        return standardize_dtype(x.dtype)
    return to_tensor(x).dtype.name


_NAMES = frozenset(("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
                    "float16", "float32", "float64", "complex64", "complex128"))
_scalars: dict = {}


def _scalar(x: Any, dtype: str) -> Tensor:
    """A Python number as a tensor of `dtype` on the default device (cached: ops reuse them)."""
    xp = backend.default_xp()
    key = (x, type(x), dtype, id(xp))
    t = _scalars.get(key)
    if t is None:
        if len(_scalars) > 4096:
            _scalars.clear()
        t = _scalars[key] = Tensor(backend.asarray(x, np.dtype(dtype), xp))
    return t


def to_tensor(x: Any, dtype: Any = None) -> Tensor:
    """`x` as a Tensor with Keras's defaults (floats: floatx, ints: int32), cast to `dtype`."""
    if dtype is not None and not (dtype.__class__ is str and dtype in _NAMES):
        dtype = standardize_dtype(dtype)
    if isinstance(x, Tensor):
        if dtype is None or x.dtype.name == dtype:
            return x
        t = x
    elif is_python_number(x):
        if dtype is not None:
            return _scalar(x, dtype)
        if isinstance(x, float):
            t = Tensor(backend.asarray(x, np.dtype(result_type(float))))
        else:
            t = convert_to_tensor(x)
    elif isinstance(x, (list, tuple)) and any(isinstance(v, float) for v in _flat(x)):
        t = convert_to_tensor(x, dtype=dtype or result_type(float))
    else:
        t = convert_to_tensor(x)
    if dtype is not None and t.dtype.name != dtype:
        t = ew.cast(t, dtype)
    return t


def _flat(x: Any) -> list:
    out: list = []
    for v in x:
        if isinstance(v, (list, tuple)):
            out.extend(_flat(v))
        else:
            out.append(v)
    return out


def cast(x: Tensor, dtype: str) -> Tensor:
    return x if x.dtype.name == dtype else ew.cast(x, dtype)


def promote(*xs: Any, dtype: Any = None) -> tuple:
    """Convert `xs` to Tensors of one dtype: `dtype`, or `result_type` of their dtypes."""
    if dtype is None and all(type(x) is Tensor for x in xs):
        first = xs[0]._value
        if first is not None and all(x._value is not None and x._value.dtype == first.dtype for x in xs):
            return xs  # the common case: tensors of one dtype already
    if dtype is None:
        dtype = result_type(*(dtype_of(x) for x in xs))
    return tuple(to_tensor(x, dtype) for x in xs)


def strong(*xs: Any) -> tuple:
    """Python numbers converted to tensors first (int32 / floatx): for the ops where Keras
    promotes them as typed values, not weak ones (`mod(int8, 3)` is int32)."""
    return tuple(to_tensor(x) if is_python_number(x) else x for x in xs)


def wide_float_dtype(*xs: Any) -> str:
    """Keras's float dtype for cbrt, hypot, heaviside, correlate, ...: int64 computes in float64,
    float16/float64 keep theirs, everything else in floatx."""
    d = result_type(*(dtype_of(x) for x in xs))
    if d == "int64":
        return "float64"
    return d if d in ("float16", "float64") else result_type(float)


def float_dtype(*xs: Any) -> str:
    """The float dtype Keras computes float functions of `xs` in (int inputs give floatx)."""
    return result_type(*(dtype_of(x) for x in xs), float)


def to_float(x: Any) -> Tensor:
    """`x` converted and cast to its float computation dtype."""
    if type(x) is Tensor and x._value is not None and is_real_float_np(x._value.dtype):
        return x  # float tensors keep their dtype
    return to_tensor(x, float_dtype(x))


def xp_of(x: Tensor) -> Any:
    """The array module of `x` (the default device's for a graph tensor)."""
    return backend.get_xp(x._value) if x._value is not None else backend.default_xp()


def axis_list(axis: Any, ndim: int, op: str) -> list | None:
    """`axis` (None, int or sequence) as non-negative ints, checked against `ndim`."""
    if axis is None:
        return None
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of rank {ndim}.")
        out.append(a % max(ndim, 1))
    return out


def one_axis(axis: Any, ndim: int, op: str) -> int:
    return axis_list(int(axis), ndim, op)[0]


def int_list(value: Any) -> list:
    """A shape-like argument (int, sequence or tensor) as a list of Python ints."""
    if isinstance(value, Tensor):
        value = value.numpy().tolist()
    if isinstance(value, (int, np.integer)):
        return [int(value)]
    return [int(v) for v in value]


def constant_like(value: Any, like: Tensor, dtype: Any = None) -> Tensor:
    """A constant array of `like`'s dtype (or `dtype`) on `like`'s device; a graph tensor
    inside `tf.function` (no value yet) gives a constant on the default device."""
    v = like._value
    if dtype is None:
        dtype = v.dtype if v is not None else like.dtype.as_numpy_dtype
    xp = backend.get_xp(v) if v is not None else backend.default_xp()
    return Tensor(backend.asarray(value, dtype, xp))

"""`keras.ops` tensor creation: zeros/ones/full/eye/tri, ranges, grids and window functions."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.keras.ops.arguments import cast, dtype_of, int_list, promote, to_tensor
from tapeflow.keras.ops.promotion import result_type, standardize_dtype
from tapeflow.ops import creation
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor


def _new(array: Any) -> Tensor:
    return Tensor(backend.asarray(array, None, backend.default_xp()))


def zeros(shape: Any, dtype: Any = None) -> Tensor:
    """A tensor of zeros (floatx by default)."""
    return _new(np.zeros(int_list(shape), standardize_dtype(dtype)))


def ones(shape: Any, dtype: Any = None) -> Tensor:
    """A tensor of ones (floatx by default)."""
    return _new(np.ones(int_list(shape), standardize_dtype(dtype)))


def empty(shape: Any, dtype: Any = None) -> Tensor:
    """A tensor of the given shape (zero-filled, as Keras's backends give)."""
    return zeros(shape, dtype)


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    """A tensor filled with `fill_value` (floatx unless `dtype` is given)."""
    value = to_tensor(fill_value)
    dtype = standardize_dtype(dtype)
    return ew.identity(mv.broadcast_to(cast(value, dtype), int_list(shape)))


def _like_dtype(x: Any, dtype: Any) -> str:
    return standardize_dtype(dtype) if dtype is not None else to_tensor(x).dtype.name


def zeros_like(x: Any, dtype: Any = None) -> Tensor:
    """Zeros with the shape of `x` (and its dtype unless given)."""
    x = to_tensor(x)
    return creation.zeros_like(x, _like_dtype(x, dtype))


def ones_like(x: Any, dtype: Any = None) -> Tensor:
    """Ones with the shape of `x` (and its dtype unless given)."""
    x = to_tensor(x)
    return creation.ones_like(x, _like_dtype(x, dtype))


def empty_like(x: Any, dtype: Any = None) -> Tensor:
    """A tensor shaped like `x` (zero-filled)."""
    return zeros_like(x, dtype)


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    """A tensor shaped like `x` filled with `fill_value`."""
    x = to_tensor(x)
    value = cast(to_tensor(fill_value), _like_dtype(x, dtype))
    return ew.identity(mv.broadcast_to(value, list(x.shape)))


def eye(N: int, M: Any = None, k: int = 0, dtype: Any = None) -> Tensor:  # noqa: N803 - Keras's names
    """A 2-D tensor with ones on the k-th diagonal."""
    return _new(np.eye(int(N), None if M is None else int(M), int(k), standardize_dtype(dtype)))


def identity(n: int, dtype: Any = None) -> Tensor:
    """The n x n identity matrix."""
    return eye(n, dtype=dtype)


def tri(N: int, M: Any = None, k: int = 0, dtype: Any = None) -> Tensor:  # noqa: N803
    """Ones at and below the k-th diagonal."""
    return _new(np.tri(int(N), None if M is None else int(M), int(k), standardize_dtype(dtype)))


def _scalar(v: Any) -> Any:
    return v.numpy().item() if isinstance(v, Tensor) else v


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> Tensor:
    """Evenly spaced values in [start, stop) (int32 for ints, floatx for floats)."""
    if dtype is None:
        kinds = [dtype_of(v) for v in (start, stop, step) if v is not None]
        dtype = result_type(*kinds)
    start, stop, step = _scalar(start), _scalar(stop), _scalar(step)
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    return _new(np.arange(start, stop, step).astype(standardize_dtype(dtype)))


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0) -> Any:
    """`num` evenly spaced samples from start to stop (`retstep` also gives the spacing)."""
    dtype = standardize_dtype(dtype) if dtype is not None else result_type(
        dtype_of(start), dtype_of(stop), float)
    s, e = promote(start, stop, dtype="float64")
    n = int(num)
    div = (n - 1) if endpoint else n
    step = ew.divide(ew.subtract(e, s), float(builtins.max(div, 1)))
    steps = np.arange(n, dtype="float64").reshape([n] + [1] * s.ndim)
    out = ew.add(s, ew.multiply(to_tensor(steps), step))
    if endpoint and n > 1:
        last = mv.expand_dims(e, 0)
        out = mv.concat([out[:-1], last], 0)
    out = mv.transpose(out, _axis_perm(out.ndim, axis)) if out.ndim > 1 else out
    out = cast(out, dtype)
    return (out, cast(step, dtype)) if retstep else out


def _axis_perm(ndim: int, axis: int) -> list:
    axis = axis % ndim
    perm = list(range(1, ndim))
    perm.insert(axis, 0)
    return perm


def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10,
             dtype: Any = None, axis: int = 0) -> Tensor:
    """base ** linspace(start, stop, num)."""
    dtype = standardize_dtype(dtype) if dtype is not None else result_type(
        dtype_of(start), dtype_of(stop), float)
    exps = linspace(start, stop, num, endpoint, dtype="float64", axis=axis)
    return cast(ew.pow(cast(to_tensor(float(base)), "float64"), exps), dtype)


def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
              axis: int = 0) -> Tensor:
    """Samples evenly spaced on a log scale from start to stop."""
    dtype = standardize_dtype(dtype) if dtype is not None else result_type(
        dtype_of(start), dtype_of(stop), float)
    s, e = promote(start, stop, dtype="float64")
    sign = ew.sign(s)
    lo, hi = ew.log(ew.abs(s)), ew.log(ew.abs(e))
    out = ew.exp(linspace(lo, hi, num, endpoint, dtype="float64", axis=axis))
    out = ew.multiply(out, sign)
    return cast(out, dtype)


def meshgrid(*x: Any, indexing: str = "xy") -> list:
    """Coordinate grids from 1-D tensors ('xy': Cartesian, 'ij': matrix indexing)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', received {indexing!r}.")
    ts = [mv.reshape(to_tensor(v), [-1]) for v in x]
    n = len(ts)
    shape = [t.shape[0] for t in ts]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, t in enumerate(ts):
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        view = [1] * n
        view[pos] = -1
        out.append(mv.broadcast_to(mv.reshape(t, view), shape))
    return out


def vander(x: Any, N: Any = None, increasing: bool = False) -> Tensor:  # noqa: N803
    """The Vandermonde matrix: columns are powers of the 1-D `x`."""
    x = to_tensor(x)
    if x.ndim != 1:
        raise ValueError(f"vander: x must be 1-D, received shape {tuple(x.shape)}.")
    n = x.shape[0] if N is None else int(N)
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    p = cast(to_tensor(powers), x.dtype.name)
    return ew.pow(mv.expand_dims(x, 1), mv.expand_dims(p, 0))


# -- window functions -------------------------------------------------------------------------

def _window(x: Any, fn: Any) -> Tensor:
    n = int(_scalar(x))
    return _new(fn(n).astype(standardize_dtype(None)))


def bartlett(x: Any) -> Tensor:
    """The Bartlett (triangular) window of `x` points."""
    return _window(x, np.bartlett)


def blackman(x: Any) -> Tensor:
    """The Blackman window of `x` points."""
    return _window(x, np.blackman)


def hamming(x: Any) -> Tensor:
    """The Hamming window of `x` points."""
    return _window(x, np.hamming)


def hanning(x: Any) -> Tensor:
    """The Hann window of `x` points."""
    return _window(x, np.hanning)


def kaiser(x: Any, beta: float) -> Tensor:
    """The Kaiser window of `x` points with shape parameter `beta`."""
    return _window(x, lambda n: np.kaiser(n, float(_scalar(beta))))


def array(x: Any, dtype: Any = None) -> Tensor:
    """A tensor from `x` (Keras's conversion defaults)."""
    return to_tensor(x, dtype)

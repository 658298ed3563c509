"""`keras.ops` reductions and statistics: sum, mean, max, var, quantiles, cumulative ops, nan*."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from tapeflow.keras.ops.arguments import (
    axis_list,
    cast,
    constant_like,
    float_dtype,
    one_axis,
    to_tensor,
)
from tapeflow.keras.ops.promotion import standardize_dtype
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra, extra_array
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_unknown_shapes

_SUM_DTYPES = {"bool": "int32", "int8": "int32", "int16": "int32", "uint8": "uint32",
               "uint16": "uint32"}


def _axes(x: Tensor, axis: Any, op: str) -> Any:
    axes = axis_list(axis, x.ndim, op)
    return None if axes is None else tuple(axes)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over `axis` (all axes when None); small ints and bools sum in int32/uint32."""
    x = to_tensor(x)
    x = cast(x, _SUM_DTYPES.get(x.dtype.name, x.dtype.name))
    return rd.reduce_sum(x, _axes(x, axis, "sum"), keepdims)


def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Tensor:
    """Product over `axis`."""
    x = to_tensor(x)
    target = standardize_dtype(dtype) if dtype is not None else _SUM_DTYPES.get(x.dtype.name, x.dtype.name)
    x = cast(x, target)
    return rd.reduce_prod(x, _axes(x, axis, "prod"), keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over `axis`, in floating point (ints give floatx)."""
    x = to_tensor(x)
    x = cast(x, float_dtype(x))
    return rd.reduce_mean(x, _axes(x, axis, "mean"), keepdims)


def _extreme(x: Any, axis: Any, keepdims: bool, initial: Any, mode: str) -> Tensor:
    x = to_tensor(x)
    axes = _axes(x, axis, mode)
    if initial is not None and x._value is not None and x._value.size == 0:
        shape = [1 if axes is None or i in axes else d for i, d in enumerate(x.shape)] if keepdims else \
            [d for i, d in enumerate(x.shape) if axes is not None and i not in axes]
        return constant_like(np.full(shape, initial), x)
    if x.dtype.name == "bool":
        out = (rd.reduce_any if mode == "max" else rd.reduce_all)(x, axes, keepdims)
    else:
        out = (rd.reduce_max if mode == "max" else rd.reduce_min)(x, axes, keepdims)
    if initial is not None:
        init = to_tensor(initial, out.dtype.name)
        out = (ew.maximum if mode == "max" else ew.minimum)(out, init)
    return out


def max(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Tensor:  # noqa: A001
    """The largest value over `axis`; `initial` is a lower bound of the result."""
    return _extreme(x, axis, keepdims, initial, "max")


def min(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Tensor:  # noqa: A001
    """The smallest value over `axis`; `initial` is an upper bound of the result."""
    return _extreme(x, axis, keepdims, initial, "min")


def amax(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The largest value over `axis` (all axes when None)."""
    return _extreme(x, axis, keepdims, None, "max")


def amin(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The smallest value over `axis` (all axes when None)."""
    return _extreme(x, axis, keepdims, None, "min")


def ptp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """max - min over `axis`."""
    return ew.subtract(amax(x, axis, keepdims), amin(x, axis, keepdims))


def all(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Whether every element over `axis` is true (non-zero)."""
    x = to_tensor(x)
    x = x if x.dtype.name == "bool" else ew.not_equal(x, extra_array.fill_like(x, 0))
    return rd.reduce_all(x, _axes(x, axis, "all"), keepdims)


def any(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Whether some element over `axis` is true (non-zero)."""
    x = to_tensor(x)
    x = x if x.dtype.name == "bool" else ew.not_equal(x, extra_array.fill_like(x, 0))
    return rd.reduce_any(x, _axes(x, axis, "any"), keepdims)


def count_nonzero(x: Any, axis: Any = None) -> Tensor:
    """Whether some element over `axis` is true (non-zero)."""
    """Whether every element over `axis` is true (non-zero)."""
    """The number of non-zero elements over `axis` (int32)."""
    x = to_tensor(x)
    nz = x if x.dtype.name == "bool" else ew.not_equal(x, extra_array.fill_like(x, 0))
    return rd.reduce_sum(cast(nz, "int32"), _axes(x, axis, "count_nonzero"))


def _arg(x: Any, axis: Any, keepdims: bool, mode: str) -> Tensor:
    x = to_tensor(x)
    if axis is None:
        flat = mv.reshape(x, [-1])
        out = (rd.argmax if mode == "max" else rd.argmin)(flat, 0, "int32")
        return mv.reshape(out, [1] * x.ndim) if keepdims else out
    ax = one_axis(axis, x.ndim, "arg" + mode)
    out = (rd.argmax if mode == "max" else rd.argmin)(x, ax, "int32")
    return mv.expand_dims(out, ax) if keepdims else out


def argmax(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Index of the largest value along `axis` (of the flattened input when None), int32."""
    return _arg(x, axis, keepdims, "max")


def argmin(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Index of the smallest value along `axis` (of the flattened input when None), int32."""
    return _arg(x, axis, keepdims, "min")


def var(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Population variance over `axis`."""
    x = to_tensor(x)
    x = cast(x, float_dtype(x))
    axes = _axes(x, axis, "var")
    m = rd.reduce_mean(x, axes, True)
    return rd.reduce_mean(ew.square(ew.subtract(x, m)), axes, keepdims)


def std(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Population standard deviation over `axis`."""
    return ew.sqrt(var(x, axis, keepdims))


def average(x: Any, axis: Any = None, weights: Any = None) -> Tensor:
    """Weighted mean over `axis`; 1-D `weights` apply along `axis`."""
    x = to_tensor(x)
    if weights is None:
        return mean(x, axis)
    w = to_tensor(weights)
    dtype = float_dtype(x, w)
    x, w = cast(x, dtype), cast(w, dtype)
    if axis is not None and w.ndim == 1 and x.ndim > 1:
        ax = one_axis(axis, x.ndim, "average")
        w = mv.reshape(w, [-1 if i == ax else 1 for i in range(x.ndim)])
    axes = _axes(x, axis, "average")
    num = rd.reduce_sum(ew.multiply(x, w), axes)
    den = rd.reduce_sum(ew.multiply(extra_array.fill_like(x, 1), w), axes)
    return ew.divide(num, den)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over `axis`, computed stably."""
    x = to_tensor(x)
    x = cast(x, float_dtype(x))
    axes = _axes(x, axis, "logsumexp")
    m = ew.stop_gradient(rd.reduce_max(x, axes, True))
    # NOTE: the shift by the (constant) maximum keeps exp from overflowing; an all -inf slice
    # gives -inf, not NaN.
    m = ew.where(ew.is_finite(m), m, extra_array.fill_like(m, 0))
    out = ew.add(ew.log(rd.reduce_sum(ew.exp(ew.subtract(x, m)), axes, True)), m)
    return out if keepdims else (mv.squeeze(out, list(axes)) if axes is not None else mv.reshape(out, []))


def cumsum(x: Any, axis: Any = None, dtype: Any = None) -> Tensor:
    """Cumulative sum along `axis` (of the flattened input when None)."""
    x = to_tensor(x)
    target = standardize_dtype(dtype) if dtype is not None else (
        "int32" if x.dtype.name == "bool" else x.dtype.name)
    x = cast(x, target)
    if axis is None:
        x, axis = mv.reshape(x, [-1]), 0
    return rd.cumsum(x, one_axis(axis, x.ndim, "cumsum"))


def cumprod(x: Any, axis: Any = None, dtype: Any = None) -> Tensor:
    """Cumulative product along `axis` (of the flattened input when None)."""
    x = to_tensor(x)
    target = standardize_dtype(dtype) if dtype is not None else (
        "int32" if x.dtype.name == "bool" else x.dtype.name)
    x = cast(x, target)
    if axis is None:
        x, axis = mv.reshape(x, [-1]), 0
    return extra.Cumprod(one_axis(axis, x.ndim, "cumprod"))(x)


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Tensor:
    """Integral of y by the trapezoidal rule along `axis`, at sample points `x` or spacing `dx`."""
    y = to_tensor(y)
    y = cast(y, float_dtype(y))
    ax = one_axis(axis, y.ndim, "trapezoid")
    n = y.shape[ax]
    lo = mv.getitem(y, (slice(None),) * ax + (slice(0, n - 1),))
    hi = mv.getitem(y, (slice(None),) * ax + (slice(1, n),))
    mid = ew.multiply(ew.add(lo, hi), 0.5)
    if x is None:
        return ew.multiply(rd.reduce_sum(mid, ax), float(dx))
    xs = cast(to_tensor(x), y.dtype.name)
    if xs.ndim == 1:
        d = ew.subtract(xs[1:], xs[:-1])
        d = mv.reshape(d, [-1 if i == ax else 1 for i in range(y.ndim)])
    else:
        m = xs.shape[ax]
        d = ew.subtract(mv.getitem(xs, (slice(None),) * ax + (slice(1, m),)),
                        mv.getitem(xs, (slice(None),) * ax + (slice(0, m - 1),)))
    return rd.reduce_sum(ew.multiply(mid, d), ax)


# -- quantiles --------------------------------------------------------------------------------

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x: Any, q: Any, axis: Any, method: str, keepdims: bool, op: str,
              ignore_nan: bool = False) -> Tensor:
    if method not in _METHODS:
        raise ValueError(f"{op}: method must be one of {_METHODS}, received {method!r}.")
    x = to_tensor(x)
    x = cast(x, float_dtype(x))
    qt = to_tensor(q, x.dtype.name)
    qv = qt.numpy() if qt._value is not None else np.zeros(())  # graph q: not checked
    if np.any((qv < 0) | (qv > 1)):
        raise ValueError(f"{op}: q must lie in [0, 1] (percentiles in [0, 100]), received {qv}.")
    nd = x.ndim
    axes = list(range(nd)) if axis is None else axis_list(axis, nd, op)
    keep = [i for i in range(nd) if i not in axes]
    # Move the reduced axes last and merge them: (..kept.., n).
    moved = mv.transpose(x, keep + axes) if nd else x
    kept_shape = [x.shape[i] for i in keep]
    n_total = int(np.prod([x.shape[i] for i in axes]))
    # NOTE: an unknown kept dimension (a Keras input's batch) becomes the one -1.
    flat = mv.reshape(moved, [-1 if d is None else d for d in kept_shape] + [n_total])
    from tapeflow.keras.ops.numpy_sort import sort

    srt = sort(flat, axis=-1)  # NaNs sort last
    if ignore_nan:
        count = rd.reduce_sum(cast(ew.logical_not(ew.is_nan(flat)), x.dtype.name), -1, True)
    else:
        count = constant_like(np.full([1] * len(kept_shape) + [1], n_total), x)
    qs = qt if qt.ndim else mv.reshape(qt, [1])
    q_b = mv.reshape(qs, [-1] + [1] * len(kept_shape) + [1])  # (nq, ..., 1)
    pos = ew.multiply(q_b, ew.subtract(count, 1.0))
    lo = ew.floor(pos)
    hi = ew.ceil(pos)
    if method == "lower":
        hi = lo
    elif method == "higher":
        lo = hi
    elif method == "nearest":
        lo = hi = ew.round(pos)
    srt_b = mv.expand_dims(srt, 0)  # broadcast against the q axis by the gather
    limit = float(builtins.max(n_total - 1, 0))
    lo_i = cast(ew.clip_by_value(lo, 0.0, limit), "int64")
    hi_i = cast(ew.clip_by_value(hi, 0.0, limit), "int64")
    from tapeflow.keras.ops.numpy_index import take_along_axis

    v_lo = take_along_axis(srt_b, lo_i, -1)
    v_hi = take_along_axis(srt_b, hi_i, -1)
    if method == "midpoint":
        out = ew.multiply(ew.add(v_lo, v_hi), 0.5)
    else:
        frac = ew.subtract(pos, lo)
        out = ew.add(v_lo, ew.multiply(ew.subtract(v_hi, v_lo), frac))
    out = mv.squeeze(out, [-1])  # (nq, ...kept)
    if not ignore_nan:
        has_nan = rd.reduce_any(ew.is_nan(flat), -1)
        out = ew.where(has_nan, constant_like(np.nan, out), out)
    if keepdims:
        shape = [1 if i in axes else (-1 if x.shape[i] is None else x.shape[i]) for i in range(nd)]
        out = mv.reshape(out, [qs.shape[0]] + shape)
    if qt.ndim == 0:
        out = mv.squeeze(out, [0])
    return out


@lifted_on_unknown_shapes
def quantile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """The q-th quantiles (q in [0, 1]) over `axis`; several q give a leading axis."""
    return _quantile(x, q, axis, method, keepdims, "quantile")


@lifted_on_unknown_shapes
def percentile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """The q-th percentiles (q in [0, 100]) over `axis`."""
    return _quantile(x, ew.divide(to_tensor(q, "float64"), 100.0), axis, method, keepdims, "percentile")


@lifted_on_unknown_shapes
def median(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The median over `axis` (the mean of the two middle values for even counts)."""
    return _quantile(x, 0.5, axis, "linear", keepdims, "median")


@lifted_on_unknown_shapes
def nanquantile(x: Any, q: Any, axis: Any = None, method: str = "linear",
                keepdims: bool = False) -> Tensor:
    """`quantile` ignoring NaNs."""
    return _quantile(x, q, axis, method, keepdims, "nanquantile", ignore_nan=True)


@lifted_on_unknown_shapes
def nanpercentile(x: Any, q: Any, axis: Any = None, method: str = "linear",
                  keepdims: bool = False) -> Tensor:
    """`percentile` ignoring NaNs."""
    return _quantile(x, ew.divide(to_tensor(q, "float64"), 100.0), axis, method, keepdims,
                     "nanpercentile", ignore_nan=True)


@lifted_on_unknown_shapes
def nanmedian(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """`median` ignoring NaNs."""
    return _quantile(x, 0.5, axis, "linear", keepdims, "nanmedian", ignore_nan=True)


# -- NaN-ignoring reductions ------------------------------------------------------------------

def _nan_filled(x: Any, fill: float) -> tuple[Tensor, Tensor]:
    x = to_tensor(x)
    if not x.dtype.is_floating:
        return x, extra_array.fill_like(x, 0, "bool")
    nan = ew.is_nan(x)
    return ew.where(nan, constant_like(fill, x), x), nan


def nansum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """`sum` treating NaNs as zero."""
    return sum(_nan_filled(x, 0.0)[0], axis, keepdims)


def nanprod(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """`prod` treating NaNs as one."""
    return prod(_nan_filled(x, 1.0)[0], axis, keepdims)


def nancumsum(x: Any, axis: Any = None, dtype: Any = None) -> Tensor:
    """`cumsum` treating NaNs as zero."""
    return cumsum(_nan_filled(x, 0.0)[0], axis, dtype)


def nancumprod(x: Any, axis: Any = None, dtype: Any = None) -> Tensor:
    """`cumprod` treating NaNs as one."""
    return cumprod(_nan_filled(x, 1.0)[0], axis, dtype)


def nanmean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The mean of the non-NaN values (NaN where a slice has none)."""
    x = to_tensor(x)
    x = cast(x, float_dtype(x))
    filled, nan = _nan_filled(x, 0.0)
    count = sum(ew.logical_not(nan), axis, keepdims)
    return ew.divide(sum(filled, axis, keepdims), cast(count, x.dtype.name))


def nanvar(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The variance of the non-NaN values."""
    x = to_tensor(x)
    x = cast(x, float_dtype(x))
    m = nanmean(x, axis, True)
    return nanmean(ew.square(ew.subtract(x, m)), axis, keepdims)


def nanstd(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The standard deviation of the non-NaN values."""
    return ew.sqrt(nanvar(x, axis, keepdims))


def _nan_extreme(x: Any, axis: Any, keepdims: bool, mode: str) -> Tensor:
    x = to_tensor(x)
    if not x.dtype.is_floating:
        return _extreme(x, axis, keepdims, None, mode)
    fill = -np.inf if mode == "max" else np.inf
    filled, nan = _nan_filled(x, fill)
    out = _extreme(filled, axis, keepdims, None, mode)
    all_nan = rd.reduce_all(nan, _axes(x, axis, "nan" + mode), keepdims)
    return ew.where(all_nan, constant_like(np.nan, out), out)


def nanmax(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The largest non-NaN value (NaN where a slice is all NaN)."""
    return _nan_extreme(x, axis, keepdims, "max")


def nanmin(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The smallest non-NaN value (NaN where a slice is all NaN)."""
    return _nan_extreme(x, axis, keepdims, "min")


def nanargmax(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """`argmax` ignoring NaNs."""
    return argmax(_nan_filled(x, -np.inf)[0], axis, keepdims)


def nanargmin(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """`argmin` ignoring NaNs."""
    return argmin(_nan_filled(x, np.inf)[0], axis, keepdims)

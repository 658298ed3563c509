"""The rest of `tf.math`: inverse trig and hyperbolic functions, special functions, safe
products and logs, complex parts, segment reductions, counting and ordering helpers.

Composites of engine primitives (`ops.elementwise`, `ops.extra`, `ops.special`); segment
reductions reuse `keras.ops`' scatter-based ones and add TF's empty-segment values.
"""

from __future__ import annotations

import math as _pymath
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.dtypes import is_inexact_np
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra, extra_array
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.ops.special import Special
from tapeflow.tensor import Tensor, convert_to_tensor
from tapeflow.tracing.func_graph import lifted_on_graph_tensors


def _float(x: Any, op: str) -> Tensor:
    return ew._float_operand(x, op)


def _unary(fname: str, op: str) -> Any:
    def f(x: Any, name: Any = None) -> Tensor:
        return extra.unary_math(fname, _float(x, op))

    f.__name__ = op.lower()
    f.__doc__ = f"Elementwise {fname} of a float tensor, differentiable."
    return f


acos = _unary("arccos", "Acos")
asin = _unary("arcsin", "Asin")
atan = _unary("arctan", "Atan")
acosh = _unary("arccosh", "Acosh")
asinh = _unary("arcsinh", "Asinh")
atanh = _unary("arctanh", "Atanh")
sinh = _unary("sinh", "Sinh")
cosh = _unary("cosh", "Cosh")
bessel_i0 = _unary("i0", "BesselI0")
bessel_i1 = _unary("i1", "BesselI1")
erfinv = _unary("erfinv", "Erfinv")


def atan2(y: Any, x: Any, name: Any = None) -> Tensor:
    """The angle of the point (x, y) in (-pi, pi], elementwise with broadcasting."""
    y, x = ew.binary_operands(y, x, "Atan2")
    return extra.Arctan2()(y, x)


def bessel_i0e(x: Any, name: Any = None) -> Tensor:
    """exp(-|x|) I0(x): the exponentially scaled modified Bessel function of order 0."""
    x = _float(x, "BesselI0e")
    return ew.multiply(ew.exp(ew.negative(ew.abs(x))), bessel_i0(x))


def bessel_i1e(x: Any, name: Any = None) -> Tensor:
    """exp(-|x|) I1(x): the exponentially scaled modified Bessel function of order 1."""
    x = _float(x, "BesselI1e")
    return ew.multiply(ew.exp(ew.negative(ew.abs(x))), bessel_i1(x))


def erfc(x: Any, name: Any = None) -> Tensor:
    """1 - erf(x)."""
    x = _float(x, "Erfc")
    return ew.subtract(ew.ones_like_t(x), ew.erf(x))


def erfcinv(x: Any, name: Any = None) -> Tensor:
    """The inverse of erfc on (0, 2): erfinv(1 - x)."""
    x = _float(x, "Erfcinv")
    return erfinv(ew.subtract(ew.ones_like_t(x), x))


def ndtri(x: Any, name: Any = None) -> Tensor:
    """The standard normal quantile function: sqrt(2) erfinv(2x - 1)."""
    x = _float(x, "Ndtri")
    return ew.multiply(erfinv(ew.subtract(ew.multiply(x, 2.0), 1.0)), _pymath.sqrt(2.0))


def lgamma(x: Any, name: Any = None) -> Tensor:
    """log|Gamma(x)| elementwise; the gradient is digamma(x)."""
    return Special("lgamma")(_float(x, "Lgamma"))


def digamma(x: Any, name: Any = None) -> Tensor:
    """psi(x), the derivative of lgamma; the gradient is polygamma(1, x)."""
    return Special("digamma")(_float(x, "Digamma"))


def polygamma(a: Any, x: Any, name: Any = None) -> Tensor:
    """The a-th derivative of digamma (a a non-negative integer-valued float tensor)."""
    a, x = ew.binary_operands(a, x, "Polygamma")
    return Special("polygamma")(a, x)


def zeta(x: Any, q: Any, name: Any = None) -> Tensor:
    """The Hurwitz zeta function sum_k (k + q)^-x; differentiable in q."""
    x, q = ew.binary_operands(x, q, "Zeta")
    return Special("zeta")(x, q)


def igamma(a: Any, x: Any, name: Any = None) -> Tensor:
    """The regularized lower incomplete gamma function P(a, x); differentiable in x."""
    a, x = ew.binary_operands(a, x, "Igamma")
    return Special("igamma")(a, x)


def igammac(a: Any, x: Any, name: Any = None) -> Tensor:
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    p = igamma(a, x)
    return ew.subtract(ew.ones_like_t(p), p)


def betainc(a: Any, b: Any, x: Any, name: Any = None) -> Tensor:
    """The regularized incomplete beta function I_x(a, b); differentiable in x."""
    a, x = ew.binary_operands(a, x, "Betainc")
    b, x = ew.binary_operands(b, x, "Betainc")
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape), tuple(x.shape))
    return Special("betainc")(mv.broadcast_to(a, shape), mv.broadcast_to(b, shape), mv.broadcast_to(x, shape))


def lbeta(x: Any, name: Any = None) -> Tensor:
    """log |B(x)| over the last axis: sum(lgamma(x)) - lgamma(sum(x))."""
    x = _float(x, "Lbeta")
    return ew.subtract(rd.reduce_sum(lgamma(x), -1), lgamma(rd.reduce_sum(x, -1)))


# -- safe products, logs and divisions ---------------------------------------------------------

def multiply_no_nan(x: Any, y: Any, name: Any = None) -> Tensor:
    """x * y, with 0 wherever y == 0 (even where x is NaN or Inf)."""
    x, y = ew.binary_operands(x, y, "MulNoNan")
    zero = ew.equal(y, 0)
    prod = ew.multiply(ew.where(zero, ew.zeros_like_t(x), x), y)
    return ew.where(zero, ew.zeros_like_t(prod), prod)


def reciprocal_no_nan(x: Any, name: Any = None) -> Tensor:
    """1 / x, with 0 where x == 0."""
    x = _float(x, "ReciprocalNoNan")
    return ew.div_no_nan(ew.ones_like_t(x), x)


def _x_times(x: Any, y: Any, op: str, f: Any) -> Tensor:
    x, y = ew.binary_operands(x, y, op)
    if not is_inexact_np(x.dtype._np):
        raise TypeError(f"{op}: expected float tensors, received dtype {x.dtype.name}.")
    zero = ew.equal(x, 0)
    safe_y = ew.where(zero, ew.ones_like_t(y), y) if tuple(y.shape) == tuple(zero.shape) else \
        ew.where(zero, ew.ones_like_t(ew.add(x, y)), ew.add(ew.zeros_like_t(x), y))
    out = f(x, safe_y)
    return ew.where(zero, ew.zeros_like_t(out), out)


def xlogy(x: Any, y: Any, name: Any = None) -> Tensor:
    """x * log(y), with 0 where x == 0."""
    return _x_times(x, y, "Xlogy", lambda a, b: ew.multiply(a, ew.log(b)))


def xlog1py(x: Any, y: Any, name: Any = None) -> Tensor:
    """x * log1p(y), with 0 where x == 0."""
    return _x_times(x, y, "Xlog1py", lambda a, b: ew.multiply(a, ew.log1p(b)))


def xdivy(x: Any, y: Any, name: Any = None) -> Tensor:
    """x / y, with 0 where x == 0."""
    return _x_times(x, y, "Xdivy", ew.divide)


def scalar_mul(scalar: Any, x: Any, name: Any = None) -> Tensor:
    """scalar * x for a Python number or rank-0 tensor `scalar`."""
    s = convert_to_tensor(scalar) if not isinstance(scalar, (int, float)) else scalar
    if isinstance(s, Tensor) and len(s.shape) != 0:
        raise ValueError(f"scalar_mul: expected a scalar, received shape {tuple(s.shape)}.")
    return ew.multiply(s, x)


def accumulate_n(inputs: Any, shape: Any = None, tensor_dtype: Any = None, name: Any = None) -> Tensor:
    """The elementwise sum of a list of same-shape tensors (as `tf.add_n`)."""
    return ew.add_n(list(inputs))


def truncatediv(x: Any, y: Any, name: Any = None) -> Tensor:
    """x / y rounded towards zero (C's integer division); no gradient."""
    x, y = ew.binary_operands(x, y, "TruncateDiv")

    def div(xp: Any, a: Any, b: Any) -> Any:
        if a.dtype.kind in "iu":
            if (b == 0).any():
                from tapeflow.errors import InvalidArgumentError

                raise InvalidArgumentError("TruncateDiv: Integer division by zero")
            q = xp.abs(a) // xp.abs(b)
            return (q * xp.sign(a) * xp.sign(b)).astype(a.dtype)
        return xp.trunc(a / b)

    return extra_array.ArrayFunction("TruncateDiv", div)(x, y)


def truncatemod(x: Any, y: Any, name: Any = None) -> Tensor:
    """The remainder of truncated division, with the sign of x (C's fmod); differentiable for floats."""
    x, y = ew.binary_operands(x, y, "TruncateMod")
    if x.dtype._np.kind in "iu":
        return ew.NonDifferentiable("fmod")(x, y)
    return extra.Fmod()(x, y)


def rint(x: Any, name: Any = None) -> Tensor:
    """Round to the nearest integer, halves to even (no gradient through the steps)."""
    return ew.ZeroGradUnary("rint")(_float(x, "Rint"))


def nextafter(x1: Any, x2: Any, name: Any = None) -> Tensor:
    """The next representable float after x1 in the direction of x2."""
    x1, x2 = ew.binary_operands(x1, x2, "NextAfter")
    return ew.NonDifferentiable("nextafter")(x1, x2)


def polyval(coeffs: Any, x: Any, name: Any = None) -> Tensor:
    """coeffs[0] x^(n-1) + ... + coeffs[n-1] by Horner's rule (`coeffs` a list of tensors)."""
    x = ew.unary_operand(x, "Polyval")
    coeffs = list(coeffs.numpy() if isinstance(coeffs, Tensor) else coeffs)
    if not coeffs:
        return ew.zeros_like_t(x)
    out = ew.add(ew.zeros_like_t(x), coeffs[0])
    for c in coeffs[1:]:
        out = ew.add(ew.multiply(out, x), c)
    return out


def cumulative_logsumexp(x: Any, axis: int = 0, exclusive: bool = False, reverse: bool = False,
                         name: Any = None) -> Tensor:
    """log(cumsum(exp(x))) along `axis`, computed stably (shifted by the max)."""
    x = _float(x, "CumulativeLogsumexp")
    m = ew.stop_gradient(rd.reduce_max(x, axis=axis, keepdims=True))
    m = ew.where(ew.is_finite(m), m, ew.zeros_like_t(m))
    s = rd.cumsum(ew.exp(ew.subtract(x, m)), axis=axis, exclusive=exclusive, reverse=reverse)
    return ew.add(ew.log(s), m)


# -- complex parts ----------------------------------------------------------------------------

from tapeflow.ops.complex import conj, imag, real  # noqa: E402, F401 - tf.math's names


def angle(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The argument of each element: atan2(imag, real) (0 or pi for real tensors)."""
    x = ew.unary_operand(input, "Angle")
    if x.dtype.is_complex:
        from tapeflow.ops.complex import Imag, Real

        return atan2(Imag()(x), Real()(x))
    return atan2(ew.zeros_like_t(x), x)


# -- segment reductions ------------------------------------------------------------------------

def _flat_segments(data: Any, segment_ids: Any) -> tuple:
    x = ew.unary_operand(data, "Segment")
    ids = ew.unary_operand(segment_ids, "Segment")
    k = len(ids.shape)
    if tuple(x.shape[:k]) != tuple(ids.shape):
        raise ValueError(f"segment ops: segment_ids shape {tuple(ids.shape)} must be a prefix of data "
                         f"shape {tuple(x.shape)}.")
    if k != 1:
        x = mv.reshape(x, [-1, *x.shape[k:]])
        ids = mv.reshape(ids, [-1])
    return x, ids


def _counts(ids: Tensor, n: int, like: Tensor) -> Tensor:
    from tapeflow.keras.ops.math import segment_sum as ksum

    ones = extra_array.fill_like(ids, 1, like.dtype._np)
    c = ksum(ones, ids, n)
    return mv.reshape(c, [n] + [1] * (len(like.shape) - 1))


def _segment(kind: str, data: Any, segment_ids: Any, num_segments: Any, sorted_ids: bool) -> Tensor:
    from tapeflow.keras.ops import math as km

    x, ids = _flat_segments(data, segment_ids)
    idv = backend.to_numpy(ids._value).astype(np.int64)
    if sorted_ids:
        if idv.size and bool((np.diff(idv) < 0).any()):
            raise_invalid = __import__("tapeflow.errors", fromlist=["InvalidArgumentError"])
            raise raise_invalid.InvalidArgumentError(
                f"segment_{kind}: segment ids are not increasing, received {idv.tolist()}.")
        if idv.size and idv.min() < 0:
            from tapeflow.errors import InvalidArgumentError

            raise InvalidArgumentError(f"segment_{kind}: segment ids must be >= 0, received {idv.tolist()}.")
        n = int(idv.max()) + 1 if idv.size else 0
    else:
        n = int(backend.to_numpy(convert_to_tensor(num_segments)._value))
    if kind in ("sum", "mean", "sqrt_n"):
        out = km.segment_sum(x, ids, n)
        if kind != "sum":
            cnt = _counts(ids, n, out)
            den = cnt if kind == "mean" else ew.sqrt(cnt)
            out = ew.div_no_nan(out, den) if out.dtype.is_floating else ew.floordiv(
                out, ew.maximum(den, ew.ones_like_t(den)))
        return out
    out = getattr(km, "segment_" + kind)(x, ids, n)
    if sorted_ids and kind in ("max", "min"):  # TF's sorted segment ops give 0 for empty segments
        cnt = _counts(ids, n, out)
        out = ew.where(ew.equal(mv.broadcast_to(cnt, out.shape), 0), ew.zeros_like_t(out), out)
    return out


def _segment_fn(kind: str, sorted_ids: bool) -> Any:
    if sorted_ids:
        def f(data: Any, segment_ids: Any, name: Any = None) -> Tensor:
            return _segment(kind, data, segment_ids, None, True)
        f.__name__ = f"segment_{kind}"
        f.__doc__ = (f"The {kind} of `data`'s rows per segment; ids sorted, >= 0; output rows = max id + 1, "
                     "empty segments 0 (1 for prod).")
    else:
        def f(data: Any, segment_ids: Any, num_segments: Any, name: Any = None) -> Tensor:
            return _segment(kind, data, segment_ids, num_segments, False)
        f.__name__ = f"unsorted_segment_{kind}"
        f.__doc__ = (f"The {kind} of `data`'s slices per segment id (any order, ids may span leading "
                     "axes); negative ids are dropped.")
    return lifted_on_graph_tensors(f)


segment_sum = _segment_fn("sum", True)
segment_mean = _segment_fn("mean", True)
segment_max = _segment_fn("max", True)
segment_min = _segment_fn("min", True)
segment_prod = _segment_fn("prod", True)
unsorted_segment_sum = _segment_fn("sum", False)
unsorted_segment_mean = _segment_fn("mean", False)
unsorted_segment_sqrt_n = _segment_fn("sqrt_n", False)
unsorted_segment_max = _segment_fn("max", False)
unsorted_segment_min = _segment_fn("min", False)
unsorted_segment_prod = _segment_fn("prod", False)


# -- counting and ordering ---------------------------------------------------------------------

def _host(x: Any) -> np.ndarray:
    return backend.to_numpy(ew.unary_operand(x, "host")._value)


def bincount(arr: Any, weights: Any = None, minlength: Any = None, maxlength: Any = None,
             dtype: Any = _dt.int32, name: Any = None, axis: Any = None, binary_output: bool = False) -> Tensor:
    """Counts (or summed `weights`) of each value of the non-negative int tensor `arr`.

    axis=None counts over all of `arr`; axis=-1 counts per row of a 2-D `arr`. The length is
    max(arr) + 1, at least `minlength`, at most `maxlength`; `binary_output` gives 1 for present values.
    """
    a = ew.unary_operand(arr, "Bincount")
    v = backend.to_numpy(a._value).astype(np.int64)
    if v.size and v.min() < 0:
        from tapeflow.errors import InvalidArgumentError

        raise InvalidArgumentError(f"Bincount: values must be non-negative, received {v.min()}.")
    n = int(v.max()) + 1 if v.size else 0
    if minlength is not None:
        n = max(n, int(minlength))
    if maxlength is not None:
        n = min(n, int(maxlength))
    w = None if weights is None else ew.unary_operand(weights, "Bincount")
    out_dtype = _dt.as_dtype(dtype) if w is None else w.dtype
    if axis not in (None, 0, -1):
        raise ValueError(f"bincount: axis must be None, 0 or -1, received {axis}.")
    rows = v.reshape(1, -1) if axis in (None, 0) else v.reshape(v.shape[0], -1)
    keep = rows < n
    r_idx = np.broadcast_to(np.arange(rows.shape[0])[:, None], rows.shape)[keep]
    idx = np.stack([r_idx, rows[keep]], axis=-1)
    from tapeflow.ops.extra_scatter import ScatterAdd

    xp = backend.get_xp(a._value)
    if w is None or binary_output:
        ones = Tensor(xp.ones(int(keep.sum()), dtype=out_dtype._np))
        out = ScatterAdd(xp.asarray(idx), (rows.shape[0], n))(ones)
        if binary_output:
            out = ew.cast(ew.greater(out, 0), out_dtype)
    else:
        wv = mv.reshape(w, [rows.shape[0], -1]) if axis == -1 else mv.reshape(w, [1, -1])
        wv = mv.gather_nd(wv, Tensor(xp.asarray(np.argwhere(keep))))
        out = ScatterAdd(xp.asarray(idx), (rows.shape[0], n))(wv)
    return out if axis == -1 else mv.reshape(out, [n])


def confusion_matrix(labels: Any, predictions: Any, num_classes: Any = None, weights: Any = None,
                     dtype: Any = _dt.int32, name: Any = None) -> Tensor:
    """The (num_classes, num_classes) matrix counting (label, prediction) pairs (rows: labels)."""
    lab = _host(labels).astype(np.int64).reshape(-1)
    pred = _host(predictions).astype(np.int64).reshape(-1)
    if lab.shape != pred.shape:
        raise ValueError(f"confusion_matrix: labels {lab.shape} and predictions {pred.shape} differ in size.")
    if (lab.size and lab.min() < 0) or (pred.size and pred.min() < 0):
        from tapeflow.errors import InvalidArgumentError

        raise InvalidArgumentError("confusion_matrix: labels and predictions must be non-negative.")
    n = int(num_classes) if num_classes is not None else int(max(lab.max(initial=-1), pred.max(initial=-1)) + 1)
    if (lab.size and lab.max() >= n) or (pred.size and pred.max() >= n):
        from tapeflow.errors import InvalidArgumentError

        raise InvalidArgumentError(f"confusion_matrix: labels and predictions must be < num_classes={n}.")
    from tapeflow.ops.extra_scatter import ScatterAdd

    d = _dt.as_dtype(dtype)
    w = (Tensor(np.ones(lab.shape, d._np)) if weights is None
         else ew.cast(mv.reshape(ew.unary_operand(weights, "ConfusionMatrix"), [-1]), d))
    return ScatterAdd(np.stack([lab, pred], -1), (n, n))(w)


def invert_permutation(x: Any, name: Any = None) -> Tensor:
    """y with y[x[i]] = i for a 1-D permutation `x`."""
    t = ew.unary_operand(x, "InvertPermutation")

    def inv(xp: Any, p: Any) -> Any:
        if p.ndim != 1 or sorted(backend.to_numpy(p).tolist()) != list(range(p.shape[0])):
            from tapeflow.errors import InvalidArgumentError

            raise InvalidArgumentError(f"InvertPermutation: expected a permutation of 0..n-1, received {p}.")
        out = xp.empty_like(p)
        out[p] = xp.arange(p.shape[0], dtype=p.dtype)
        return out

    return extra_array.ArrayFunction("InvertPermutation", inv)(t)


def is_non_decreasing(x: Any, name: Any = None) -> Tensor:
    """Whether the flattened `x` never decreases (a scalar bool)."""
    v = mv.reshape(ew.unary_operand(x, "IsNonDecreasing"), [-1])
    return rd.reduce_all(ew.less_equal(v[:-1], v[1:]))


def is_strictly_increasing(x: Any, name: Any = None) -> Tensor:
    """Whether the flattened `x` strictly increases (a scalar bool)."""
    v = mv.reshape(ew.unary_operand(x, "IsStrictlyIncreasing"), [-1])
    return rd.reduce_all(ew.less(v[:-1], v[1:]))


def zero_fraction(value: Any, name: Any = None) -> Tensor:
    """The fraction of zeros in `value` (a float32 scalar)."""
    v = ew.unary_operand(value, "ZeroFraction")
    return rd.reduce_mean(ew.cast(ew.equal(v, 0), _dt.float32))


def in_top_k(targets: Any, predictions: Any, k: int, name: Any = None) -> Tensor:
    """Whether each row's target class is among its k largest `predictions` (ties count)."""
    from tapeflow.keras.ops.math import in_top_k as kin

    return kin(targets, predictions, k)


def _approx_k(operand: Any, k: int, reduction_dimension: int, largest: bool) -> tuple:
    x = ew.unary_operand(operand, "ApproxTopK")
    nd = len(x.shape)
    axis = reduction_dimension % nd
    perm = [i for i in range(nd) if i != axis] + [axis]
    xt = mv.transpose(x, perm) if axis != nd - 1 else x
    res = mv.top_k(xt if largest else ew.negative(xt), k=k)
    values, indices = res.values if largest else ew.negative(res.values), res.indices
    if axis != nd - 1:
        back = list(np.argsort(perm))
        values, indices = mv.transpose(values, back), mv.transpose(indices, back)
    return values, indices


def approx_max_k(operand: Any, k: int, reduction_dimension: int = -1, recall_target: float = 0.95,
                 reduction_input_size_override: int = -1, aggregate_to_topk: bool = True,
                 name: Any = None) -> tuple:
    """(values, indices) of the k largest entries along `reduction_dimension`; computed exactly
    (recall 1, which meets any `recall_target`)."""
    return _approx_k(operand, k, reduction_dimension, True)


def approx_min_k(operand: Any, k: int, reduction_dimension: int = -1, recall_target: float = 0.95,
                 reduction_input_size_override: int = -1, aggregate_to_topk: bool = True,
                 name: Any = None) -> tuple:
    """(values, indices) of the k smallest entries along `reduction_dimension`, computed exactly."""
    return _approx_k(operand, k, reduction_dimension, False)

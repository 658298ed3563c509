"""`keras.ops` elementwise math: arithmetic, powers and logs, trigonometry, rounding.

Comparisons, predicates, bitwise and complex helpers are in `numpy_logic`.

Every function converts with Keras's rules and promotes its operands with `result_type`; float
functions of integer inputs compute in `floatx()`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.keras.ops.arguments import (
    cast,
    constant_like,
    float_dtype,
    is_python_number,
    promote,
    strong,
    to_float,
    to_tensor,
    wide_float_dtype,
)
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra, extra_array
from tapeflow.tensor import Tensor

# -- arithmetic --------------------------------------------------------------------------------

def add(x1: Any, x2: Any) -> Tensor:
    """x1 + x2 elementwise with broadcasting; bool inputs give a logical or."""
    a, b = promote(x1, x2)
    if a.dtype.name == "bool":
        return ew.logical_or(a, b)
    return ew.add(a, b)


def subtract(x1: Any, x2: Any) -> Tensor:
    """x1 - x2 elementwise with broadcasting."""
    a, b = promote(x1, x2)
    if a.dtype.name == "bool":
        raise TypeError("subtract: boolean subtraction is not supported; use logical_xor.")
    return ew.subtract(a, b)


def multiply(x1: Any, x2: Any) -> Tensor:
    """x1 * x2 elementwise with broadcasting; bool inputs give a logical and."""
    a, b = promote(x1, x2)
    if a.dtype.name == "bool":
        return ew.logical_and(a, b)
    return ew.multiply(a, b)


def divide(x1: Any, x2: Any) -> Tensor:
    """x1 / x2 in floating point (ints divide in floatx)."""
    a, b = promote(x1, x2, dtype=float_dtype(x1, x2))
    return ew.Div()(*ew.binary_operands(a, b, "Div"))


true_divide = divide


def divide_no_nan(x1: Any, x2: Any) -> Tensor:
    """x1 / x2, with 0 wherever x2 == 0."""
    a, b = promote(x1, x2, dtype=float_dtype(x1, x2))
    return ew.div_no_nan(a, b)


def floor_divide(x1: Any, x2: Any) -> Tensor:
    """floor(x1 / x2) elementwise (no gradient)."""
    a, b = promote(x1, x2)
    return ew.floordiv(a, b)


def mod(x1: Any, x2: Any) -> Tensor:
    """Remainder of floor division, with the sign of x2; the gradient flows to x1."""
    a, b = promote(*strong(x1, x2))
    if a.dtype.name == "bool":
        a, b = cast(a, "int32"), cast(b, "int32")
    if a.dtype.is_floating:
        return ew.subtract(a, ew.multiply(ew.stop_gradient(ew.floor(ew.divide(a, b))), b))
    return ew.floormod(a, b)


def fmod(x1: Any, x2: Any) -> Tensor:
    """C's remainder (sign of x1), like `np.fmod`."""
    a, b = promote(*strong(x1, x2))
    if a.dtype.name == "bool":
        a, b = cast(a, "int32"), cast(b, "int32")
    if a.dtype.is_floating:
        return extra.Fmod()(*ew.binary_operands(a, b, "Fmod"))
    return ew.NonDifferentiable("fmod")(*ew.binary_operands(a, b, "Fmod"))


def power(x1: Any, x2: Any) -> Tensor:
    """x1 ** x2 elementwise."""
    a, b = promote(x1, x2)
    return ew.pow(a, b)


def negative(x: Any) -> Tensor:
    """-x elementwise."""
    return ew.negative(to_tensor(x))


def reciprocal(x: Any) -> Tensor:
    """1 / x."""
    x = to_tensor(x)
    return ew.divide(extra_array.fill_like(x, 1), x)


def square(x: Any) -> Tensor:
    """x * x (bool inputs give int32)."""
    x = to_tensor(x)
    if x.dtype.name == "bool":
        x = cast(x, "int32")
    return ew.square(x)


def sqrt(x: Any) -> Tensor:
    """Square root (integer inputs compute in floatx)."""
    return ew.sqrt(to_float(x))


def rsqrt(x: Any) -> Tensor:
    """1 / sqrt(x)."""
    return ew.rsqrt(to_float(x))


def cbrt(x: Any) -> Tensor:
    """The real cube root (int64 inputs compute in float64, as Keras)."""
    return extra.unary_math("cbrt", to_tensor(x, wide_float_dtype(x)))


def abs(x: Any) -> Tensor:  # noqa: A001 - Keras's name
    """|x| (the modulus for complex inputs)."""
    x = to_tensor(x)
    if x.dtype.name == "bool":
        return x
    return ew.abs(x)


absolute = abs


def fabs(x: Any) -> Tensor:
    """|x| as a float."""
    return ew.abs(to_float(x))


def sign(x: Any) -> Tensor:
    """-1, 0 or 1 by the sign of each element (gradient zero)."""
    return ew.sign(to_tensor(x))


def signbit(x: Any) -> Tensor:
    """Whether the sign bit is set (true for -0.0)."""
    x = to_tensor(x)
    return ew.NonDifferentiable("signbit")(x)


def clip(x: Any, x_min: Any, x_max: Any) -> Tensor:
    """Clamp x to [x_min, x_max]; bool inputs clip as int32. Where x_min > x_max the result is
    x_min, as in Keras (the lower bound is applied last)."""
    x = to_tensor(x)
    if x.dtype.name == "bool":
        x = cast(x, "int32")
    if is_python_number(x_min) and is_python_number(x_max) and x_min <= x_max:
        return ew.clip_by_value(x, *promote(x_min, x_max, dtype=x.dtype.name))
    lo, hi = promote(x_min, x_max, dtype=x.dtype.name)
    return ew.maximum(ew.minimum(x, hi), lo)


def maximum(x1: Any, x2: Any) -> Tensor:
    """Elementwise maximum with broadcasting and promotion."""
    a, b = promote(x1, x2)
    return ew.maximum(a, b)


def minimum(x1: Any, x2: Any) -> Tensor:
    """Elementwise minimum with broadcasting and promotion."""
    a, b = promote(x1, x2)
    return ew.minimum(a, b)


def fmax(x1: Any, x2: Any) -> Tensor:
    """Elementwise maximum that ignores NaNs (a NaN loses to a number)."""
    a, b = promote(x1, x2)
    if not a.dtype.is_floating:
        return ew.maximum(a, b)
    return ew.where(ew.is_nan(b), a, ew.where(ew.is_nan(a), b, ew.maximum(a, b)))


def fmin(x1: Any, x2: Any) -> Tensor:
    """Elementwise minimum that ignores NaNs."""
    a, b = promote(x1, x2)
    if not a.dtype.is_floating:
        return ew.minimum(a, b)
    return ew.where(ew.is_nan(b), a, ew.where(ew.is_nan(a), b, ew.minimum(a, b)))


# -- exponentials and logs ---------------------------------------------------------------------

def exp(x: Any) -> Tensor:
    """e ** x (integer inputs compute in floatx)."""
    return ew.exp(to_float(x))


def exp2(x: Any) -> Tensor:
    """2 ** x."""
    return extra.unary_math("exp2", to_float(x))


def expm1(x: Any) -> Tensor:
    """exp(x) - 1, accurate near zero."""
    return ew.expm1(to_float(x))


def log(x: Any) -> Tensor:
    """Natural logarithm (integer inputs compute in floatx)."""
    return ew.log(to_float(x))


def log2(x: Any) -> Tensor:
    """Base-2 logarithm."""
    return extra.unary_math("log2", to_float(x))


def log10(x: Any) -> Tensor:
    """Base-10 logarithm."""
    return extra.unary_math("log10", to_float(x))


def log1p(x: Any) -> Tensor:
    """log(1 + x), accurate near zero."""
    return ew.log1p(to_float(x))


def logaddexp(x1: Any, x2: Any) -> Tensor:
    """log(exp(x1) + exp(x2)), computed without overflow."""
    x1, x2 = strong(x1, x2)
    a, b = promote(x1, x2, dtype=float_dtype(x1, x2))
    m = ew.maximum(a, b)
    # NOTE: max + log1p(exp(-|a - b|)) never overflows; the gradient of maximum at ties is split
    # correctly by the second term (it contributes 1/2 to each side there).
    return ew.add(m, ew.log1p(ew.exp(ew.negative(ew.abs(ew.subtract(a, b))))))


def logaddexp2(x1: Any, x2: Any) -> Tensor:
    """log2(2**x1 + 2**x2)."""
    x1, x2 = strong(x1, x2)
    a, b = promote(x1, x2, dtype=float_dtype(x1, x2))
    ln2 = math.log(2.0)
    return ew.divide(logaddexp(ew.multiply(a, ln2), ew.multiply(b, ln2)), ln2)


def ldexp(x1: Any, x2: Any) -> Tensor:
    """x1 * 2 ** x2 for integer x2."""
    b = to_tensor(x2)
    if b.dtype.is_floating:
        raise TypeError(f"ldexp: x2 must be an integer tensor, received dtype {b.dtype.name}.")
    a = to_float(x1) if not isinstance(x1, Tensor) or not x1.dtype.is_floating else x1
    return ew.multiply(a, ew.pow(cast(to_tensor(2.0), a.dtype.name), cast(b, a.dtype.name)))


def hypot(x1: Any, x2: Any) -> Tensor:
    """sqrt(x1**2 + x2**2) (int64 inputs compute in float64, as Keras)."""
    x1, x2 = strong(x1, x2)
    a, b = promote(x1, x2, dtype=wide_float_dtype(x1, x2))
    return ew.sqrt(ew.add(ew.square(a), ew.square(b)))


# -- trigonometry -----------------------------------------------------------------------------

def sin(x: Any) -> Tensor:
    """Sine, elementwise."""
    return ew.sin(to_float(x))


def cos(x: Any) -> Tensor:
    """Cosine, elementwise."""
    return ew.cos(to_float(x))


def tan(x: Any) -> Tensor:
    """Tangent, elementwise."""
    return ew.tan(to_float(x))


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    return ew.tanh(to_float(x))


def _unary_math(fname: str, doc: str) -> Any:
    def fn(x: Any) -> Tensor:
        return extra.unary_math(fname, to_float(x))

    fn.__name__ = fname
    fn.__qualname__ = fname
    fn.__doc__ = doc
    return fn


sinh = _unary_math("sinh", "Hyperbolic sine.")
cosh = _unary_math("cosh", "Hyperbolic cosine.")
arcsin = _unary_math("arcsin", "Inverse sine, in [-pi/2, pi/2].")
arccos = _unary_math("arccos", "Inverse cosine, in [0, pi].")
arctan = _unary_math("arctan", "Inverse tangent, in [-pi/2, pi/2].")
arcsinh = _unary_math("arcsinh", "Inverse hyperbolic sine.")
arccosh = _unary_math("arccosh", "Inverse hyperbolic cosine (x >= 1).")
arctanh = _unary_math("arctanh", "Inverse hyperbolic tangent (|x| < 1).")
def i0(x: Any) -> Tensor:
    """The modified Bessel function of the first kind, order 0 (int64 computes in float64)."""
    return extra.unary_math("i0", to_tensor(x, wide_float_dtype(x)))


def arctan2(x1: Any, x2: Any) -> Tensor:
    """The angle of the point (x2, x1), in [-pi, pi]."""
    x1, x2 = strong(x1, x2)
    a, b = promote(x1, x2, dtype=float_dtype(x1, x2))
    return extra.Arctan2()(*ew.binary_operands(a, b, "Arctan2"))


def deg2rad(x: Any) -> Tensor:
    """Degrees to radians (int64 inputs compute in float64, as Keras)."""
    return ew.multiply(to_tensor(x, wide_float_dtype(x)), math.pi / 180.0)


def rad2deg(x: Any) -> Tensor:
    """Radians to degrees (int64 inputs compute in float64, as Keras)."""
    return ew.multiply(to_tensor(x, wide_float_dtype(x)), 180.0 / math.pi)


def sinc(x: Any) -> Tensor:
    """sin(pi x) / (pi x), with sinc(0) = 1."""
    x = to_float(x)
    nz = ew.not_equal(x, 0.0)
    px = ew.multiply(ew.where(nz, x, extra_array.fill_like(x, 1)), math.pi)
    return ew.where(nz, ew.divide(ew.sin(px), px), extra_array.fill_like(x, 1))


# -- rounding ---------------------------------------------------------------------------------

def floor(x: Any) -> Tensor:
    """Round down (integer inputs give floatx, as Keras)."""
    return ew.floor(to_float(x))


def ceil(x: Any) -> Tensor:
    """Round up (integer inputs give floatx, as Keras)."""
    return ew.ceil(to_float(x))


def trunc(x: Any) -> Tensor:
    """Round toward zero (integer inputs are returned unchanged)."""
    x = to_tensor(x)
    if not x.dtype.is_floating:
        return x
    return ew.ZeroGradUnary("trunc")(x)


def round(x: Any, decimals: int = 0) -> Tensor:  # noqa: A001 - Keras's name
    """Round half to even, to `decimals` places."""
    x = to_tensor(x)
    if not x.dtype.is_floating:
        if decimals >= 0:
            return x
        f = 10 ** (-decimals)
        xf = cast(x, "float32")
        return cast(ew.multiply(ew.round(ew.divide(xf, float(f))), float(f)), x.dtype.name)
    if decimals == 0:
        return ew.round(x)
    f = 10.0 ** decimals
    return ew.divide(ew.round(ew.multiply(x, f)), f)


def nan_to_num(x: Any, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Tensor:
    """Replace NaN with `nan` and infinities with `posinf`/`neginf` (the dtype's extremes)."""
    x = to_tensor(x)
    if not x.dtype.is_floating:
        return x
    info = np.finfo(x.dtype.as_numpy_dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    out = ew.where(ew.is_nan(x), constant_like(nan, x), x)
    out = ew.where(ew.logical_and(ew.is_inf(x), ew.greater(x, 0.0)), constant_like(hi, x), out)
    return ew.where(ew.logical_and(ew.is_inf(x), ew.less(x, 0.0)), constant_like(lo, x), out)

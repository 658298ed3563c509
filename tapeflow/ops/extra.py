"""Math primitives added for `keras.ops`: table-driven unary functions, arctan2, fmod, cumprod.

Each derivative is written with Tensor ops, so nested tapes give higher-order gradients. The
linear-algebra primitives are in `extra_linalg`, FFTs in `extra_fft`, scatters in `extra_scatter`,
index and fill helpers in `extra_array`.
"""

from __future__ import annotations

import math
from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.ops import elementwise as ew
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor

get_xp = backend.get_xp

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _erfinv_array(y: Any) -> Any:
    """erfinv on NumPy/CuPy arrays: Giles's single-precision fit, then two Newton steps."""
    xp = get_xp(y)
    if xp is not backend.host:
        import cupyx.scipy.special

        return cupyx.scipy.special.erfinv(y)
    y64 = y.astype("float64")
    # NOTE: M. Giles, "Approximating the erfinv function" (2010), central and tail branches;
    # Newton on erf(x) - y then brings float32's 1e-7 to float64 precision.
    w = -xp.log(xp.maximum((1.0 - y64) * (1.0 + y64), 1e-300))
    wc = w - 2.5
    pc = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        pc = c + pc * wc
    wt = xp.sqrt(xp.maximum(w, 5.0)) - 3.0
    pt = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        pt = c + pt * wt
    x = xp.where(w < 5.0, pc, pt) * y64
    with backend.host.errstate(divide="ignore", invalid="ignore"):  # |y| >= 1 is fixed below
        for _ in range(2):
            err = backend.erf(x) - y64
            x = x - err / (2.0 / math.sqrt(math.pi) * xp.exp(-x * x))
    x = xp.where(xp.abs(y64) == 1.0, xp.copysign(xp.inf, y64), x)
    x = xp.where(xp.abs(y64) > 1.0, xp.nan, x)
    return x.astype(y.dtype, copy=False)


def _i1_array(x: Any) -> Any:
    """The modified Bessel function I1 (the derivative of I0), by its power series."""
    xp = get_xp(x)
    x64 = x.astype("float64")
    half = x64 / 2.0
    term = half.copy()
    total = term.copy()
    q = half * half
    # NOTE: the series sum (x/2)^(2k+1) / (k! (k+1)!) converges for every x; 200 terms reach
    # float64 precision up to |x| ~ 700, where I1 itself overflows.
    for k in range(1, 200):
        term = term * q / (k * (k + 1))
        total = total + term
        if not bool(xp.any(xp.abs(term) > 1e-17 * xp.abs(total))):
            break
    return total.astype(x.dtype, copy=False)


def _unary_forward(fname: str, a: Any) -> Any:
    xp = get_xp(a)
    if fname == "erfinv":
        return _erfinv_array(a)
    if fname == "i1":
        return _i1_array(a)
    if fname == "i0":
        return xp.i0(a).astype(a.dtype, copy=False)
    return getattr(xp, fname)(a)


def _derivative(fname: str, x: Tensor, y: Tensor) -> Tensor:
    """d fname(x) / dx as a Tensor expression of the input x and output y."""
    one = ew.ones_like_t(x)
    if fname == "sinh":
        return unary_math("cosh", x)
    if fname == "cosh":
        return unary_math("sinh", x)
    if fname == "arcsin":
        return ew.rsqrt(ew.subtract(one, ew.square(x)))
    if fname == "arccos":
        return ew.negative(ew.rsqrt(ew.subtract(one, ew.square(x))))
    if fname == "arctan":
        return ew.reciprocal(ew.add(one, ew.square(x)))
    if fname == "arcsinh":
        return ew.rsqrt(ew.add(ew.square(x), one))
    if fname == "arccosh":
        return ew.rsqrt(ew.subtract(ew.square(x), one))
    if fname == "arctanh":
        return ew.reciprocal(ew.subtract(one, ew.square(x)))
    if fname == "cbrt":
        return ew.reciprocal(ew.multiply(ew.square(y), 3.0))
    if fname == "exp2":
        return ew.multiply(y, _LN2)
    if fname == "log2":
        return ew.reciprocal(ew.multiply(x, _LN2))
    if fname == "log10":
        return ew.reciprocal(ew.multiply(x, _LN10))
    if fname == "erfinv":
        return ew.multiply(ew.exp(ew.square(y)), math.sqrt(math.pi) / 2.0)
    if fname == "i0":
        return unary_math("i1", x)
    if fname == "i1":  # I1' = I0 - I1 / x, with I1'(0) = 1/2
        nz = ew.not_equal(x, 0.0)
        safe = ew.where(nz, x, one)
        return ew.where(nz, ew.subtract(unary_math("i0", x), ew.divide(y, safe)),
                        ew.multiply(one, 0.5))
    raise ValueError(f"unary_math: no derivative for {fname!r}")


UNARY_NAMES = ("sinh", "cosh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
               "cbrt", "exp2", "log2", "log10", "erfinv", "i0", "i1")


class UnaryMath(Function):
    """y = f(x) for a float function f of `UNARY_NAMES`; dy/dx from `_derivative`."""

    def __init__(self, fname: str) -> None:
        self.fname = fname

    def forward(self, a: Any) -> Any:
        return _unary_forward(self.fname, a)

    def backward(self, dy: Tensor) -> tuple:
        return (ew.multiply(dy, _derivative(self.fname, self.inputs[0], self.outputs[0])),)


def unary_math(fname: str, x: Tensor) -> Tensor:
    """Apply the float function `fname` (one of `UNARY_NAMES`) elementwise."""
    if fname not in UNARY_NAMES:
        raise ValueError(f"unary_math: unknown function {fname!r}; expected one of {UNARY_NAMES}.")
    return UnaryMath(fname)(x)


class Arctan2(Function):
    """atan2(a, b): the angle of the point (b, a); da = b / r^2, db = -a / r^2."""

    def forward(self, a: Any, b: Any) -> Any:
        return get_xp(a).arctan2(a, b)

    def backward(self, dy: Tensor) -> tuple:
        a, b = self.inputs
        r2 = ew.add(ew.square(a), ew.square(b))
        g = ew.divide(dy, r2)
        na, nb = self.needs_input_grad
        return (ew.multiply(g, b) if na else None), (ew.negative(ew.multiply(g, a)) if nb else None)


class Fmod(Function):
    """C's fmod (the remainder takes the sign of a); da = dy, db = -trunc(a / b) dy."""

    def forward(self, a: Any, b: Any) -> Any:
        return get_xp(a).fmod(a, b)

    def backward(self, dy: Tensor) -> tuple:
        a, b = self.inputs
        q = Tensor(get_xp(a._value).trunc(a._value / b._value))
        na, nb = self.needs_input_grad
        return (dy if na else None), (ew.negative(ew.multiply(dy, q)) if nb else None)


Cumprod = rd.Cumprod  # the running product primitive lives with the running sum

"""Special functions of `tf.math` on arrays (NumPy or CuPy, no SciPy) and their primitives:
lgamma, digamma, Hurwitz zeta / polygamma, regularized incomplete gamma and beta.

Each array function computes in float64 and returns the input's dtype. Derivatives are written
with these same primitives, so higher-order gradients work where TF has them.
"""

from __future__ import annotations

import math
from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.ops import elementwise as ew
from tapeflow.tensor import Tensor

get_xp = backend.get_xp

# NOTE: Lanczos approximation, g = 7, 9 coefficients (about 15 significant digits).
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)
# Bernoulli numbers B_2k / (2k)! terms used by the Euler-Maclaurin sum of the Hurwitz zeta.
_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
           1.8152105401943546773e17, -7.1661652561756670113e18)


def _f64(a: Any) -> Any:
    return a.astype("float64")


def lgamma_array(a: Any) -> Any:
    """log|Gamma(a)| (reflection below 0.5; +inf at the poles)."""
    xp = get_xp(a)
    x = _f64(a)
    small = x < 0.5
    z = xp.where(small, 1.0 - x, x) - 1.0
    acc = xp.full_like(z, _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], start=1):
        acc = acc + c / (z + i)
    t = z + 7.5
    with backend.host.errstate(divide="ignore", invalid="ignore"):
        big = 0.5 * math.log(2 * math.pi) + (z + 0.5) * xp.log(t) - t + xp.log(acc)
        refl = math.log(math.pi) - xp.log(xp.abs(xp.sin(math.pi * x))) - big
    out = xp.where(small, refl, big)
    pole = (x <= 0) & (x == xp.floor(x))
    out = xp.where(pole | xp.isinf(x), xp.inf, out)
    return out.astype(a.dtype, copy=False)


def digamma_array(a: Any) -> Any:
    """psi(a) = d/da log Gamma(a): recurrence up to 6, then the asymptotic series; reflection below 0."""
    xp = get_xp(a)
    x = _f64(a)
    neg = x < 0
    with backend.host.errstate(divide="ignore", invalid="ignore"):
        shift = xp.where(neg, math.pi / xp.tan(math.pi * x), 0.0)
        y = xp.where(neg, 1.0 - x, x)
        acc = xp.zeros_like(y)
        for _ in range(6):
            low = y < 6
            acc = acc - xp.where(low, 1.0 / y, 0.0)
            y = xp.where(low, y + 1.0, y)
        r = 1.0 / (y * y)
        series = xp.log(y) - 0.5 / y - r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r / 132))))
        out = acc + series - shift
    pole = (x <= 0) & (x == xp.floor(x))
    out = xp.where(pole, xp.nan, out)
    return out.astype(a.dtype, copy=False)


def zeta_array(s: Any, q: Any) -> Any:
    """The Hurwitz zeta sum_k (k + q)^-s for s > 1 (Euler-Maclaurin after 9 direct terms); NaN for s < 1."""
    xp = get_xp(s, q)
    s64, q64 = xp.broadcast_arrays(_f64(s), _f64(q))
    with backend.host.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # NOTE: direct terms until every shifted q is above 9 (at least 10 terms, as Cephes).
        lowest = float(q64.min()) if q64.size else 9.0
        n_terms = max(10, int(math.ceil(9.0 - lowest)) + 2) if math.isfinite(lowest) else 10
        total = xp.zeros_like(s64)
        a = q64.copy()
        active = xp.ones(s64.shape, dtype=bool)
        w = q64.copy()
        for i in range(n_terms):
            total = total + xp.where(active, a ** -s64, 0.0)
            w = xp.where(active, a, w)
            a = a + 1.0
            active = active & ((i + 1 < 10) | (a <= 9.0))
        total = total + w ** (1.0 - s64) / (s64 - 1.0) - 0.5 * w ** -s64
        k = xp.zeros_like(s64)
        fac = xp.ones_like(s64)
        ws = w ** -s64
        for j, c in enumerate(_ZETA_A):
            fac = fac * (s64 + k)
            ws = ws / w
            total = total + fac * ws / c
            k = k + 1.0
            fac = fac * (s64 + k)
            ws = ws / w
            k = k + 1.0
            del j
        total = xp.where(s64 == 1.0, xp.inf, total)
        total = xp.where(s64 < 1.0, xp.nan, total)
        total = xp.where((q64 <= 0) & (q64 == xp.floor(q64)), xp.inf, total)
    return total.astype(s.dtype, copy=False)


def polygamma_array(n: Any, x: Any) -> Any:
    """psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x) for integer n >= 1; digamma for n = 0."""
    xp = get_xp(n, x)
    n64, x64 = xp.broadcast_arrays(_f64(n), _f64(x))
    fact = xp.exp(lgamma_array(n64 + 1.0))
    sign = xp.where(xp.fmod(n64, 2.0) == 0, -1.0, 1.0)
    out = sign * fact * zeta_array(n64 + 1.0, x64)
    out = xp.where(n64 == 0, digamma_array(x64), out)
    out = xp.where((n64 < 0) | (n64 != xp.floor(n64)), xp.nan, out)
    return out.astype(x.dtype, copy=False)


def igamma_array(a: Any, x: Any) -> Any:
    """The regularized lower incomplete gamma P(a, x): series for x < a + 1, else 1 - continued fraction."""
    xp = get_xp(a, x)
    a64, x64 = xp.broadcast_arrays(_f64(a), _f64(x))
    with backend.host.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        logpre = a64 * xp.log(x64) - x64 - lgamma_array(a64)
        # series: P = e^logpre / a * sum x^k / ((a+1)...(a+k))
        term = 1.0 / a64
        total = term.copy()
        for k in range(1, 300):
            term = term * x64 / (a64 + k)
            total = total + term
        series = total * xp.exp(logpre)
        # Lentz's continued fraction for Q = 1 - P.
        tiny = 1e-300
        b = x64 + 1.0 - a64
        c = xp.full_like(b, 1.0 / tiny)
        d = 1.0 / xp.where(b == 0, tiny, b)
        h = d.copy()
        for i in range(1, 300):
            an = -i * (i - a64)
            b = b + 2.0
            d = an * d + b
            d = 1.0 / xp.where(xp.abs(d) < tiny, tiny, d)
            c = b + an / xp.where(xp.abs(c) < tiny, tiny, c)
            h = h * d * c
        cf = 1.0 - xp.exp(logpre) * h
        out = xp.where(x64 < a64 + 1.0, series, cf)
        out = xp.where(x64 == 0, 0.0, out)
        out = xp.where(xp.isinf(x64) & (x64 > 0), 1.0, out)
        out = xp.where((a64 <= 0) | (x64 < 0), xp.nan, out)
    return out.astype(x.dtype, copy=False)


def betainc_array(a: Any, b: Any, x: Any) -> Any:
    """The regularized incomplete beta I_x(a, b) by its continued fraction (symmetry above the mean)."""
    xp = get_xp(a, b, x)
    a64, b64, x64 = xp.broadcast_arrays(_f64(a), _f64(b), _f64(x))
    flip = x64 > (a64 + 1.0) / (a64 + b64 + 2.0)
    aa = xp.where(flip, b64, a64)
    bb = xp.where(flip, a64, b64)
    xx = xp.where(flip, 1.0 - x64, x64)
    with backend.host.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        lfront = (lgamma_array(aa + bb) - lgamma_array(aa) - lgamma_array(bb) + aa * xp.log(xx)
                  + bb * xp.log1p(-xx))
        tiny = 1e-300
        c = xp.ones_like(xx)
        d = 1.0 - (aa + bb) * xx / (aa + 1.0)
        d = 1.0 / xp.where(xp.abs(d) < tiny, tiny, d)
        h = d.copy()
        for m in range(1, 300):
            m2 = 2 * m
            for num in (m * (bb - m) * xx / ((aa + m2 - 1.0) * (aa + m2)),
                        -(aa + m) * (aa + bb + m) * xx / ((aa + m2) * (aa + m2 + 1.0))):
                d = 1.0 + num * d
                d = 1.0 / xp.where(xp.abs(d) < tiny, tiny, d)
                c = 1.0 + num / xp.where(xp.abs(c) < tiny, tiny, c)
                h = h * d * c
        val = xp.exp(lfront) * h / aa
        out = xp.where(flip, 1.0 - val, val)
        out = xp.where(x64 == 0, 0.0, xp.where(x64 == 1, 1.0, out))
        out = xp.where((a64 <= 0) | (b64 <= 0) | (x64 < 0) | (x64 > 1), xp.nan, out)
    return out.astype(x.dtype, copy=False)


class Special(Function):
    """One special function of `SPECIAL_NAMES` elementwise (inputs broadcast together)."""

    def __init__(self, fname: str) -> None:
        self.fname = fname

    @property
    def name(self) -> str:
        return {"lgamma": "Lgamma", "digamma": "Digamma", "zeta": "Zeta", "polygamma": "Polygamma",
                "igamma": "Igamma", "betainc": "Betainc"}[self.fname]

    def forward(self, *xs: Any) -> Any:
        return _ARRAYS[self.fname](*xs)

    def backward(self, dy: Tensor) -> tuple:
        f = self.fname
        xs = self.inputs
        need = self.needs_input_grad
        if f == "lgamma":
            return (ew.multiply(dy, Special("digamma")(xs[0])),)
        if f == "digamma":
            return (ew.multiply(dy, Special("polygamma")(ew.ones_like_t(xs[0]), xs[0])),)
        if f == "polygamma":
            n, x = xs
            return None, ew.multiply(dy, Special("polygamma")(ew.add(n, ew.ones_like_t(n)), x))
        if f == "zeta":  # d/dq zeta(s, q) = -s zeta(s + 1, q); no gradient in s (as TF)
            s, q = xs
            g = ew.negative(ew.multiply(s, Special("zeta")(ew.add(s, ew.ones_like_t(s)), q)))
            return None, ew.multiply(dy, g)
        if f == "igamma":  # d/dx P(a, x) = x^(a-1) e^-x / Gamma(a)
            a, x = xs
            if need and need[0]:
                raise ValueError("igamma: the gradient with respect to `a` is not implemented in Tapeflow; "
                                 "only the gradient with respect to `x` is.")
            logd = ew.subtract(ew.subtract(ew.multiply(ew.subtract(a, ew.ones_like_t(a)), ew.log(x)), x),
                               Special("lgamma")(a))
            return None, ew.multiply(dy, ew.exp(logd))
        if f == "betainc":  # d/dx I_x(a, b) = x^(a-1) (1-x)^(b-1) / B(a, b)
            a, b, x = xs
            if need and (need[0] or need[1]):
                raise ValueError("betainc: TF defines only the gradient with respect to `x`.")
            one = ew.ones_like_t(x)
            lg = Special("lgamma")
            logd = ew.add(ew.add(ew.multiply(ew.subtract(a, one), ew.log(x)),
                                 ew.multiply(ew.subtract(b, one), ew.log1p(ew.negative(x)))),
                          ew.subtract(lg(ew.add(a, b)), ew.add(lg(a), lg(b))))
            return None, None, ew.multiply(dy, ew.exp(logd))
        raise ValueError(f"Special: no derivative for {f!r}")


_ARRAYS = {"lgamma": lgamma_array, "digamma": digamma_array, "zeta": zeta_array,
           "polygamma": polygamma_array, "igamma": igamma_array, "betainc": betainc_array}
SPECIAL_NAMES = tuple(_ARRAYS)

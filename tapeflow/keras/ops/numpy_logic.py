"""`keras.ops` comparisons, predicates (isnan, isclose, ...), bitwise and integer ops, and the
complex-number helpers (real, imag, conj, angle)."""

from __future__ import annotations

from typing import Any

from tapeflow.keras.ops.arguments import (
    cast,
    dtype_of,
    float_dtype,
    promote,
    strong,
    to_tensor,
    wide_float_dtype,
    xp_of,
)
from tapeflow.keras.ops.promotion import result_type
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra, extra_array
from tapeflow.tensor import Tensor

# -- comparisons and predicates ---------------------------------------------------------------

def _compare(engine_fn: Any, name: str) -> Any:
    def fn(x1: Any, x2: Any) -> Tensor:
        a, b = promote(x1, x2)
        return engine_fn(a, b)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise `{name}` with broadcasting (a bool tensor)."
    return fn


equal = _compare(ew.equal, "equal")
not_equal = _compare(ew.not_equal, "not_equal")
less = _compare(ew.less, "less")
less_equal = _compare(ew.less_equal, "less_equal")
greater = _compare(ew.greater, "greater")
greater_equal = _compare(ew.greater_equal, "greater_equal")


def _as_bool(x: Any) -> Tensor:
    x = to_tensor(x)
    return x if x.dtype.name == "bool" else ew.not_equal(x, extra_array.fill_like(x, 0))


def logical_and(x1: Any, x2: Any) -> Tensor:
    """Elementwise and of truth values (non-zero is true)."""
    return ew.logical_and(_as_bool(x1), _as_bool(x2))


def logical_or(x1: Any, x2: Any) -> Tensor:
    """Elementwise or of truth values (non-zero is true)."""
    return ew.logical_or(_as_bool(x1), _as_bool(x2))


def logical_xor(x1: Any, x2: Any) -> Tensor:
    """Elementwise xor of truth values (non-zero is true)."""
    return ew.logical_xor(_as_bool(x1), _as_bool(x2))


def logical_not(x: Any) -> Tensor:
    """Elementwise not of truth values (non-zero is true)."""
    return ew.logical_not(_as_bool(x))


def isnan(x: Any) -> Tensor:
    """Whether each element is NaN (false for integers)."""
    x = to_tensor(x)
    return ew.is_nan(x) if x.dtype.is_floating else _false_like(x)


def isinf(x: Any) -> Tensor:
    """Whether each element is +-inf (false for integers)."""
    x = to_tensor(x)
    return ew.is_inf(x) if x.dtype.is_floating else _false_like(x)


def isfinite(x: Any) -> Tensor:
    """Whether each element is finite (true for integers)."""
    x = to_tensor(x)
    return ew.is_finite(x) if x.dtype.is_floating else ew.logical_not(_false_like(x))


def isposinf(x: Any) -> Tensor:
    """Whether each element is +inf."""
    x = to_tensor(x)
    return ew.logical_and(isinf(x), ew.greater(x, extra_array.fill_like(x, 0)))


def isneginf(x: Any) -> Tensor:
    """Whether each element is -inf."""
    x = to_tensor(x)
    return ew.logical_and(isinf(x), ew.less(x, extra_array.fill_like(x, 0)))


def isreal(x: Any) -> Tensor:
    """Whether each element has a zero imaginary part (always true for real dtypes)."""
    x = to_tensor(x)
    if x.dtype.is_complex:
        return Tensor(xp_of(x).imag(x._value) == 0)
    return ew.logical_not(_false_like(x))


def _false_like(x: Tensor) -> Tensor:
    return extra_array.fill_like(x, 0, "bool")


def isclose(x1: Any, x2: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|x1 - x2| <= atol + rtol |x2| elementwise."""
    a, b = promote(x1, x2)
    if not a.dtype.is_floating:
        a, b = cast(a, float_dtype(a)), cast(b, float_dtype(a))
    out = ew.less_equal(ew.abs(ew.subtract(a, b)), ew.add(ew.multiply(ew.abs(b), float(rtol)), float(atol)))
    out = ew.logical_or(out, ew.equal(a, b))  # equal infinities
    if equal_nan:
        out = ew.logical_or(out, ew.logical_and(ew.is_nan(a), ew.is_nan(b)))
    return out


def allclose(x1: Any, x2: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> Tensor:
    """Whether `isclose` holds everywhere (a scalar bool tensor)."""
    from tapeflow.ops import reduce as rd

    return rd.reduce_all(isclose(x1, x2, rtol, atol, equal_nan))


def heaviside(x1: Any, x2: Any) -> Tensor:
    """0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0 (int64 computes in float64)."""
    x1, x2 = strong(x1, x2)
    a, b = promote(x1, x2, dtype=wide_float_dtype(x1, x2))
    one = extra_array.fill_like(a, 1)
    return ew.where(ew.less(a, 0.0), extra_array.fill_like(a, 0),
                    ew.where(ew.greater(a, 0.0), one, ew.multiply(one, b)))


def nextafter(x1: Any, x2: Any) -> Tensor:
    """The next float after x1 toward x2."""
    x1, x2 = strong(x1, x2)
    dtype = result_type(dtype_of(x1), dtype_of(x2), float)
    a, b = promote(x1, x2, dtype=dtype)
    return ew.NonDifferentiable("nextafter")(a, b)


# -- integer and bitwise ----------------------------------------------------------------------

def _int_binary(fname: str, name: str, doc: str, weak: bool = False) -> Any:
    def fn(x: Any, y: Any) -> Tensor:
        a, b = promote(x, y) if weak else promote(*strong(x, y))
        if a.dtype.is_floating or a.dtype.is_complex:
            raise TypeError(f"{name}: expected integer or bool tensors, received dtype "
                            f"{a.dtype.name}.")
        return ew.NonDifferentiable(fname)(a, b)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


bitwise_and = _int_binary("bitwise_and", "bitwise_and", "Bitwise and of integers.")
bitwise_or = _int_binary("bitwise_or", "bitwise_or", "Bitwise or of integers.")
bitwise_xor = _int_binary("bitwise_xor", "bitwise_xor", "Bitwise xor of integers.")
bitwise_left_shift = _int_binary("left_shift", "bitwise_left_shift", "x << y.", weak=True)
bitwise_right_shift = _int_binary("right_shift", "bitwise_right_shift", "x >> y.", weak=True)
left_shift = bitwise_left_shift
right_shift = bitwise_right_shift
_gcd = _int_binary("gcd", "gcd", "Greatest common divisor of integers.")
_lcm = _int_binary("lcm", "lcm", "Least common multiple of integers.")


def gcd(x1: Any, x2: Any) -> Tensor:
    """Greatest common divisor of integers, elementwise."""
    return _gcd(x1, x2)


def lcm(x1: Any, x2: Any) -> Tensor:
    """Least common multiple of integers, elementwise."""
    return _lcm(x1, x2)


def bitwise_invert(x: Any) -> Tensor:
    """~x for integers (logical not for bools)."""
    x = to_tensor(x)
    if x.dtype.is_floating:
        raise TypeError(f"bitwise_invert: expected an integer or bool tensor, received {x.dtype.name}.")
    return ew.bitwise_invert(x)


bitwise_not = bitwise_invert


# -- complex numbers --------------------------------------------------------------------------

def real(x: Any) -> Tensor:
    """The real part (real inputs unchanged)."""
    x = to_tensor(x)
    return Tensor(xp_of(x).real(x._value)) if x.dtype.is_complex else x


def imag(x: Any) -> Tensor:
    """The imaginary part (zeros for real inputs)."""
    x = to_tensor(x)
    if x.dtype.is_complex:
        return Tensor(xp_of(x).imag(x._value))
    return extra_array.fill_like(x, 0)


def conj(x: Any) -> Tensor:
    """The complex conjugate (real inputs unchanged)."""
    x = to_tensor(x)
    return Tensor(xp_of(x).conj(x._value)) if x.dtype.is_complex else x


conjugate = conj


def angle(x: Any) -> Tensor:
    """The argument of complex numbers (0 or pi for reals)."""
    x = to_tensor(x)
    if x.dtype.is_complex:
        return Tensor(xp_of(x).angle(x._value))
    x = cast(x, float_dtype(x))
    return extra.Arctan2()(extra_array.fill_like(x, 0), x)

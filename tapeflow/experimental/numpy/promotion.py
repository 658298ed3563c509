"""TF's auto dtype conversion (`experimental_enable_numpy_behavior(dtype_conversion_mode=...)`):
the mode, "weak" dtypes and the promotion lattice.

A Python scalar or list has a *weak* dtype (int -> int32, float -> float32, complex -> complex128,
each weak); NumPy arrays, tensors and variables have strong ones. Two dtypes promote to their
join: a weak type gives way to a strong one of its kind or higher (`i32 + 1.5 -> f64 weak`, as
TF), mixed signed/unsigned integers widen (`u8 + i8 -> i16`; `u64 + i* -> f64 weak`), bf16 and
f16 meet at f32. "safe" mode refuses a promotion whose result is a new type or cannot hold every
value of a strong operand (`i32 + f32`); "all" allows every one. The results were checked pair by
pair against TF 2.21 (tests/tfrest/test_weak_promotion.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import dtypes as _dt

MODES = ("off", "legacy", "safe", "all")


class UnsupportedPromotion(TypeError):
    """An input auto dtype conversion has no rule for (the converting ops then run unchanged)."""


class _State:
    mode = "off"


def mode() -> str:
    return _State.mode


def weak_mode() -> bool:
    return _State.mode in ("safe", "all")


# A dtype as (NumPy dtype name, weak); bfloat16 is named as TF names it.
_INT_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
_UINT_BITS = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
_FLOAT_BITS = {"bfloat16": 16, "float16": 16, "float32": 32, "float64": 64}
_MANTISSA = {"bfloat16": 8, "float16": 11, "float32": 24, "float64": 53}
_COMPLEX_PART = {"complex64": "float32", "complex128": "float64"}
_KIND_ORDER = {"b": 0, "i": 1, "f": 2, "c": 3}


def _kind(name: str) -> str:
    if name == "bool":
        return "b"
    if name in _INT_BITS or name in _UINT_BITS:
        return "i"
    if name in _FLOAT_BITS:
        return "f"
    if name in _COMPLEX_PART:
        return "c"
    raise UnsupportedPromotion(f"Auto dtype conversion semantics does not support dtype {name}.")


def _strong_join(a: str, b: str) -> tuple:
    ka, kb = _kind(a), _kind(b)
    if ka == "b":
        return b, False
    if kb == "b":
        return a, False
    if ka == kb == "i":
        if (a in _UINT_BITS) == (b in _UINT_BITS):
            return (a if _bits(a) >= _bits(b) else b), False
        u, s = (a, b) if a in _UINT_BITS else (b, a)
        if _UINT_BITS[u] == 64:
            return "float64", True
        if _INT_BITS[s] > _UINT_BITS[u]:
            return s, False
        return f"int{2 * _UINT_BITS[u]}", False
    if ka != kb:
        hi, lo = (a, b) if _KIND_ORDER[ka] > _KIND_ORDER[kb] else (b, a)
        if _kind(hi) == "c" and _kind(lo) == "f" and _FLOAT_BITS[lo] == 64:
            return "complex128", False
        return hi, False
    if ka == "f":
        if {a, b} == {"bfloat16", "float16"}:
            return "float32", False
        return (a if _FLOAT_BITS[a] >= _FLOAT_BITS[b] else b), False
    return ("complex128" if "complex128" in (a, b) else "complex64"), False


def _bits(name: str) -> int:
    return _INT_BITS.get(name) or _UINT_BITS[name]


def _width(name: str) -> int:
    return _INT_BITS.get(name) or _UINT_BITS.get(name) or _FLOAT_BITS.get(name) or (64 if name == "complex64" else 128)


def _weak_strong_join(w: str, s: str) -> tuple:
    kw, ks = _kind(w), _kind(s)
    if ks == "b":
        return w, True
    if kw == "i":
        return s, False
    if kw == "f":
        return ("float64", True) if ks == "i" else (s, False)
    if ks == "i":
        return w, True
    if ks == "f":
        return ("complex128" if s == "float64" else "complex64"), False
    return s, False


def join(a: tuple, b: tuple) -> tuple:
    """The promotion of two (dtype name, weak) pairs."""
    if a == b:
        return a
    (na, wa), (nb, wb) = a, b
    if not wa and not wb:
        return _strong_join(na, nb)
    if wa and wb:
        ka, kb = _kind(na), _kind(nb)
        if ka == kb:
            return (na if _width(na) >= _width(nb) else nb), True
        return a if _KIND_ORDER[ka] > _KIND_ORDER[kb] else b
    return _weak_strong_join(na, nb) if wa else _weak_strong_join(nb, na)


def _holds(result: str, strong: str) -> bool:
    """Whether every value of dtype `strong` is exact in dtype `result`."""
    if strong == result or strong == "bool":
        return True
    kr, ks = _kind(result), _kind(strong)
    if kr == "c":
        part = _COMPLEX_PART[result]
        if ks == "c":
            return _FLOAT_BITS[_COMPLEX_PART[strong]] <= _FLOAT_BITS[part]
        return _holds(part, strong)
    if kr == "f":
        if ks == "f":
            return _MANTISSA[strong] <= _MANTISSA[result] and _FLOAT_BITS[strong] <= _FLOAT_BITS[result]
        if ks == "i":
            magnitude = _UINT_BITS.get(strong) or _INT_BITS[strong] - 1
            return magnitude <= _MANTISSA[result]
        return False
    if kr == "i" and ks == "i":
        if result in _UINT_BITS:
            return strong in _UINT_BITS and _UINT_BITS[strong] <= _UINT_BITS[result]
        if strong in _UINT_BITS:
            return _UINT_BITS[strong] < _INT_BITS[result]
        return _INT_BITS[strong] <= _INT_BITS[result]
    return False


def safe(a: tuple, b: tuple, result: tuple) -> bool:
    """Whether "safe" mode allows promoting a and b to result: the result is one of the operands'
    types and holds every value of each strong operand."""
    if result[0] not in (a[0], b[0]):
        return False
    return all(w or _holds(result[0], n) for n, w in (a, b))


_PY_INT32 = (-(2 ** 31), 2 ** 31 - 1)


def dtype_and_weakness(x: Any) -> tuple:
    """(dtype name, weak) of one input, as TF infers it; UnsupportedPromotion for other kinds."""
    from tapeflow.experimental.numpy.weak_tensor import WeakTensor
    from tapeflow.tensor import Tensor

    if isinstance(x, WeakTensor):
        return x.dtype.name, True
    if isinstance(x, _dt.DType):
        return x.name, False
    if isinstance(x, Tensor):
        return x.dtype.name, False
    if isinstance(x, (np.ndarray, np.generic)):
        return _dt.from_numpy(x.dtype).name, False
    if isinstance(x, (str, bytes)):
        return "string", False
    if isinstance(x, bool) or x is bool:
        return "bool", False
    if isinstance(x, int):
        if not _PY_INT32[0] <= x <= _PY_INT32[1]:
            raise OverflowError(f"Python int {x} too large to convert to np.int32")
        return "int32", True
    if x is int:
        return "int32", True
    if isinstance(x, float) or x is float:
        return "float32", True
    if isinstance(x, complex) or x is complex:
        return "complex128", True
    if isinstance(x, np.dtype):
        return _dt.from_numpy(x).name, False
    raise UnsupportedPromotion(f"Auto dtype conversion semantics does not support {type(x)} type.")


def _flatten(xs: Any, out: list) -> list:
    for x in xs:
        if isinstance(x, (list, tuple)):
            _flatten(x, out)
        elif x is not None:
            out.append(x)
    return out


def result_type(*arrays_and_dtypes: Any) -> tuple:
    """(DType, weak) of the promotion of all inputs; TypeError where the mode forbids one step."""
    leaves = _flatten(arrays_and_dtypes, [])
    pairs = [dtype_and_weakness(x) for x in leaves] or [("float32", True)]
    if any(n == "string" for n, _ in pairs):
        if all(n == "string" for n, _ in pairs):
            return _dt.string, False
        raise UnsupportedPromotion("Implicit Conversion between a string and a number is not allowed.")
    res = pairs[0]
    for arg in pairs[1:]:
        nxt = join(res, arg)
        if _State.mode == "safe" and not safe(res, arg, nxt):
            raise TypeError(
                f"In promotion mode PromoMode.SAFE, implicit dtype promotion between "
                f"(<dtype: '{res[0]}'>, weak={res[1]}) and (<dtype: '{arg[0]}'>, weak={arg[1]}) is "
                "disallowed. You need to explicitly specify the dtype in your op, or relax your dtype "
                "promotion rules (such as from SAFE mode to ALL mode).")
        res = nxt
    return _dt.as_dtype(res[0]), res[1]

"""Keras 3's dtype names and promotion lattice: `standardize_dtype` and `result_type`.

Keras promotes like JAX: dtypes form a lattice (bool < int8/uint8 < ... < float16 < float32 <
float64), a result takes the least upper bound of its inputs, and Python numbers are "weak"
(`int`, `float`): they join the lattice below the typed dtypes, so `int32 tensor + 1` stays
int32 and `int32 tensor + 1.0` becomes `floatx()` (float32).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow import dtypes as _dt

_PYTHON = {bool: "bool", int: "int64", float: "float32", complex: "complex64", str: "string"}
_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "int": "int64",
            "uint": "uint64"}
ALLOWED = ("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
           "float16", "bfloat16", "float32", "float64", "complex64", "complex128", "string")

# Edges of the promotion lattice: each dtype's immediate upper neighbours. "int" and "float" are
# the weak types of Python numbers.
_LATTICE = {
    "bool": ("int",),
    "int": ("uint8", "int8"),
    "uint8": ("int16", "uint16"),
    "uint16": ("int32", "uint32"),
    "uint32": ("int64", "uint64"),
    "uint64": ("float",),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": ("float",),
    "float": ("float16", "bfloat16", "complex64"),
    "float16": ("float32",),
    "bfloat16": ("float32",),
    "float32": ("float64", "complex64"),
    "float64": ("complex128",),
    "complex64": ("complex128",),
    "complex128": (),
}


def _upper_sets() -> dict:
    """Every dtype's set of upper bounds (itself included): the transitive closure."""
    out: dict = {}

    def walk(t: str) -> set:
        if t not in out:
            s = {t}
            for u in _LATTICE[t]:
                s |= walk(u)
            out[t] = s
        return out[t]

    for t in _LATTICE:
        walk(t)
    return out


_UPPER = _upper_sets()


def standardize_dtype(dtype: Any = None) -> str:
    """A dtype's Keras name ("float32", "int64", ...); None gives `floatx()`.

    Accepts names, NumPy dtypes and types, Tapeflow/TF dtypes and Python types (`int` is
    "int64", `float` "float32", as in Keras).
    """
    if dtype is None:
        from tapeflow.keras.backend import floatx

        return floatx()
    if dtype in _PYTHON and isinstance(dtype, type):
        return _PYTHON[dtype]
    if isinstance(dtype, _dt.DType):
        name = dtype.name
    elif hasattr(dtype, "name") and isinstance(dtype.name, str) and not isinstance(dtype, str):
        name = dtype.name
    elif isinstance(dtype, str):
        name = _ALIASES.get(dtype, dtype)
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = str(dtype)
    if name == "bool_":
        name = "bool"
    if name not in ALLOWED:
        if name.startswith("float8"):
            raise ValueError(f"Invalid dtype: {dtype!r}: Tapeflow computes with NumPy/CuPy, which "
                             "have no float8 arithmetic; use float16, bfloat16 or float32.")
        raise ValueError(f"Invalid dtype: {dtype!r}; expected one of {', '.join(ALLOWED)}.")
    return name


def _dtype_and_weak(value: Any) -> tuple[str, bool]:
    if value is int or value is float:
        return standardize_dtype(value), True
    return standardize_dtype(value), False


def _weak_form(dtype: str, weak: bool) -> str:
    if not weak or dtype == "bool":
        return dtype
    if "float" in dtype:
        return "float"
    if "int" in dtype:
        return "int"
    return dtype


def _least_upper_bound(dtypes: set) -> str:
    common = set.intersection(*(_UPPER[d] for d in dtypes))
    for c in common:
        if common <= _UPPER[c]:
            return c
    raise ValueError(f"result_type: the dtypes {sorted(dtypes)} have no common promotion.")


def _resolve_weak(dtype: str, precision: str) -> str:
    if dtype == "bool":
        return dtype
    if dtype.startswith("u"):
        return "uint" + precision
    if dtype.startswith("i"):
        return "int" + precision
    if dtype.startswith("c"):
        return "complex64" if precision != "64" else "complex128"
    return "float" + precision


def result_type(*dtypes: Any) -> str:
    """The dtype Keras gives an op over inputs of `dtypes` (`keras.backend.result_type`).

    Args:
        *dtypes: dtypes, or the Python types `int`/`float`/`bool` for Python numbers (weak
            types); None stands for `floatx()`.

    Returns:
        The promoted dtype's name; `floatx()` when no dtype is given.

    Example:
        >>> result_type("int32", float)
        'float32'
    """
    from tapeflow.keras.backend import floatx

    if not dtypes:
        return floatx()
    try:
        return _cached_result_type(dtypes, floatx())
    except TypeError:  # an unhashable dtype object
        return _result_type(dtypes, floatx())


@functools.lru_cache(maxsize=1024)
def _cached_result_type(dtypes: tuple, floatx: str) -> str:
    return _result_type(dtypes, floatx)


def _result_type(dtypes: tuple, floatx_name: str) -> str:
    def floatx() -> str:
        return floatx_name

    pairs = [_dtype_and_weak(floatx() if d is None else d) for d in dtypes]
    for d, _ in pairs:
        if d == "string":
            raise ValueError("result_type: string dtypes do not promote with numeric dtypes.")
    names = [d for d, _ in pairs]
    weaks = [w for _, w in pairs]
    if len(pairs) == 1:
        out, weak = names[0], weaks[0]
    elif len(set(names)) == 1 and not all(weaks):
        out, weak = names[0], False
    elif all(weaks):
        out, weak = _least_upper_bound({_weak_form(d, False) for d in names}), True
    else:
        out = _least_upper_bound({_weak_form(d, w) for d, w in pairs})
        weak = out in ("int", "float")
    weak = weak and out != "bool"
    if weak or out in ("int", "float"):
        out = _resolve_weak(out, floatx()[-2:])
    return out


def numpy_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype of a Keras dtype name."""
    return np.dtype(standardize_dtype(dtype))


def array_dtype(value: Any) -> str:
    """The Keras dtype name of an array (NumPy or CuPy)."""
    return standardize_dtype(value.dtype.name if _backend.get_xp(value) is not np else value.dtype)

"""TF-style dtypes (`tf.float32`, ...) that compare equal to NumPy dtypes and their names."""

from __future__ import annotations

from typing import Any

import numpy as np


class DType:
    """A tensor element type, like `tf.DType`.

    Compares equal to the same `DType`, the NumPy dtype (`np.float32`, `np.dtype("float32")`)
    and the name (`"float32"`), so code mixing TF and NumPy spellings works.
    """

    __slots__ = ("name", "_np")

    def __init__(self, name: str, np_dtype: Any) -> None:
        self.name = name
        self._np = np.dtype(np_dtype)

    @property
    def as_numpy_dtype(self) -> type:
        return self._np.type

    @property
    def dtype(self) -> np.dtype:
        # Lets `np.dtype(tf.float32)` and `np.zeros(3, dtype=tf.float32)` work.
        return self._np

    @property
    def base_dtype(self) -> DType:
        return self

    @property
    def is_floating(self) -> bool:
        return self._np.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self._np.kind in "iu"

    @property
    def is_unsigned(self) -> bool:
        return self._np.kind == "u"

    @property
    def is_complex(self) -> bool:
        return self._np.kind == "c"

    @property
    def is_bool(self) -> bool:
        return self._np.kind == "b"

    @property
    def is_numeric(self) -> bool:
        return self._np.kind in "iufc"

    @property
    def size(self) -> int:
        return 0 if self._np.kind == "O" else self._np.itemsize

    @property
    def min(self) -> Any:
        self._check_ordered("minimum")
        return np.finfo(self._np).min if self.is_floating else np.iinfo(self._np).min

    @property
    def max(self) -> Any:
        self._check_ordered("maximum")
        return np.finfo(self._np).max if self.is_floating else np.iinfo(self._np).max

    def _check_ordered(self, what: str) -> None:
        if self._np.kind == "O":
            raise TypeError(f"Cannot find {what} value of {self.name}: strings have no range.")

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if isinstance(other, DType):
            return other._np == self._np
        try:
            return as_dtype(other)._np == self._np
        except (TypeError, ValueError):
            return False

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self._np)

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __reduce__(self):
        return (as_dtype, (self.name,))


float16 = DType("float16", np.float16)
half = float16
float32 = DType("float32", np.float32)
float64 = DType("float64", np.float64)
double = float64
int8 = DType("int8", np.int8)
int16 = DType("int16", np.int16)
int32 = DType("int32", np.int32)
int64 = DType("int64", np.int64)
uint8 = DType("uint8", np.uint8)
uint16 = DType("uint16", np.uint16)
uint32 = DType("uint32", np.uint32)
uint64 = DType("uint64", np.uint64)
bool = DType("bool", np.bool_)  # noqa: A001 - TF's public name
complex64 = DType("complex64", np.complex64)
complex128 = DType("complex128", np.complex128)
string = DType("string", np.object_)

_ALL = (
    float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
    bool, complex64, complex128, string,
)
_BY_NP: dict[np.dtype, DType] = {d._np: d for d in _ALL}  # object arrays hold tf.string values
_BY_NAME: dict[str, DType] = {d.name: d for d in _ALL}
_BY_NAME.update({"half": float16, "double": float64, "float": float32, "int": int32,
                 "bfloat16": float32})


def as_dtype(value: Any) -> DType:
    """Convert a `DType`, NumPy dtype, Python type or name to a `DType`.

    Raises:
        TypeError: for an unknown dtype; the message lists the valid names.
    """
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        found = _BY_NAME.get(value)
        if found is not None:
            return found
    else:
        if value is float:
            return float32
        if value is int:
            return int32
        try:
            np_dtype = np.dtype(value)
            # NumPy bytes/str dtypes name tf.string; Python's str and bytes do not (as in TF).
            text = np_dtype.kind in "SU" and value is not str and value is not bytes
            found = string if text else _BY_NP.get(np_dtype)
        except TypeError:
            found = None
        if found is not None:
            return found
    valid = ", ".join(sorted(d.name for d in _ALL))
    raise TypeError(f"Cannot convert {value!r} to a dtype. Valid dtypes: {valid}.")


def from_numpy(np_dtype: np.dtype) -> DType:
    """The `DType` of a NumPy dtype (fast path for tensors)."""
    found = _BY_NP.get(np_dtype)
    if found is None:
        return as_dtype(np_dtype)
    return found


def is_floating_np(np_dtype: np.dtype) -> bool:
    return np_dtype.kind == "f" or np_dtype.kind == "c"


def __getattr__(name: str) -> Any:
    # tf.dtypes.cast / saturate_cast / complex live with the ops, which import this module.
    if name in ("cast", "saturate_cast"):
        from tapeflow.ops import elementwise

        return getattr(elementwise, name)
    if name == "complex":
        from tapeflow.ops.complex import complex as make_complex

        return make_complex
    raise AttributeError(f"module 'tapeflow.dtypes' has no attribute {name!r}")

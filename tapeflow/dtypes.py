"""TF-style dtypes (`tf.float32`, ...) that compare equal to NumPy dtypes and their names."""

from __future__ import annotations

from typing import Any

import numpy as np


class DType:
    """A tensor element type, like `tf.DType`.

    Compares equal to the same `DType`, the NumPy dtype (`np.float32`, `np.dtype("float32")`)
    and the name (`"float32"`), so code mixing TF and NumPy spellings works.
    """

    __slots__ = ("name", "_np", "_kind")

    def __init__(self, name: str, np_dtype: Any, kind: str | None = None) -> None:
        self.name = name
        self._np = np.dtype(np_dtype)
        # "f"/"i"/"u"/"c"/"b" numbers, "O" strings, "q" quantized, "r" resource/variant handles
        self._kind = kind or self._np.kind

    @property
    def as_numpy_dtype(self) -> type:
        if self._kind == "q":
            return self._np
        if self._kind == "r":
            raise TypeError(f"{self.name} has no NumPy equivalent.")
        if self._np.names is not None and self._kind in "fiu":  # the stand-in without ml_dtypes
            raise TypeError(f"tf.{self.name} needs the ml_dtypes package (pip install ml_dtypes).")
        return self._np.type

    @property
    def as_datatype_enum(self) -> int:
        """TF's DataType enum value (the number TensorProto and SavedModel files store)."""
        return _ENUMS[self.name]

    @property
    def real_dtype(self) -> DType:
        """The dtype of the real (and imaginary) parts: float32 for complex64, itself otherwise."""
        return {"complex64": float32, "complex128": float64}.get(self.name, self)

    @property
    def is_quantized(self) -> bool:
        return self._kind == "q"

    @property
    def is_numpy_compatible(self) -> bool:
        return self._kind != "r"

    @property
    def limits(self) -> tuple:
        """(0, max) intensity limits of image dtypes: 1.0 for floats, the type's max for integers."""
        if self._kind == "b":
            return 0, True
        if self._kind in "iu" and self._np.kind in "iu":
            return 0, int(np.iinfo(self._np).max)
        if self.name in ("float32", "float64"):
            return 0, 1
        raise ValueError(f"<dtype: '{self.name}'> does not have defined limits.")

    def is_compatible_with(self, other: Any) -> bool:
        """Whether `other` converts to this dtype (TF 1 style; equality in TF 2)."""
        try:
            return as_dtype(other).name == self.name
        except TypeError:
            return False

    def is_subtype_of(self, other: Any) -> bool:
        """TraceType protocol: a dtype is a subtype only of itself."""
        return self == other

    def most_specific_common_supertype(self, others: Any) -> DType | None:
        """TraceType protocol: itself when every other is the same dtype, else None."""
        return self if all(self == o for o in others) else None

    def placeholder_value(self, placeholder_context: Any = None) -> DType:
        return self

    def flatten(self) -> list:
        return []

    def from_tensors(self, tensors: Any) -> DType:
        return self

    def to_tensors(self, value: Any) -> list:
        return []

    def cast(self, value: Any, cast_context: Any = None) -> Any:
        return value

    @property
    def dtype(self) -> np.dtype:
        # Lets `np.dtype(tf.float32)` and `np.zeros(3, dtype=tf.float32)` work.
        return self._np

    @property
    def base_dtype(self) -> DType:
        return self

    @property
    def is_floating(self) -> bool:
        return self._kind == "f"

    @property
    def is_integer(self) -> bool:
        return self._kind in "iu"

    @property
    def is_unsigned(self) -> bool:
        return self._kind == "u"

    @property
    def is_complex(self) -> bool:
        return self._kind == "c"

    @property
    def is_bool(self) -> bool:
        return self._kind == "b"

    @property
    def is_numeric(self) -> bool:
        # NOTE: as TF's list, which predates (and leaves out) the 8-, 4- and 2-bit types.
        return self._kind in "iufcq" and not (self.name.startswith(("float8", "float4")) or
                                              self.name in ("int4", "uint4", "int2", "uint2"))

    @property
    def size(self) -> int:
        return 0 if self._kind in "Or" else self._np.itemsize

    @property
    def min(self) -> Any:
        self._check_ordered("minimum")
        return self._info().min

    @property
    def max(self) -> Any:
        self._check_ordered("maximum")
        return self._info().max

    def _info(self) -> Any:
        if self._np.kind == "V":  # ml_dtypes' types carry their own finfo / iinfo
            import ml_dtypes

            return (ml_dtypes.finfo if self._kind == "f" else ml_dtypes.iinfo)(self._np)
        return np.finfo(self._np) if self.is_floating else np.iinfo(self._np)

    def _check_ordered(self, what: str) -> None:
        if self._kind in "Or":
            raise TypeError(f"Cannot find {what} value of {self.name}: it has no range.")
        if self._kind == "q":
            raise TypeError(f"Cannot find {what} value of <dtype: '{self.name}'> with quantized type "
                            f"<dtype: '{self.name}'>.")
        if self._kind == "c":
            raise TypeError(f"Cannot find {what} value of {self.name}: complex numbers are not ordered.")

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if isinstance(other, DType):
            return other.name == self.name
        try:
            return as_dtype(other).name == self.name
        except (TypeError, ValueError):
            return False

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self._np)

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __str__(self) -> str:
        return f"<dtype: '{self.name}'>"  # as TF's DType prints (print(x.dtype))

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
# Quantized integers (TF's structured NumPy types) and the handle types of resources and variants.
qint8 = DType("qint8", [("qint8", "i1")], "q")
quint8 = DType("quint8", [("quint8", "u1")], "q")
qint16 = DType("qint16", [("qint16", "<i2")], "q")
quint16 = DType("quint16", [("quint16", "<u2")], "q")
qint32 = DType("qint32", [("qint32", "<i4")], "q")
resource = DType("resource", np.object_, "r")
variant = DType("variant", np.object_, "r")
QUANTIZED_DTYPES = frozenset({qint8, quint8, qint16, quint16, qint32})


def _ml_dtype(name: str, kind: str, size: int) -> DType:
    """A dtype NumPy lacks, stored as ml_dtypes' type (TF's own dependency) when it is installed."""
    try:
        import ml_dtypes

        return DType(name, getattr(ml_dtypes, name), kind)
    except (ImportError, AttributeError):
        return DType(name, [(name, f"V{size}")], kind)


bfloat16 = _ml_dtype("bfloat16", "f", 2)
# tf.dtypes.experimental: the 8-, 4- and 2-bit types
float8_e5m2 = _ml_dtype("float8_e5m2", "f", 1)
float8_e4m3fn = _ml_dtype("float8_e4m3fn", "f", 1)
float8_e4m3fnuz = _ml_dtype("float8_e4m3fnuz", "f", 1)
float8_e4m3b11fnuz = _ml_dtype("float8_e4m3b11fnuz", "f", 1)
float8_e5m2fnuz = _ml_dtype("float8_e5m2fnuz", "f", 1)
float4_e2m1fn = _ml_dtype("float4_e2m1fn", "f", 1)
int4 = _ml_dtype("int4", "i", 1)
uint4 = _ml_dtype("uint4", "u", 1)
int2 = _ml_dtype("int2", "i", 1)
uint2 = _ml_dtype("uint2", "u", 1)
_EXPERIMENTAL = (float8_e5m2, float8_e4m3fn, float8_e4m3fnuz, float8_e4m3b11fnuz, float8_e5m2fnuz, float4_e2m1fn,
                 int4, uint4, int2, uint2)

_ALL = (
    float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
    bool, complex64, complex128, string, bfloat16, qint8, quint8, qint16, quint16, qint32, *_EXPERIMENTAL,
)
_BY_NP: dict[np.dtype, DType] = {d._np: d for d in _ALL}  # object arrays hold tf.string values
_BY_NAME: dict[str, DType] = {d.name: d for d in (*_ALL, resource, variant)}
_BY_NAME.update({"half": float16, "double": float64, "float": float32, "int": int32})
_ENUMS = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6, "string": 7, "complex64": 8,
          "int64": 9, "bool": 10, "qint8": 11, "quint8": 12, "qint32": 13, "bfloat16": 14, "qint16": 15,
          "quint16": 16, "uint16": 17, "complex128": 18, "float16": 19, "resource": 20, "variant": 21,
          "uint32": 22, "uint64": 23, "float8_e5m2": 24, "float8_e4m3fn": 25, "float8_e4m3fnuz": 26,
          "float8_e4m3b11fnuz": 27, "float8_e5m2fnuz": 28, "int4": 29, "uint4": 30, "int2": 31, "uint2": 32,
          "float4_e2m1fn": 33}


def as_dtype(value: Any) -> DType:
    """Convert a `DType`, NumPy dtype, Python type or name to a `DType`.

    Raises:
        TypeError: for an unknown dtype; the message lists the valid names.
    """
    if isinstance(value, DType):
        return value
    if type(value) is int and value in _BY_ENUM:  # TF's DataType enum numbers
        return _BY_ENUM[value]
    if hasattr(value, "as_datatype_enum") and not isinstance(value, type):  # another framework's DType
        found = _BY_ENUM.get(int(value.as_datatype_enum))
        if found is not None:
            return found
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


_BY_ENUM = {_ENUMS[d.name]: d for d in (*_ALL, resource, variant)}


def from_numpy(np_dtype: np.dtype) -> DType:
    """The `DType` of a NumPy dtype (fast path for tensors)."""
    found = _BY_NP.get(np_dtype)
    if found is None:
        return as_dtype(np_dtype)
    return found


def is_floating_np(np_dtype: np.dtype) -> bool:
    return np_dtype.kind == "f" or np_dtype.kind == "c"


def is_inexact_np(np_dtype: np.dtype) -> bool:
    """Whether a NumPy dtype is a float or complex type, bfloat16 (ml_dtypes, kind "V") included."""
    return np_dtype.kind in "fc" or (np_dtype.kind == "V" and np_dtype.name == "bfloat16")


def is_real_float_np(np_dtype: np.dtype) -> bool:
    """Whether a NumPy dtype is a real float: NumPy's own or ml_dtypes' bfloat16 (kind "V")."""
    return np_dtype.kind == "f" or (np_dtype.kind == "V" and np_dtype.name == "bfloat16")


def __getattr__(name: str) -> Any:
    # tf.dtypes.cast / saturate_cast / complex live with the ops, which import this module.
    if name in ("cast", "saturate_cast"):
        from tapeflow.ops import elementwise

        return getattr(elementwise, name)
    if name == "experimental":
        from tapeflow import dtypes_experimental

        return dtypes_experimental
    if name == "complex":
        from tapeflow.ops.complex import complex as make_complex

        return make_complex
    raise AttributeError(f"module 'tapeflow.dtypes' has no attribute {name!r}")

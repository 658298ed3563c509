"""TF's `TensorProto` wire format, read and written by hand (no protobuf dependency), so tensors
serialized here parse in TensorFlow and the other way round.

Written as TF writes it: `dtype` (field 1), `tensor_shape` (2, one `dim` message per
dimension) and the little-endian bytes in `tensor_content` (4), or one `string_val` (8) per
element of a string tensor. Read: that form and the typed `*_val` fields that other writers use
(`tf.make_tensor_proto`), where fewer values than elements repeat the last one, as in TF.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow import string_values as _sv
from tapeflow.io.wire import ProtoError
from tapeflow.io.wire import fields as _fields
from tapeflow.io.wire import length_delimited as _field
from tapeflow.io.wire import read_varint as _read_varint
from tapeflow.io.wire import write_varint as _varint

# DataType enum values of TF's types.proto.
ENUM = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6, "string": 7,
        "complex64": 8, "int64": 9, "bool": 10, "uint16": 17, "complex128": 18, "float16": 19,
        "uint32": 22, "uint64": 23}
BY_ENUM = {v: k for k, v in ENUM.items()}
TF_NAMES = {"float32": "float", "float64": "double", "float16": "half"}  # as TF's messages say
MAX_FILLED_ELEMENTS = 1 << 28  # a tiny proto may not ask for more by repeating one value

# Field numbers of the typed value lists, and how each element is stored.
_VALUE_FIELDS = {5: "<f4", 6: "<f8", 7: "varint", 9: "<f4", 10: "varint", 11: "varint",
                 12: "<f8", 13: "varint", 16: "varint", 17: "varint"}


def encode(array: np.ndarray) -> bytes:
    """The TensorProto bytes of a host array (numeric, bool or object array of bytes)."""
    name = _dt.from_numpy(array.dtype).name
    shape = b"".join(_field(2, _varint(8) + _varint(d) if d else b"") for d in array.shape)
    out = _varint(1 << 3) + _varint(ENUM[name]) + _field(2, shape)
    if name == "string":
        return out + b"".join(_field(8, s) for s in array.reshape(-1).tolist())
    content = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    return out + (_field(4, content) if content else b"")


# ---------------------------------------------------------------------------------------------

def _shape(payload: bytes) -> tuple:
    dims = []
    for number, _, value in _fields(payload):
        if number == 3 and value:
            raise ProtoError("a tensor of unknown rank has no value")
        if number == 2:
            size = 0
            for n, _, v in _fields(value):
                if n == 1:
                    size = v - (1 << 64) if v >= 1 << 63 else v
            if size < 0:
                raise ProtoError(f"negative dimension {size}")
            dims.append(size)
    return tuple(dims)


def _typed_values(wire: int, value: Any, fmt: str) -> list:
    if fmt != "varint":
        raw = value if wire == 2 else value
        if len(raw) % np.dtype(fmt).itemsize:
            raise ProtoError("a packed float field has a partial element")
        return np.frombuffer(raw, fmt).tolist()
    if wire == 0:
        return [value]
    items, i = [], 0
    while i < len(value):
        v, i = _read_varint(value, i)
        items.append(v)
    return items


def decode(data: bytes) -> np.ndarray:
    """The host array of TensorProto bytes; ProtoError for anything malformed."""
    dtype_enum, shape, content, strings, values = None, (), None, [], []
    for number, wire, value in _fields(data):
        if number == 1 and wire == 0:
            dtype_enum = value
        elif number == 2 and wire == 2:
            shape = _shape(value)
        elif number == 4 and wire == 2:
            content = value
        elif number == 8 and wire == 2:
            strings.append(bytes(value))
        elif number in _VALUE_FIELDS:
            values.extend(_typed_values(wire, value, _VALUE_FIELDS[number]))
    name = BY_ENUM.get(dtype_enum)
    if name is None:
        raise ProtoError(f"unsupported or missing dtype enum {dtype_enum}")
    np_dtype = _dt.as_dtype(name)._np
    n = int(np.prod(shape, dtype=np.int64))
    if name == "string":
        return _filled(strings, n, shape, object)
    if content is not None:
        item = np_dtype.itemsize
        if len(content) != n * item:
            raise ProtoError(f"tensor_content holds {len(content)} bytes, shape {list(shape)} needs {n * item}")
        return np.frombuffer(content, np_dtype.newbyteorder("<")).astype(np_dtype).reshape(shape)
    if np_dtype.kind == "c":
        values = [complex(a, b) for a, b in zip(values[0::2], values[1::2], strict=False)]
    elif name == "float16":
        values = np.array(values, np.uint16).view(np.float16).tolist()
    elif np_dtype.kind == "i":  # varints of negative numbers are 64-bit two's complement
        values = [v - (1 << 64) if v >= 1 << 63 else v for v in values]
    return _filled(values, n, shape, np_dtype)


def _filled(values: list, n: int, shape: tuple, np_dtype: Any) -> np.ndarray:
    if len(values) > n:
        raise ProtoError(f"{len(values)} values for a tensor of {n} elements")
    if len(values) < n and n > MAX_FILLED_ELEMENTS:
        raise ProtoError(f"shape {list(shape)} is larger than this reader expands from repeated values")
    if np_dtype is object:
        out = _sv.empty_strings((n,))
    else:
        out = np.zeros(n, np_dtype)
    if values:
        out[:len(values)] = values
        out[len(values):] = values[-1]
    return out.reshape(shape)

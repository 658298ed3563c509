"""Host arrays of bytes: the values of `tf.string` tensors.

A string tensor holds a NumPy object array whose elements are `bytes` (text given as `str` is
encoded as UTF-8, as TF does). String values always live on the host, like TF's string
tensors: the GPU has no string type. This module converts Python and NumPy values to such
arrays and makes the few string-aware fills (empty strings) that numeric code gets from zeros.
"""

from __future__ import annotations

from typing import Any

import numpy as np

OBJECT = np.dtype(object)


def is_text(value: Any) -> bool:
    """Whether `value` is string data: str/bytes, a NumPy bytes/str/object array, or a (nested)
    list or tuple whose first leaf is str/bytes."""
    if isinstance(value, (str, bytes)):
        return True
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
        if kind in "SU":
            return True
        return kind == "O" and (value.size == 0 or isinstance(value.flat[0], (str, bytes)))
    if isinstance(value, (list, tuple)):
        while isinstance(value, (list, tuple)) and len(value):
            value = value[0]
        return isinstance(value, (str, bytes))
    return False


def _to_bytes(v: Any) -> bytes:
    if type(v) is bytes:
        return v
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, bytes):  # np.bytes_
        return bytes(v)
    if isinstance(v, (list, tuple)):
        raise _Ragged
    raise _NotText(v)


class _Ragged(Exception):
    pass


class _NotText(Exception):
    def __init__(self, v: Any) -> None:
        self.value = v


_encode = np.frompyfunc(_to_bytes, 1, 1)


def to_bytes_array(value: Any, requested: bool = False) -> np.ndarray:
    """`value` (text data, see `is_text`) as a NumPy object array of `bytes`.

    Args:
        value: str/bytes, NumPy bytes/str/object arrays, nested lists of them.
        requested: whether dtype string was asked for explicitly (changes the error type, as TF).

    Raises:
        TypeError: an element is not text and dtype string was requested.
        ValueError: mixed text and non-text elements, or ragged nesting.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        return value.astype(object)
    if isinstance(value, (str, bytes)):
        return scalar(_to_bytes(value))
    arr = value if isinstance(value, np.ndarray) else np.array(value, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    if arr.size == 0:
        return out
    try:
        out[...] = _encode(arr)
    except _Ragged:
        raise ValueError(f"Can't convert non-rectangular Python sequence to Tensor: {_short(value)}.") from None
    except _NotText as e:
        if requested:
            raise TypeError(f"Cannot convert {e.value!r} to a tensor of dtype string.") from None
        raise ValueError(f"Can't convert Python sequence with mixed types to Tensor: {_short(value)} "
                         f"holds {type(e.value).__name__} {e.value!r} among strings.") from None
    return out


def empty_strings(shape: Any) -> np.ndarray:
    """An object array of `b""` (what zeros are for numbers: TF pads and zero-fills with it)."""
    out = np.empty(shape, dtype=object)
    out.fill(b"")
    return out


def scalar(value: bytes) -> np.ndarray:
    """A rank-0 object array holding one bytes value."""
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def pad(a: np.ndarray, paddings: tuple, value: bytes) -> np.ndarray:
    """`a` padded with `value` by `paddings[i] = (before, after)` (tf.pad's CONSTANT mode)."""
    shape = tuple(n + lo + hi for n, (lo, hi) in zip(a.shape, paddings, strict=True))
    out = np.empty(shape, dtype=object)
    out.fill(value)
    out[tuple(slice(lo, lo + n) for n, (lo, _) in zip(a.shape, paddings, strict=True))] = a
    return out


def pack(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An object array of bytes as `(uint8 data, int64 lengths)`: a flat, pickle-free layout
    for files (the strings concatenated, and each one's length in row-major order)."""
    flat = values.reshape(-1)
    lengths = np.fromiter(map(len, flat), np.int64, len(flat))
    return np.frombuffer(b"".join(flat), np.uint8), lengths


def unpack(data: np.ndarray, lengths: np.ndarray, what: str) -> np.ndarray:
    """The flat object array of bytes that `pack` made; `what` names the file for errors."""
    lengths = np.asarray(lengths, np.int64).reshape(-1)
    if (lengths < 0).any() or int(lengths.sum()) != data.size:
        raise ValueError(f"{what}: corrupt string data: lengths add up to {int(lengths.sum())} "
                         f"bytes, the data holds {data.size}.")
    blob = np.asarray(data, np.uint8).tobytes()
    ends = np.cumsum(lengths)
    out = np.empty(len(lengths), dtype=object)
    out[:] = [blob[a:b] for a, b in zip((ends - lengths).tolist(), ends.tolist(), strict=True)]
    return out


def stand_in(shape: Any, fill: int) -> np.ndarray:
    """A placeholder value for shape inference in traces: `fill - 1` (at least one) `b"1"`s
    everywhere: parses as a number, decodes as UTF-8, and its length differs between the two
    probes, so output dimensions that depend on string contents come out unknown."""
    out = np.empty(shape, dtype=object)
    out.fill(b"1" * max(fill - 1, 1))
    return out


def _short(value: Any) -> str:
    r = repr(value)
    return r if len(r) <= 60 else r[:57] + "..."

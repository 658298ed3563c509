"""`tf.compat`: `v1`, TF1 graph-style programs (placeholders, sessions, `tf.layers`, `tf.train`).

`v2` is Tapeflow itself. Both load on first use.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import numbers
import os
from typing import Any

import numpy as np

from tapeflow.dimension import dimension_at_index, dimension_value  # noqa: F401 (tf.compat names)


_FORWARD_COMPATIBILITY_HORIZON = datetime.date(2026, 1, 16)  # TF 2.21's
_horizon = [_FORWARD_COMPATIBILITY_HORIZON]

bytes_or_text_types = (bytes, str)
integral_types = (numbers.Integral, np.integer)
real_types = (numbers.Real, np.integer, np.floating)
complex_types = (numbers.Complex, np.number)


def as_bytes(bytes_or_text: Any, encoding: str = "utf-8") -> bytes:
    """`bytes_or_text` as bytes (text encoded with `encoding`)."""
    if isinstance(bytes_or_text, bytearray):
        return bytes(bytes_or_text)
    if isinstance(bytes_or_text, str):
        return bytes_or_text.encode(encoding)
    if isinstance(bytes_or_text, bytes):
        return bytes_or_text
    raise TypeError(f"Expected binary or unicode string, got {bytes_or_text!r}")


def as_text(bytes_or_text: Any, encoding: str = "utf-8") -> str:
    """`bytes_or_text` as str (bytes decoded with `encoding`)."""
    if isinstance(bytes_or_text, str):
        return bytes_or_text
    if isinstance(bytes_or_text, bytes):
        return bytes_or_text.decode(encoding)
    raise TypeError(f"Expected binary or unicode string, got {bytes_or_text!r}")


as_str = as_text


def as_str_any(value: Any, encoding: str = "utf-8") -> str:
    """`value` as str: bytes decoded, anything else through `str()`."""
    return as_str(value, encoding) if isinstance(value, bytes) else str(value)


def path_to_str(path: Any) -> Any:
    """A path-like object as its string (other values unchanged)."""
    return os.fspath(path) if isinstance(path, os.PathLike) else path


def _horizon_date() -> datetime.date:
    delta = os.getenv("TF_FORWARD_COMPATIBILITY_DELTA_DAYS")
    return _horizon[-1] + datetime.timedelta(days=int(delta)) if delta else _horizon[-1]


def forward_compatible(year: int, month: int, day: int) -> bool:
    """Whether the forward-compatibility horizon (TF 2.21's, 2026-01-16, moved by
    $TF_FORWARD_COMPATIBILITY_DELTA_DAYS or `forward_compatibility_horizon`) is after the date."""
    return _horizon_date() > datetime.date(year, month, day)


@contextlib.contextmanager
def forward_compatibility_horizon(year: int, month: int, day: int) -> Any:
    """Within the block, `forward_compatible` answers as if the horizon were this date."""
    _horizon.append(datetime.date(year, month, day))
    try:
        yield
    finally:
        _horizon.pop()


def __getattr__(name: str) -> Any:
    if name == "v1":
        module = importlib.import_module("tapeflow.compat.v1")
        globals()["v1"] = module
        return module
    if name == "v2":
        return importlib.import_module("tapeflow")
    raise AttributeError(f"module 'tapeflow.compat' has no attribute {name!r}")


def __dir__() -> list:
    return sorted({n for n in globals() if not n.startswith("_")} - {"annotations", "contextlib", "datetime",
                                                                      "importlib", "numbers", "os", "np", "Any"}
                  | {"v1", "v2"})

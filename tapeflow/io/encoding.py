"""`tf.io` byte encodings: `encode_base64` / `decode_base64` (web-safe alphabet, as TF) and
`decode_compressed` (ZLIB / GZIP), element by element on string tensors."""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from typing import Any

import numpy as np

from tapeflow import errors
from tapeflow.errors import InvalidArgumentError
from tapeflow.strings.base import apply, elementwise, string_input
from tapeflow.tensor import Tensor

_WEB_ALPHABET = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def _encode64(a: np.ndarray, pad: bool) -> np.ndarray:
    def one(s: bytes) -> bytes:
        out = base64.urlsafe_b64encode(s)
        return out if pad else out.rstrip(b"=")

    return elementwise(one, a)


def _decode64(a: np.ndarray) -> np.ndarray:
    def one(s: bytes) -> bytes:
        body = s.rstrip(b"=")
        if not set(body) <= _WEB_ALPHABET or b"=" in body:
            raise InvalidArgumentError(None, None, "Invalid character found in base64. [Op:DecodeBase64]")
        if len(body) % 4 == 1:
            raise InvalidArgumentError(None, None, "Base64 string length cannot be 1 modulo 4. [Op:DecodeBase64]")
        try:
            return base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4))
        except binascii.Error as e:
            raise InvalidArgumentError(None, None, f"Invalid base64 data ({e}). [Op:DecodeBase64]") from None

    return elementwise(one, a)


def encode_base64(input: Any, pad: bool = False, name: Any = None) -> Tensor:  # noqa: A002 - TF's name
    """Each string in web-safe base64 (`-` and `_` for `+` and `/`), without `=` padding unless
    `pad`."""
    x = string_input(input, "EncodeBase64", "input")
    return apply("EncodeBase64", _encode64, x, pad=bool(pad))


def decode_base64(input: Any, name: Any = None) -> Tensor:  # noqa: A002 - TF's name
    """Each web-safe base64 string decoded (padding optional); InvalidArgumentError for other
    characters or an impossible length."""
    x = string_input(input, "DecodeBase64", "input")
    return apply("DecodeBase64", _decode64, x)


def _decompress(a: np.ndarray, compression: str) -> np.ndarray:
    def one(s: bytes) -> bytes:
        try:
            if compression == "GZIP":
                return gzip.decompress(s)
            return zlib.decompress(s)
        except (OSError, EOFError, zlib.error) as e:
            raise errors.DataLossError(None, None, f"{compression} data is damaged: {e} [Op:DecodeCompressed]") \
                from None

    return elementwise(one, a) if compression else a


def decode_compressed(bytes: Any, compression_type: str = "", name: Any = None) -> Tensor:  # noqa: A002
    """Each string decompressed: `compression_type` "ZLIB", "GZIP" or "" (returned unchanged)."""
    if compression_type not in ("", "ZLIB", "GZIP", None):
        raise ValueError(f"DecodeCompressed: `compression_type` must be '', 'ZLIB' or 'GZIP', received "
                         f"{compression_type!r}.")
    x = string_input(bytes, "DecodeCompressed", "bytes")
    return apply("DecodeCompressed", _decompress, x, compression=compression_type or "")

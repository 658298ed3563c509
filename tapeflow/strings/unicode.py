"""`tf.strings.unicode_*` and `bytes_split`: strings to code points and back, in TF's encodings
and with its error modes (replace / ignore / strict, a replacement character, optional
replacement of C0 control characters).

Decoding a rank-0 string gives a dense vector; a batch of strings gives a `tf.RaggedTensor`
(one row per string), as in TF.
"""

from __future__ import annotations

import codecs
import threading
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.errors import InvalidArgumentError
from tapeflow.strings.base import apply, check_choice, elementwise, is_ragged, ragged_elementwise, string_input
from tapeflow.strings.rows import per_string
from tapeflow.tensor import Tensor, convert_to_tensor

_OUTPUT_ENCODINGS = ("UTF-8", "UTF-16-BE", "UTF-32-BE")
_ERRORS = ("replace", "ignore", "strict")
_MARK = 0xDFFF  # a lone surrogate: never the result of a valid decode, so it marks bad input
_state = threading.local()


def _mark_invalid(err: UnicodeDecodeError) -> tuple[str, int]:
    spans = getattr(_state, "spans", None)
    if spans is not None:
        spans.append(err.end - err.start)
    return chr(_MARK), err.end


codecs.register_error("tapeflow_mark_invalid", _mark_invalid)


def _codec(name: Any, op: str, arg: str, output: bool = False) -> str:
    name = name.decode() if isinstance(name, bytes) else str(name)
    if output and name not in _OUTPUT_ENCODINGS:
        raise InvalidArgumentError(f"{op}: `{arg}` must be one of {', '.join(_OUTPUT_ENCODINGS)}, "
                                   f"received {name!r}.")
    try:
        codecs.lookup(name)
    except LookupError:
        raise InvalidArgumentError(f"{op}: could not create a converter for encoding {name!r}.") from None
    return name


def _code_points(s: bytes, encoding: str, errors: str, replacement: int, control: bool) -> np.ndarray:
    """The code points of `s`, invalid sequences handled as `errors` says."""
    text = s.decode(encoding, "tapeflow_mark_invalid")
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), "<u4").astype(np.int32)
    invalid = cps == _MARK
    if invalid.any():
        if errors == "strict":
            raise InvalidArgumentError("Invalid formatting on input string [Op:UnicodeDecode]")
        cps = cps[~invalid] if errors == "ignore" else np.where(invalid, replacement, cps).astype(np.int32)
    if control:
        cps = np.where(cps < 0x20, replacement, cps).astype(np.int32)
    return cps


def _encode_points(cps: np.ndarray, encoding: str, errors: str, replacement: int) -> bytes:
    cps = np.asarray(cps, np.int64)
    bad = (cps < 0) | (cps > 0x10FFFF) | ((cps >= 0xD800) & (cps <= 0xDFFF))
    if bad.any():
        if errors == "strict":
            raise InvalidArgumentError("Code point is out of range for Unicode, or is a surrogate. "
                                       "[Op:UnicodeEncode]")
        cps = cps[~bad] if errors == "ignore" else np.where(bad, replacement, cps)
    text = cps.astype("<u4").tobytes().decode("utf-32-le")
    return text.encode(encoding)


def _check_common(errors: str, replacement_char: int, op: str) -> None:
    check_choice(errors, _ERRORS, op, "errors")
    if not 0 <= int(replacement_char) <= 0x10FFFF:
        raise InvalidArgumentError(f"{op}: replacement_char must be a valid code point, received "
                                   f"{replacement_char}.")


# ---------------------------------------------------------------------------------------------

def unicode_decode(input: Any, input_encoding: str, errors: str = "replace",  # noqa: A002
                   replacement_char: int = 65533, replace_control_characters: bool = False,
                   name: Any = None) -> Any:
    """The Unicode code points (int32) of each string in `input_encoding`.

    A scalar gives a vector; a batch of strings gives a RaggedTensor with one row per string.
    Invalid input is replaced by `replacement_char` (errors="replace"), skipped ("ignore") or an
    InvalidArgumentError ("strict").
    """
    _check_common(errors, replacement_char, "UnicodeDecode")
    enc = _codec(input_encoding, "UnicodeDecode", "input_encoding")
    x = string_input(input, "UnicodeDecode")
    return per_string(x, lambda s: _code_points(s, enc, errors, int(replacement_char),
                                                 bool(replace_control_characters)),
                       np.int32, "unicode_decode")


def unicode_decode_with_offsets(input: Any, input_encoding: str, errors: str = "replace",  # noqa: A002
                                replacement_char: int = 65533, replace_control_characters: bool = False,
                                name: Any = None) -> tuple:
    """`unicode_decode` plus the starting byte offset (int64) of each character."""
    _check_common(errors, replacement_char, "UnicodeDecodeWithOffsets")
    enc = _codec(input_encoding, "UnicodeDecodeWithOffsets", "input_encoding")
    x = string_input(input, "UnicodeDecodeWithOffsets")

    def offsets(s: bytes) -> np.ndarray:
        spans, invalid = _spans(s, enc)
        starts = np.cumsum([0] + spans[:-1]).astype(np.int64)
        return starts[~np.asarray(invalid, bool)] if errors == "ignore" and spans else starts

    chars = unicode_decode(x, enc, errors, replacement_char, replace_control_characters)
    return chars, per_string(x, offsets, np.int64, "unicode_decode_with_offsets")


def _spans(s: bytes, enc: str) -> tuple[list, list]:
    """The byte length of each decoded character of `s` and whether it was invalid input."""
    _state.spans = []
    try:
        text = s.decode(enc, "tapeflow_mark_invalid")
    finally:
        bad_spans, _state.spans = _state.spans, None
    bad = iter(bad_spans)
    invalid = [ord(c) == _MARK for c in text]
    return [next(bad) if b else len(c.encode(enc)) for c, b in zip(text, invalid, strict=True)], invalid


def unicode_encode(input: Any, output_encoding: str, errors: str = "replace",  # noqa: A002
                   replacement_char: int = 65533, name: Any = None) -> Tensor:
    """Encode code points (int32, the last axis one string's characters) as strings in
    `output_encoding` (UTF-8, UTF-16-BE or UTF-32-BE); the result drops the last axis."""
    _check_common(errors, replacement_char, "UnicodeEncode")
    enc = _codec(output_encoding, "UnicodeEncode", "output_encoding", output=True)
    if is_ragged(input):  # rows of code points: one string per row
        if input.ragged_rank != 1 or len(input.flat_values.shape) != 1:
            raise ValueError("UnicodeEncode: RaggedTensor input must have ragged_rank 1 and rank 2, "
                             f"received shape {input.shape}.")
        values, splits = input.flat_values.numpy(), input.row_splits.numpy().tolist()
        out = np.empty(len(splits) - 1, dtype=object)
        out[:] = [_encode_points(values[a:b], enc, errors, int(replacement_char))
                  for a, b in zip(splits[:-1], splits[1:], strict=True)]
        return Tensor(out)
    x = input if isinstance(input, Tensor) else convert_to_tensor(input, dtype_hint=_dt.int32)
    if not x.dtype.is_integer:
        raise TypeError(f"UnicodeEncode: `input` must hold int32 code points, received dtype {x.dtype.name}.")
    if len(x.shape) == 0:
        raise ValueError("UnicodeEncode: `input` must have rank >= 1 (its last axis holds characters).")

    def encode(a: np.ndarray) -> np.ndarray:
        rows = a.reshape(-1, a.shape[-1]) if a.shape[-1] else np.zeros((int(np.prod(a.shape[:-1])), 0))
        out = np.empty(rows.shape[0], dtype=object)
        out[:] = [_encode_points(r, enc, errors, int(replacement_char)) for r in rows]
        return out.reshape(a.shape[:-1])

    return apply("UnicodeEncode", encode, x)


@ragged_elementwise
def unicode_transcode(input: Any, input_encoding: str, output_encoding: str, errors: str = "replace",  # noqa: A002
                      replacement_char: int = 65533, replace_control_characters: bool = False,
                      name: Any = None) -> Tensor:
    """Re-encode each string from `input_encoding` to `output_encoding` (UTF-8, UTF-16-BE or
    UTF-32-BE), handling invalid input as `errors` says."""
    _check_common(errors, replacement_char, "UnicodeTranscode")
    src = _codec(input_encoding, "UnicodeTranscode", "input_encoding")
    dst = _codec(output_encoding, "UnicodeTranscode", "output_encoding", output=True)
    rep, ctrl = int(replacement_char), bool(replace_control_characters)

    def one(s: bytes) -> bytes:
        cps = _code_points(s, src, errors, rep, ctrl)
        return _encode_points(cps, dst, "replace", rep)

    return apply("UnicodeTranscode", lambda a: elementwise(one, a), string_input(input, "UnicodeTranscode"))


def unicode_split(input: Any, input_encoding: str, errors: str = "replace",  # noqa: A002
                  replacement_char: int = 65533, name: Any = None) -> Any:
    """Each string split into its characters (strings in `input_encoding`): a vector for a
    scalar, a RaggedTensor for a batch."""
    _check_common(errors, replacement_char, "UnicodeSplit")
    enc = _codec(input_encoding, "UnicodeSplit", "input_encoding")
    x = string_input(input, "UnicodeSplit")

    def split(s: bytes) -> np.ndarray:
        cps = _code_points(s, enc, errors, int(replacement_char), False)
        out = np.empty(len(cps), dtype=object)
        out[:] = [chr(c).encode(enc) for c in cps.tolist()]
        return out

    return per_string(x, split, object, "unicode_split")


def unicode_split_with_offsets(input: Any, input_encoding: str, errors: str = "replace",  # noqa: A002
                               replacement_char: int = 65533, name: Any = None) -> tuple:
    """`unicode_split` plus the starting byte offset (int64) of each character."""
    chars = unicode_split(input, input_encoding, errors, replacement_char)
    _, offsets = unicode_decode_with_offsets(input, input_encoding, errors, replacement_char)
    return chars, offsets


def bytes_split(input: Any, name: Any = None) -> Any:  # noqa: A002
    """Each string split into single bytes: a vector for a scalar, a RaggedTensor for a batch."""
    x = string_input(input, "bytes_split")

    def split(s: bytes) -> np.ndarray:
        out = np.empty(len(s), dtype=object)
        out[:] = [s[i:i + 1] for i in range(len(s))]
        return out

    return per_string(x, split, object, "bytes_split")

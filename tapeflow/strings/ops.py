"""`tf.strings` ops on dense string tensors: lengths, slices, joins, case, whitespace, number
conversions, formatting, n-grams, segment joins and hash buckets. Values and errors follow TF.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow import fingerprint
from tapeflow import string_values as _sv
from tapeflow.errors import InvalidArgumentError
from tapeflow.strings import hashing
from tapeflow.strings.base import (
    apply,
    as_bytes,
    check_choice,
    elementwise,
    int_input,
    is_ragged,
    ragged_elementwise,
    string_input,
)
from tapeflow.tensor import Tensor, convert_to_tensor

_UNITS = ("BYTE", "UTF8_CHAR")
_CONTINUATION = bytes(range(0x80, 0xC0))  # UTF-8 continuation bytes


def _char_count(s: bytes) -> int:
    # NOTE: like TF, a UTF-8 character is counted at each byte that does not continue one, so
    # invalid UTF-8 still has a definite length.
    return len(s.translate(None, _CONTINUATION))


def _lengths(a: np.ndarray, unit: str) -> np.ndarray:
    return elementwise(len if unit == "BYTE" else _char_count, a, dtype=np.int32)


@ragged_elementwise
def length(input: Any, unit: str = "BYTE", name: Any = None) -> Tensor:  # noqa: A002
    """The length of each string in bytes (`unit="BYTE"`) or UTF-8 characters ("UTF8_CHAR").

    Returns an int32 tensor of the input's shape.
    """
    check_choice(unit, _UNITS, "StringLength", "unit")
    return apply("StringLength", _lengths, string_input(input, "StringLength"), unit=unit)


# ---------------------------------------------------------------------------------------------

def _char_starts(s: bytes) -> list:
    return [i for i, b in enumerate(s) if b & 0xC0 != 0x80]


def _substr_one(s: bytes, pos: int, n: int, unit: str) -> bytes:
    if unit == "BYTE":
        if pos < 0:
            pos += len(s)
        return s[pos:pos + n]
    starts = _char_starts(s)
    size = len(starts)
    if pos < 0:
        pos += size
    end = min(pos + n, size)
    a = starts[pos] if pos < size else len(s)
    b = starts[end] if end < size else len(s)
    return s[a:b]


def _substr(a: np.ndarray, pos: np.ndarray, n: np.ndarray, unit: str) -> np.ndarray:
    a_b, pos_b, _ = np.broadcast_arrays(a, pos, n)
    size = _lengths(a_b, unit)
    bad = (pos_b > size) | (pos_b < -size)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        text = f" {a_b.reshape(-1)[i]!r}" if unit == "BYTE" else ""
        raise InvalidArgumentError(f"pos {int(pos_b.reshape(-1)[i])} out of range for string{text} "
                                   f"at index {i} [Op:Substr]")
    if (n < 0).any():
        raise InvalidArgumentError(f"Substr: `len` must be non-negative, received {n.min()}.")
    return elementwise(lambda s, p, k: _substr_one(s, int(p), int(k), unit), a, pos, n)


@ragged_elementwise
def substr(input: Any, pos: Any, len: Any, unit: str = "BYTE", name: Any = None) -> Tensor:  # noqa: A002
    """Substrings starting at `pos` of `len` bytes or UTF-8 characters (`unit`).

    `pos` and `len` broadcast against `input`; a negative `pos` counts from the end. A `pos`
    outside a string is an InvalidArgumentError; a `len` past the end is clipped.
    """
    check_choice(unit, _UNITS, "Substr", "unit")
    x = string_input(input, "Substr")
    p, k = int_input(pos, "Substr", "pos"), int_input(len, "Substr", "len")
    if p.dtype != k.dtype:
        raise TypeError(f"Substr: `pos` and `len` must have the same dtype, received {p.dtype.name} "
                        f"and {k.dtype.name}.")
    return apply("Substr", _substr, x, p, k, unit=unit,
                 stand_in=lambda *arrays: _sv.empty_strings(np.broadcast_shapes(*(a.shape for a in arrays))))


# ---------------------------------------------------------------------------------------------

def join(inputs: Any, separator: str = "", name: Any = None) -> Tensor:
    """Elementwise concatenation of the (broadcast) string tensors in `inputs` with `separator`.

    Example: `join([["a", "b"], "!"], separator="-")` is `[b"a-!", b"b-!"]`.
    """
    if isinstance(inputs, (Tensor, str, bytes)):
        raise TypeError(f"StringJoin: `inputs` must be a list of string tensors, received {inputs!r}.")
    xs = [string_input(x, "StringJoin", f"inputs[{i}]") for i, x in enumerate(inputs)]
    if not xs:
        raise ValueError("StringJoin: `inputs` must hold at least one tensor.")
    sep = as_bytes(separator, "StringJoin", "separator")
    return apply("StringJoin", lambda *arrs: elementwise(lambda *parts: sep.join(parts), *arrs), *xs)


def _axes(axis: Any, rank: int, op: str) -> list:
    if axis is None:
        return list(range(rank))
    if isinstance(axis, Tensor):
        axis = axis.numpy().tolist()
    items = axis if isinstance(axis, (list, tuple)) else [axis]
    out = []
    for a in items:
        a = int(a)
        if not -rank <= a < rank:
            raise InvalidArgumentError(f"{op}: axis {a} is out of range for a tensor of rank {rank}.")
        out.append(a % rank)
    return sorted(set(out))


def _reduce_join(a: np.ndarray, axes: list, keepdims: bool, sep: bytes) -> np.ndarray:
    keep = [i for i in range(a.ndim) if i not in axes]
    out_shape = [a.shape[i] for i in keep]
    k = int(np.prod([a.shape[i] for i in axes], dtype=np.int64))
    n = int(np.prod(out_shape, dtype=np.int64))
    rows = np.transpose(a, keep + axes).reshape(n, k).tolist()
    out = np.empty(len(rows), dtype=object)
    out[:] = [sep.join(r) for r in rows]
    out = out.reshape(out_shape)
    if keepdims:
        out = out.reshape([1 if i in axes else a.shape[i] for i in range(a.ndim)])
    return out


def reduce_join(inputs: Any, axis: Any = None, keepdims: bool = False, separator: str = "",
                name: Any = None) -> Tensor:
    """Join the strings along `axis` (all axes when None) with `separator`.

    Example: `reduce_join([["a", "b"], ["c", "d"]], axis=1, separator=",")` is `[b"a,b", b"c,d"]`.
    """
    x = string_input(inputs, "ReduceJoin", "inputs")
    axes = _axes(axis, len(x.shape), "ReduceJoin")
    sep = as_bytes(separator, "ReduceJoin", "separator")
    return apply("ReduceJoin", _reduce_join, x, axes=axes, keepdims=bool(keepdims), sep=sep)


# ---------------------------------------------------------------------------------------------

@ragged_elementwise
def strip(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """Remove leading and trailing ASCII whitespace from each string."""
    return apply("StringStrip", lambda a: elementwise(bytes.strip, a), string_input(input, "StringStrip"))


def _case(fn_ascii: Any, fn_text: Any, encoding: str) -> Any:
    if encoding == "":
        return lambda a: elementwise(fn_ascii, a)
    return lambda a: elementwise(lambda s: fn_text(s.decode("utf-8")).encode("utf-8"), a)


@ragged_elementwise
def lower(input: Any, encoding: str = "", name: Any = None) -> Tensor:  # noqa: A002
    """Lower-case each string: ASCII letters only (`encoding=""`) or all of Unicode ("utf-8")."""
    check_choice(encoding, ("", "utf-8"), "StringLower", "encoding")
    return apply("StringLower", _case(bytes.lower, str.lower, encoding), string_input(input, "StringLower"))


@ragged_elementwise
def upper(input: Any, encoding: str = "", name: Any = None) -> Tensor:  # noqa: A002
    """Upper-case each string: ASCII letters only (`encoding=""`) or all of Unicode ("utf-8")."""
    check_choice(encoding, ("", "utf-8"), "StringUpper", "encoding")
    return apply("StringUpper", _case(bytes.upper, str.upper, encoding), string_input(input, "StringUpper"))


# ---------------------------------------------------------------------------------------------

_NUMBER_TYPES = (_dt.float32, _dt.float64, _dt.int32, _dt.int64)


class _Unparsable(Exception):
    pass


def _parse(s: bytes, integer: bool, lo: int, hi: int) -> Any:
    t = s.strip()
    if b"_" in t:  # Python's int/float accept digit separators; C's strto* do not
        raise _Unparsable(s)
    try:
        if integer:
            v = int(t)
            if not lo <= v <= hi:
                raise _Unparsable(s)
            return v
        if t.lstrip(b"+-")[:2].lower() == b"0x":
            return float.fromhex(t.decode("ascii"))  # strtod reads hexadecimal floats too
        return float(t)
    except (ValueError, UnicodeDecodeError):
        raise _Unparsable(s) from None


def _to_number(a: np.ndarray, np_dtype: np.dtype) -> np.ndarray:
    integer = np_dtype.kind == "i"
    lo, hi = (int(np.iinfo(np_dtype).min), int(np.iinfo(np_dtype).max)) if integer else (0, 0)
    try:
        values = elementwise(lambda s: _parse(s, integer, lo, hi), a)
    except _Unparsable as e:
        raise InvalidArgumentError("StringToNumberOp could not correctly convert string: "
                                   f"{e.args[0].decode('utf-8', 'replace')} [Op:StringToNumber]") from None
    with np.errstate(over="ignore"):  # out of float32 range reads as inf, as in TF
        return values.astype(np.float64 if not integer else np_dtype).astype(np_dtype)


@ragged_elementwise
def to_number(string_tensor: Any, out_type: Any = _dt.float32, name: Any = None) -> Tensor:
    """Parse each string as a number of `out_type` (float32, float64, int32 or int64).

    Surrounding whitespace is ignored; "inf", "nan" and hexadecimal floats parse as in C. A
    string that is not a number (or an integer out of range) is an InvalidArgumentError.
    """
    dtype = _dt.as_dtype(out_type)
    if dtype not in _NUMBER_TYPES:
        raise TypeError(f"StringToNumber: `out_type` must be float32, float64, int32 or int64, "
                        f"received {dtype.name}.")
    x = string_input(string_tensor, "StringToNumber", "string_tensor")
    return apply("StringToNumber", _to_number, x, np_dtype=dtype._np)


# ---------------------------------------------------------------------------------------------

def _format_spec(kind: str, precision: int, scientific: bool, shortest: bool, width: int,
                 fill: str) -> str:
    if len(fill) > 1:
        raise InvalidArgumentError("Fill string must be one or fewer characters [Op:AsString]")
    if fill and fill not in " +-0#":
        raise InvalidArgumentError(f"Fill argument not supported: {fill!r} [Op:AsString]")
    if scientific and shortest:
        raise InvalidArgumentError("Cannot select both scientific and shortest notation [Op:AsString]")
    if kind not in "fc" and (scientific or shortest or precision > -1):
        raise InvalidArgumentError("scientific, shortest and precision apply only to floating-point "
                                   "and complex inputs [Op:AsString]")
    spec = "%" + fill + (str(width) if width > -1 else "")
    if kind in "fc":
        spec += (f".{precision}" if precision > -1 else "") + ("e" if scientific else "g" if shortest else "f")
    else:
        spec += "s" if kind in "bO" else "d"
    return spec


def _as_string(a: np.ndarray, spec: str) -> np.ndarray:
    kind = a.dtype.kind
    if kind == "b":
        return elementwise(lambda v: (spec % ("true" if v else "false")).encode(), a)
    if kind == "O":
        return elementwise(lambda s: (spec % s.decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape"), a)
    if kind == "c":
        return elementwise(lambda v: f"({spec % v.real},{spec % v.imag})".encode(), a)
    return elementwise(lambda v: (spec % v).encode(), a)


@ragged_elementwise
def as_string(input: Any, precision: int = -1, scientific: bool = False, shortest: bool = False,  # noqa: A002
              width: int = -1, fill: str = "", name: Any = None) -> Tensor:
    """Each element as text, formatted as C's printf does (`%f`, `%e` with `scientific`, `%g`
    with `shortest`, `precision` digits, padded to `width` with `fill`); bools as true/false.
    """
    x = input if isinstance(input, Tensor) else convert_to_tensor(input)
    spec = _format_spec(x.dtype._np.kind, int(precision), bool(scientific), bool(shortest),
                        int(width), str(fill))
    return apply("AsString", _as_string, x, spec=spec)


# ---------------------------------------------------------------------------------------------

def _format(*arrays: Any, pieces: list, summarize: int) -> np.ndarray:
    from tapeflow.tracing.printing import format_value

    text = pieces[0]
    for arr, piece in zip(arrays, pieces[1:], strict=True):
        text += format_value(arr, summarize) + piece
    return _sv.scalar(text.encode("utf-8"))


def format(template: str, inputs: Any, placeholder: str = "{}", summarize: int = 3,  # noqa: A001
           name: Any = None) -> Tensor:
    """A scalar string: `template` with each `placeholder` replaced by the next input tensor,
    printed as `tf.print` prints it (first and last `summarize` entries of long dimensions).
    """
    if isinstance(inputs, (list, tuple)):
        xs = [x if isinstance(x, Tensor) else convert_to_tensor(x) for x in inputs]
    else:
        xs = [inputs if isinstance(inputs, Tensor) else convert_to_tensor(inputs)]
    pieces = str(template).split(placeholder)
    if len(pieces) - 1 != len(xs):
        raise ValueError(f"The template expects {len(pieces) - 1} tensors, but the inputs only has "
                         f"{len(xs)}. Please ensure the number of placeholders in template matches "
                         "inputs length.")
    return apply("StringFormat", _format, *xs, pieces=pieces, summarize=int(summarize))


# ---------------------------------------------------------------------------------------------

def _ngrams(a: np.ndarray, widths: list, sep: bytes, pads: Any, padding_width: int,
            preserve: bool) -> np.ndarray:
    n = a.shape[-1]
    lead = a.shape[:-1]
    outs = []
    for w in widths:
        pw = 0 if pads is None else min(w - 1 if padding_width < 0 else padding_width, w - 1)
        seq = a
        if pw:
            left = np.full(lead + (pw,), pads[0], dtype=object)
            right = np.full(lead + (pw,), pads[1], dtype=object)
            seq = np.concatenate([left, a, right], axis=-1)
        count = n + 2 * pw - w + 1
        if count <= 0:
            if preserve and n > 0 and not outs:
                outs.append(_reduce_join(seq, [seq.ndim - 1], True, sep))
            continue
        gram = seq[..., 0:count]
        for k in range(1, w):
            gram = gram + sep + seq[..., k:k + count]
        outs.append(gram)
    if not outs:
        return np.empty(lead + (0,), dtype=object)
    return np.concatenate(outs, axis=-1)


def ngrams(data: Any, ngram_width: Any, separator: str = " ", pad_values: Any = None,
           padding_width: Any = None, preserve_short_sequences: bool = False,
           name: Any = None) -> Tensor:
    """The n-grams of `ngram_width` (an int or a list of ints) along the last axis of `data`,
    each joined with `separator`; `pad_values` (one string or a (left, right) pair) pads each
    sequence by `padding_width` (default width - 1) on both sides.

    Example: `ngrams(["a", "b", "c"], 2)` is `[b"a b", b"b c"]`.
    """
    if is_ragged(data):
        return _ragged_ngrams(data, ngram_width, separator, pad_values, padding_width,
                              preserve_short_sequences)
    x = string_input(data, "StringNGrams", "data")
    if len(x.shape) == 0:
        raise ValueError("ngrams: `data` must have rank >= 1, received a scalar.")
    widths = [int(w) for w in (ngram_width if isinstance(ngram_width, (list, tuple)) else [ngram_width])]
    if any(w < 1 for w in widths):
        raise InvalidArgumentError(f"StringNGrams: ngram widths must be greater than 0, received {widths}.")
    pads = None
    if pad_values is not None:
        pair = pad_values if isinstance(pad_values, (list, tuple)) else (pad_values, pad_values)
        if len(pair) != 2:
            raise ValueError(f"ngrams: pad_values must be a string or a pair, received {pad_values!r}.")
        pads = tuple(as_bytes(p, "StringNGrams", "pad_values") for p in pair)
    if padding_width is not None and int(padding_width) < 1:
        raise ValueError(f"ngrams: padding_width must be > 0, received {padding_width}.")
    return apply("StringNGrams", _ngrams, x, widths=widths, sep=as_bytes(separator, "StringNGrams", "separator"),
                 pads=pads, padding_width=-1 if padding_width is None else int(padding_width),
                 preserve=bool(preserve_short_sequences))


def _ragged_ngrams(data: Any, *args: Any) -> Any:
    """ngrams of each row of a RaggedTensor of tokens (ragged_rank 1): ragged rows of n-grams."""
    from tapeflow.strings.rows import rows_to_ragged

    if data.ragged_rank != 1 or len(data.flat_values.shape) != 1:
        raise ValueError(f"ngrams: RaggedTensor data must have ragged_rank 1 and rank 2, received "
                         f"ragged_rank {data.ragged_rank} and shape {data.shape}.")
    values = data.flat_values.numpy()
    splits = data.row_splits.numpy().tolist()
    rows = [ngrams(Tensor(values[a:b]), *args).numpy() for a, b in zip(splits[:-1], splits[1:], strict=True)]
    return rows_to_ragged(rows, (len(rows),), object)


def _segment_join(a: np.ndarray, ids: np.ndarray, num: Any, sep: bytes) -> np.ndarray:
    num = int(np.asarray(num))
    if ids.shape != a.shape[:ids.ndim]:
        raise InvalidArgumentError(f"UnsortedSegmentJoin: segment_ids shape {ids.shape} must be a "
                                   f"prefix of the input shape {a.shape}.")
    flat_ids = ids.reshape(-1)
    if flat_ids.size and (flat_ids.min() < 0 or flat_ids.max() >= num):
        raise InvalidArgumentError("segment_ids are not allowed to exceed num_segments or to have "
                                   "negative values. [Op:UnsortedSegmentJoin]")
    rows = a.reshape((flat_ids.size,) + a.shape[ids.ndim:])
    out = _sv.empty_strings((num,) + a.shape[ids.ndim:])
    order = np.argsort(flat_ids, kind="stable")
    bounds = np.searchsorted(flat_ids[order], np.arange(num + 1))
    for s in np.flatnonzero(np.diff(bounds)):  # one join per non-empty segment
        members = rows[order[bounds[s]:bounds[s + 1]]]
        out[s] = reduce(lambda x, y: x + sep + y, members)
    return out


def unsorted_segment_join(inputs: Any, segment_ids: Any, num_segments: Any, separator: str = "",
                          name: Any = None) -> Tensor:
    """Join the rows of `inputs` that share a segment id (in input order) with `separator`.

    `segment_ids` has a prefix of `inputs`' shape; the result has shape
    `[num_segments] + inputs.shape[segment_ids.rank:]`, empty strings for empty segments.
    """
    x = string_input(inputs, "UnsortedSegmentJoin", "inputs")
    ids = int_input(segment_ids, "UnsortedSegmentJoin", "segment_ids")
    num = int_input(num_segments, "UnsortedSegmentJoin", "num_segments")
    return apply("UnsortedSegmentJoin", _segment_join, x, ids, num,
                 sep=as_bytes(separator, "UnsortedSegmentJoin", "separator"),
                 stand_in=lambda a, i, n: _sv.empty_strings((max(int(n), 0),) + a.shape[i.ndim:]))


# ---------------------------------------------------------------------------------------------

def _buckets(num_buckets: Any, op: str) -> int:
    n = int(num_buckets)
    if n < 1:
        raise InvalidArgumentError(f"{op}: num_buckets must be >= 1, received {n}.")
    return n


@ragged_elementwise
def to_hash_bucket_fast(input: Any, num_buckets: int, name: Any = None) -> Tensor:  # noqa: A002
    """FarmHash Fingerprint64 of each string modulo `num_buckets` (int64), as TF computes it."""
    n = _buckets(num_buckets, "StringToHashBucketFast")
    x = string_input(input, "StringToHashBucketFast")
    def buckets(a: np.ndarray) -> np.ndarray:
        hashes = fingerprint.fingerprint64(a.reshape(-1).tolist())
        return (hashes % np.uint64(n)).astype(np.int64).reshape(a.shape)

    return apply("StringToHashBucketFast", buckets, x)


@ragged_elementwise
def to_hash_bucket_strong(input: Any, num_buckets: int, key: Any, name: Any = None) -> Tensor:  # noqa: A002
    """Keyed SipHash-2-4 of each string modulo `num_buckets` (int64); `key` is two integers."""
    n = _buckets(num_buckets, "StringToHashBucketStrong")
    key = list(key.numpy().tolist() if isinstance(key, Tensor) else key)
    if len(key) != 2:
        raise InvalidArgumentError(f"StringToHashBucketStrong: key must have 2 elements, received {key}.")
    pair = tuple(int(k) & hashing.M64 for k in key)  # negative keys are their uint64 bits
    x = string_input(input, "StringToHashBucketStrong")

    def buckets(a: np.ndarray) -> np.ndarray:
        hashes = fingerprint.siphash64(a.reshape(-1).tolist(), pair)
        return (hashes % np.uint64(n)).astype(np.int64).reshape(a.shape)

    return apply("StringToHashBucketStrong", buckets, x)


@ragged_elementwise
def to_hash_bucket(string_tensor: Any, num_buckets: int, name: Any = None) -> Tensor:
    """TF's legacy 64-bit hash of each string modulo `num_buckets` (int64). Prefer
    `to_hash_bucket_fast`, which TF recommends."""
    n = _buckets(num_buckets, "StringToHashBucket")
    x = string_input(string_tensor, "StringToHashBucket", "string_tensor")
    return apply("StringToHashBucket",
                 lambda a: elementwise(lambda s: hashing.murmur64(s) % n, a, dtype=np.int64), x)

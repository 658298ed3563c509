"""`tf.sparse.cross` / `cross_hashed`: per row, every combination of one feature from each input, as strings.

The combinations of a row are enumerated in row-major order (the first input varies slowest) by
mixed-radix arithmetic on index arrays, for all rows at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.fingerprint import fingerprint64, fingerprint_cat64
from tapeflow.ragged import rows as _rows
from tapeflow.sparse.sparse_tensor import SparseTensor
from tapeflow.tensor import Tensor, convert_to_tensor

_DEFAULT_HASH_KEY = 0xDECAFCAFFE  # TF's default `hash_key` (its FingerprintCat64 seed)


def _as_bytes(values: np.ndarray) -> np.ndarray:
    """Feature values as an object array of bytes (integers in decimal, as TF)."""
    if values.dtype.kind == "O":
        return values
    return np.char.encode(values.astype(str)).astype(object)


def _fingerprints(values: np.ndarray) -> np.ndarray:
    """Fingerprint64 of string features; int64 features are their own fingerprint (uint64)."""
    if values.dtype.kind == "O":
        return fingerprint64(list(values))
    return values.astype(np.int64).view(np.uint64)


def _features(x: Any, nrows: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(row splits, feature values) of one input, a SparseTensor or a dense [batch, k]."""
    if isinstance(x, SparseTensor):
        idx = backend.to_numpy(x.indices._value)
        n = x._shape_tuple()[0]
        lengths = np.bincount(idx[:, 0], minlength=n) if len(idx) else np.zeros(n, np.int64)
        order = np.argsort(idx[:, 0], kind="stable")
        vals = backend.to_numpy(x.values._value)[order]
    else:
        t = x if isinstance(x, Tensor) else convert_to_tensor(x)
        if t.ndim != 2:
            raise ValueError(f"tf.sparse.cross: dense inputs must have rank 2, received shape "
                             f"{tuple(t.shape)}.")
        v = backend.to_numpy(t._value)
        lengths = np.full(v.shape[0], v.shape[1], np.int64)
        vals = v.reshape(-1)
    if vals.dtype.kind not in "iuO":
        raise TypeError(f"tf.sparse.cross: features must be strings or int64, received dtype "
                        f"{vals.dtype}.")
    if nrows is not None and len(lengths) != nrows:
        raise ValueError(f"tf.sparse.cross: every input needs {nrows} rows, received "
                         f"{len(lengths)}.")
    return _rows.splits_from_lengths(np, lengths), vals


def _combinations(inputs: Any, convert: Callable) -> tuple[list, np.ndarray, int]:
    """For every crossed combination, one feature (converted) per input; the output splits."""
    inputs = list(inputs)
    if not inputs:
        raise ValueError("tf.sparse.cross: expected at least one input.")
    parts, nrows = [], None
    for x in inputs:
        splits, vals = _features(x, nrows)
        nrows = len(splits) - 1
        parts.append((splits, convert(vals)))
    counts = [s[1:] - s[:-1] for s, _ in parts]
    out_splits = _rows.splits_from_lengths(np, np.prod(np.stack(counts), axis=0))
    row = _rows.row_ids(np, out_splits)
    j = _rows.positions(np, out_splits, row)
    pieces = []
    for (splits, vals), c in zip(reversed(parts), reversed(counts), strict=True):
        cr = c[row]
        pieces.append(vals[splits[:-1][row] + j % cr])
        j = j // cr
    return pieces[::-1], out_splits, nrows


def _sparse_rows(values: np.ndarray, out_splits: np.ndarray, nrows: int) -> SparseTensor:
    row = _rows.row_ids(np, out_splits)
    lengths = out_splits[1:] - out_splits[:-1]
    width = int(lengths.max()) if len(lengths) else 0
    idx = np.stack([row, _rows.positions(np, out_splits, row)], axis=1).astype(np.int64)
    return SparseTensor(idx, Tensor(values), [nrows, width])


def sparse_first(inputs: Any) -> list:
    """The inputs in the order TF's SparseCross kernel crosses them: the SparseTensors (in their
    order), then the dense tensors (`tf.ragged.cross` keeps the given order instead)."""
    inputs = list(inputs)
    return ([x for x in inputs if isinstance(x, SparseTensor)]
            + [x for x in inputs if not isinstance(x, SparseTensor)])


def cross(inputs: Any, name: Any = None, separator: Any = None) -> SparseTensor:
    """Crossed string features of SparseTensor / dense inputs, joined with `separator` ("_X_").

    Row r of the output holds every combination of one feature of row r from each input, the
    first input varying slowest; as in TF, the SparseTensor inputs come first, then the dense
    ones. Example:
        >>> tf.sparse.cross([tf.constant([[b"a"]]), tf.constant([[b"b", b"c"]])]).values.numpy()
        array([b'a_X_b', b'a_X_c'], dtype=object)
    """
    return cross_in_order(sparse_first(inputs), separator)


def cross_in_order(inputs: Any, separator: Any = None) -> SparseTensor:
    """`cross` with the inputs crossed in the given order."""
    sep = (b"_X_" if separator is None else separator.encode() if isinstance(separator, str)
           else bytes(separator))
    pieces, out_splits, nrows = _combinations(inputs, _as_bytes)
    out = pieces[0].copy()
    for p in pieces[1:]:
        out = out + sep + p
    return _sparse_rows(out.astype(object), out_splits, nrows)


def cross_hashed(inputs: Any, num_buckets: int = 0, hash_key: Any = None,
                 name: Any = None) -> SparseTensor:
    """Like `cross`, each combination hashed (FingerprintCat64 of the features' Fingerprint64s,
    starting from `hash_key`), modulo `num_buckets` (int64's maximum when 0); int64 values."""
    return cross_hashed_in_order(sparse_first(inputs), num_buckets, hash_key)


def cross_hashed_in_order(inputs: Any, num_buckets: int = 0, hash_key: Any = None) -> SparseTensor:
    """`cross_hashed` with the inputs crossed in the given order."""
    pieces, out_splits, nrows = _combinations(inputs, _fingerprints)
    key = _DEFAULT_HASH_KEY if hash_key is None else int(hash_key)
    h = np.full(len(pieces[0]), np.uint64(key))
    for p in pieces:
        h = fingerprint_cat64(h, p)
    # NOTE: without buckets TF still takes the hash modulo int64's maximum (not a bit mask).
    limit = int(num_buckets) if num_buckets > 0 else np.iinfo(np.int64).max
    h = h % np.uint64(limit)
    return _sparse_rows(h.astype(np.int64), out_splits, nrows)

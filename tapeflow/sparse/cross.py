"""`tf.sparse.cross`: per row, every combination of one feature from each input, as strings.

The combinations of a row are enumerated in row-major order (the first input varies slowest) by
mixed-radix arithmetic on index arrays, for all rows at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.ragged import rows as _rows
from tapeflow.sparse.sparse_tensor import SparseTensor
from tapeflow.tensor import Tensor, convert_to_tensor


def _as_bytes(values: np.ndarray) -> np.ndarray:
    """Feature values as an object array of bytes (integers in decimal, as TF)."""
    if values.dtype.kind == "O":
        return values
    if values.dtype.kind not in "iu":
        raise TypeError(f"tf.sparse.cross: features must be strings or int64, received dtype "
                        f"{values.dtype}.")
    return np.char.encode(values.astype(str)).astype(object)


def _features(x: Any, nrows: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(row splits, feature values as bytes) of one input, a SparseTensor or a dense [batch, k]."""
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
    if nrows is not None and len(lengths) != nrows:
        raise ValueError(f"tf.sparse.cross: every input needs {nrows} rows, received "
                         f"{len(lengths)}.")
    return _rows.splits_from_lengths(np, lengths), _as_bytes(vals)


def cross(inputs: Any, name: Any = None, separator: Any = None) -> SparseTensor:
    """Crossed string features of SparseTensor / dense inputs, joined with `separator` ("_X_").

    Example:
        >>> tf.sparse.cross([tf.constant([[b"a"]]), tf.constant([[b"b", b"c"]])]).values.numpy()
        array([b'a_X_b', b'a_X_c'], dtype=object)
    """
    inputs = list(inputs)
    if not inputs:
        raise ValueError("tf.sparse.cross: expected at least one input.")
    sep = (b"_X_" if separator is None else separator.encode() if isinstance(separator, str)
           else bytes(separator))
    parts, nrows = [], None
    for x in inputs:
        splits, vals = _features(x, nrows)
        nrows = len(splits) - 1
        parts.append((splits, vals))
    counts = [s[1:] - s[:-1] for s, _ in parts]
    total = np.prod(np.stack(counts), axis=0) if counts else np.zeros(nrows, np.int64)
    out_splits = _rows.splits_from_lengths(np, total)
    row = _rows.row_ids(np, out_splits)
    j = _rows.positions(np, out_splits, row)
    pieces = []
    for (splits, vals), c in zip(reversed(parts), reversed(counts), strict=True):
        cr = c[row]
        pieces.append(vals[splits[:-1][row] + j % cr])
        j = j // cr
    pieces.reverse()
    out = pieces[0].copy()
    for p in pieces[1:]:
        out = out + sep + p
    width = int(total.max()) if len(total) else 0
    idx = np.stack([row, _rows.positions(np, out_splits, row)], axis=1).astype(np.int64)
    return SparseTensor(idx, Tensor(out.astype(object)), [nrows, width])

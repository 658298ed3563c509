"""Host-side values for the lookup, hashing and text layers: inputs to NumPy, outputs to tensors.

These layers work like TF's lookup tables: on the host, on whole arrays. Inputs (tensors,
NumPy arrays, lists, scalars, string tensors, ragged tensors) become NumPy arrays here: int64
for integer features, object arrays of `bytes` for strings (TF's representation of
`tf.string` values). Outputs go back to tensors, string results to `tf.string` tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow import backend as _backend
from tapeflow.tensor import Tensor


def ragged_type() -> Any:
    """`tf.RaggedTensor` when this build has it, else None."""
    return getattr(tf, "RaggedTensor", None)


def is_ragged(x: Any) -> bool:
    cls = ragged_type()
    return cls is not None and isinstance(x, cls)


def is_sparse(x: Any) -> bool:
    cls = getattr(tf, "SparseTensor", None)
    return cls is not None and isinstance(x, cls)


def to_sparse(dense: Any) -> Any:
    """A `tf.SparseTensor` of the nonzero entries of `dense` (sparse=True outputs)."""
    return tf.sparse.from_dense(dense)


def map_sparse_values(x: Any, fn: Any, layer: str, output_mode: str) -> Any:
    """A SparseTensor input with `fn` applied to its values ("int" mode keeps the sparsity)."""
    if output_mode != "int":
        raise ValueError(f"{layer}: SparseTensor inputs are supported with output_mode='int' (the values are "
                         f"mapped, the sparsity kept); received output_mode={output_mode!r}.")
    return tf.SparseTensor(x.indices, fn(x.values), x.dense_shape)


def to_array(x: Any) -> np.ndarray:
    """A NumPy array of `x` (a tensor's value, an array, a list or a scalar)."""
    if is_sparse(x) or is_ragged(x):
        raise TypeError(f"Expected a dense tensor, received a {type(x).__name__}.")
    if isinstance(x, Tensor):
        if x._value is None:
            raise ValueError(f"Expected a tensor with a value, received the symbolic tensor {x!r}.")
        return np.asarray(_backend.to_numpy(x._value))
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        return np.asarray(x.numpy())
    return np.asarray(x)


def is_string_array(a: np.ndarray) -> bool:
    if a.dtype.kind in "SU":
        return True
    if a.dtype == object:
        return a.size == 0 or isinstance(a.reshape(-1)[0], (bytes, str))
    return False


def as_bytes(a: np.ndarray, encoding: str = "utf-8") -> np.ndarray:
    """An object array of `bytes` with `a`'s shape (str values are encoded; no copy when `a`
    already holds bytes, as string tensors do)."""
    if a.dtype.kind == "S":
        return a.astype(object)
    flat = a.reshape(-1).tolist()
    if a.dtype == object and all(type(v) is bytes for v in flat):
        return a
    out = np.empty(len(flat), dtype=object)
    out[:] = [v.encode(encoding) if isinstance(v, str) else bytes(v) for v in flat]
    return out.reshape(a.shape)


def as_int64(a: np.ndarray, layer: str) -> np.ndarray:
    if a.dtype.kind in "iub":
        return a.astype(np.int64)
    if a.dtype.kind == "f":
        return a.astype(np.int64)
    raise ValueError(f"{layer}: expected integer inputs, received an array of dtype {a.dtype}.")


def string_tensor(values: np.ndarray) -> Tensor:
    """A `tf.string` tensor holding the `bytes` in `values`."""
    try:
        return tf.constant(values, dtype=tf.string)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "This layer returns strings, and this build of Tapeflow has no tf.string tensors yet "
            f"({exc})."
        ) from exc


def decode(values: Any, encoding: str = "utf-8") -> Any:
    """`bytes` to `str` (leaves other values alone), for vocabularies returned to users."""
    return values.decode(encoding) if isinstance(values, bytes) else values


def ragged_from_rows(rows: list[np.ndarray], dtype: Any) -> Any:
    """A `tf.RaggedTensor` of the 1-D arrays `rows` (ragged=True outputs)."""
    cls = ragged_type()
    if cls is None:
        raise TypeError(
            "ragged=True needs tf.RaggedTensor, which this build of Tapeflow does not have yet; "
            "use ragged=False (padded outputs).")
    lengths = np.array([len(r) for r in rows], np.int64)
    flat = np.concatenate(rows) if rows else np.zeros(0, dtype)
    values = string_tensor(flat) if flat.dtype == object else tf.constant(flat.astype(dtype))
    return cls.from_row_lengths(values, lengths)


def ragged_rows(ragged: Any, convert: Any) -> list[np.ndarray]:
    """The outermost rows of a `tf.RaggedTensor` (all inner values of each), as `convert`ed arrays."""
    flat = convert(ragged.flat_values).reshape(-1)
    lengths = row_lengths(ragged)
    per_value = flat.size // int(lengths.sum()) if lengths.sum() else 1
    return np.split(flat, np.cumsum(lengths * per_value)[:-1])


def pad_rows(flat: np.ndarray, lengths: np.ndarray, width: int, fill: int) -> np.ndarray:
    """Rows of `flat` (split by `lengths`) in a (rows, width) matrix: truncated, padded with `fill`."""
    out = np.full((len(lengths), width), fill, np.int64)
    row = np.repeat(np.arange(len(lengths)), lengths)
    col = np.arange(flat.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    keep = col < width
    out[row[keep], col[keep]] = flat[keep]
    return out


def encode_rows(indices: np.ndarray, lengths: np.ndarray, mode: str, depth: int, dtype: Any) -> Any:
    """Encode ragged rows of int indices (flat, with row lengths) as Keras does ragged inputs:
    "one_hot" gives a RaggedTensor of one-hot rows, "multi_hot"/"count" one row per input row.
    Indices outside [0, depth) encode as nothing."""
    from tapeflow.keras.layers.categorical import encode_categorical

    indices = np.where((indices < 0) | (indices >= depth), depth, indices)
    if mode == "one_hot":
        cls = ragged_type()
        if cls is None:
            raise TypeError("output_mode='one_hot' on ragged rows gives a tf.RaggedTensor, which this build of "
                            "Tapeflow does not have.")
        hot = encode_categorical(tf.constant(indices.reshape(-1, 1)), "one_hot", depth, dtype)
        return cls.from_row_lengths(hot, lengths)
    padded = pad_rows(indices, lengths, max(int(lengths.max(initial=0)), 1), fill=depth)
    return encode_categorical(tf.constant(padded), mode, depth, dtype)


def row_lengths(ragged: Any) -> np.ndarray:
    """The lengths of a RaggedTensor's outermost rows (counting all inner values)."""
    splits = to_array(ragged.nested_row_splits[0])
    for inner in ragged.nested_row_splits[1:]:
        splits = to_array(inner)[splits]
    return np.diff(splits).astype(np.int64)

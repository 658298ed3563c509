"""`tf.io.serialize_sparse`, `serialize_many_sparse`, `deserialize_many_sparse`: a SparseTensor
as three TensorProto strings (indices, values, dense shape), byte-for-byte as TF writes them."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow import string_values as _sv
from tapeflow.errors import InvalidArgumentError, UnimplementedError
from tapeflow.io import tensor_proto
from tapeflow.tensor import Tensor, convert_to_tensor


def _sparse(sp_input: Any, op: str) -> Any:
    from tapeflow.sparse import SparseTensor

    if not isinstance(sp_input, SparseTensor):
        raise TypeError(f"{op}: `sp_input` must be a SparseTensor, received {type(sp_input).__name__}.")
    return sp_input


def _strings(blobs: list, shape: tuple) -> Tensor:
    out = _sv.empty_strings((len(blobs),))
    out[:] = blobs
    return Tensor(out.reshape(shape))


def _check_out_type(out_type: Any, op: str) -> None:
    if _dt.as_dtype(out_type) != _dt.string:
        raise UnimplementedError(None, None, f"{op}: out_type={_dt.as_dtype(out_type).name} is not supported: "
                                 "Tapeflow has no tf.variant tensors; use out_type=tf.string.")


def _host(t: Tensor) -> np.ndarray:
    return backend.to_numpy(t._value)


def serialize_sparse(sp_input: Any, out_type: Any = "string", name: Any = None) -> Tensor:
    """A [3] string tensor: the TensorProto bytes of indices, values and dense_shape."""
    sp = _sparse(sp_input, "SerializeSparse")
    _check_out_type(out_type, "SerializeSparse")
    parts = [_host(sp.indices), _host(sp.values), _host(sp.dense_shape)]
    return _strings([tensor_proto.encode(p) for p in parts], (3,))


def serialize_many_sparse(sp_input: Any, out_type: Any = "string", name: Any = None) -> Tensor:
    """An [N, 3] string tensor: row i serializes the sub-tensor `sp_input[i]` (rank >= 2), so
    `deserialize_many_sparse` can rebuild the minibatch."""
    sp = _sparse(sp_input, "SerializeManySparse")
    _check_out_type(out_type, "SerializeManySparse")
    indices, values, shape = _host(sp.indices), _host(sp.values), _host(sp.dense_shape)
    if len(shape) < 2:
        raise InvalidArgumentError(None, None, f"SerializeManySparse: the SparseTensor must have rank >= 2, "
                                   f"received rank {len(shape)}.")
    blobs = []
    for row in range(int(shape[0])):
        keep = indices[:, 0] == row
        blobs += [tensor_proto.encode(np.ascontiguousarray(indices[keep, 1:])),
                  tensor_proto.encode(values[keep]), tensor_proto.encode(shape[1:].copy())]
    return _strings(blobs, (int(shape[0]), 3))


def deserialize_many_sparse(serialized_sparse: Any, dtype: Any, rank: Any = None, name: Any = None) -> Any:
    """The SparseTensor of an [N, 3] string tensor from `serialize_many_sparse` (or N rows of
    `serialize_sparse`): entries of row i get i as their first index; the dense shape is
    [N] + the largest shape of the rows."""
    from tapeflow.sparse import SparseTensor

    t = serialized_sparse if isinstance(serialized_sparse, Tensor) else convert_to_tensor(serialized_sparse)
    arr = _host(t)
    if t.dtype != _dt.string or arr.ndim != 2 or arr.shape[1] != 3:
        raise InvalidArgumentError(None, None, f"DeserializeManySparse: serialized_sparse must be a string matrix "
                                   f"of shape [N, 3], received dtype {t.dtype.name} shape {arr.shape}.")
    want = _dt.as_dtype(dtype)
    indices, values, shapes = [], [], []
    for i, (idx_b, val_b, shape_b) in enumerate(arr.tolist()):
        try:
            idx, val, shape = (tensor_proto.decode(b) for b in (idx_b, val_b, shape_b))
        except tensor_proto.ProtoError as e:
            raise InvalidArgumentError(None, None, f"DeserializeManySparse: row {i} is not a serialized "
                                       f"SparseTensor ({e}).") from None
        if _dt.from_numpy(val.dtype) != want:
            raise InvalidArgumentError(None, None, f"Requested SparseTensor of type {want.name} but "
                                       f"SparseTensor[{i}].values.dtype() == {_dt.from_numpy(val.dtype).name}")
        if rank is not None and len(shape) + 1 != int(rank):
            raise InvalidArgumentError(None, None, f"DeserializeManySparse: row {i} has rank {len(shape)}, "
                                       f"`rank` says {int(rank) - 1}.")
        idx = idx.reshape(len(val), len(shape))
        indices.append(np.concatenate([np.full((len(val), 1), i, np.int64), idx], axis=1))
        values.append(val)
        shapes.append(shape)
    if shapes and any(len(s) != len(shapes[0]) for s in shapes):
        raise InvalidArgumentError(None, None, "DeserializeManySparse: the rows have different ranks.")
    inner = np.max(np.stack(shapes), axis=0) if shapes else np.zeros(0 if rank is None else int(rank) - 1, np.int64)
    dense_shape = np.concatenate([[len(shapes)], inner]).astype(np.int64)
    all_indices = np.concatenate(indices) if indices else np.zeros((0, len(dense_shape)), np.int64)
    all_values = np.concatenate(values) if values else np.zeros(0, want._np if want != _dt.string else object)
    return SparseTensor(all_indices, Tensor(all_values), dense_shape)

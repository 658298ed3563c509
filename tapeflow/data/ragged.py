"""Ragged elements in tf.data: `from_tensor_slices` of RaggedTensors, `ragged_batch`, and `batch`
of elements whose spec is a `RaggedTensorSpec`.

Inside the pipeline a ragged component of ragged rank 0 (a row of a rank-1 ragged tensor) is a
NumPy array whose spec is `RaggedTensorSpec(shape, dtype, 0)`; deeper ones are host RaggedTensors.
Batching such components adds one ragged axis: the batch's rows are the elements.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.data import structure
from tapeflow.data.batching import batched_cardinality
from tapeflow.data.dataset import Dataset, check_count
from tapeflow.ragged.dispatch_ops import concat_rows
from tapeflow.ragged.ragged_tensor import RaggedTensor
from tapeflow.ragged.spec import RaggedTensorSpec
from tapeflow.tensor import Tensor
from tapeflow.tracing.spec import TensorSpec


def has_ragged(value: Any) -> bool:
    """Whether a structure (of values or of specs) has a ragged leaf."""
    return any(isinstance(x, (RaggedTensor, RaggedTensorSpec)) for x in structure.flatten(value))


def _host(rt: RaggedTensor) -> RaggedTensor:
    flat = Tensor(backend.to_numpy(rt.flat_values._value))
    splits = [Tensor(backend.to_numpy(s._value)) for s in rt.nested_row_splits]
    return RaggedTensor.from_nested_row_splits(flat, splits, validate=False)


class RaggedSliceDataset(Dataset):
    """`Dataset.from_tensor_slices` of a structure with RaggedTensor leaves: element i is row i."""

    def __init__(self, tensors: Any, name: str | None = None) -> None:
        super().__init__((), name)
        what = "Dataset.from_tensor_slices"

        def leaf(v: Any) -> Any:
            return _host(v) if isinstance(v, RaggedTensor) else structure.component(v, what)

        self._struct = structure.map_leaves(leaf, _tupled(tensors))
        self._flat = structure.flatten(self._struct)
        sizes = {len(a) if isinstance(a, RaggedTensor) else int(a.shape[0]) for a in self._flat}
        if any(type(a).__name__ == "SparseTensor" and a.ndim == 0 for a in self._flat):
            raise ValueError(f"{what}: a SparseTensor component must have rank 1 or more to be sliced.")
        if len(sizes) != 1:
            raise ValueError(f"{what}: all components must have the same size in their first "
                             f"dimension, received sizes {sorted(sizes)}.")
        self._n = sizes.pop()

    def _compute_element_spec(self) -> Any:
        def spec(a: Any) -> Any:
            if isinstance(a, RaggedTensor):
                return RaggedTensorSpec(a.shape[1:], a.dtype, a.ragged_rank - 1, a.row_splits_dtype)
            if type(a).__name__ == "SparseTensor":  # rows of a SparseTensor are SparseTensors
                from tapeflow.sparse import SparseTensorSpec

                return SparseTensorSpec(a.shape[1:], a.dtype)
            return TensorSpec(a.shape[1:], _dt.from_numpy(a.dtype))
        return structure.map_leaves(spec, self._struct)

    def _compute_cardinality(self) -> int:
        return self._n

    def _iter_elements(self) -> Iterator:
        for i in range(self._n):
            row = [_row(a, i) for a in self._flat]
            yield structure.pack(self._struct, row)


def _tupled(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    return value


def _row(a: Any, i: int) -> Any:
    if type(a).__name__ == "SparseTensor":  # row i of a batched SparseTensor, in the batch's shape
        from tapeflow.sparse import SparseTensor

        idx = a.indices._value
        keep = idx[:, 0] == i
        return SparseTensor(idx[keep, 1:], Tensor(a.values._value[keep]), a.dense_shape._value[1:])
    if not isinstance(a, RaggedTensor):
        return a[i, ...]
    r = a[i]
    return r._value if isinstance(r, Tensor) else r


class RaggedBatchDataset(Dataset):
    """`ragged_batch` (and `batch` of ragged elements): ragged components gain a ragged axis.

    With `dense_to_ragged` (ragged_batch), dense components of not fully known shape become
    ragged too; components of fully known shape are stacked as `batch` does.
    """

    _tf_repr = "_BatchDataset"  # as TF's repr names it

    def __init__(self, input_ds: Dataset, batch_size: int, drop_remainder: bool,
                 row_splits_dtype: Any = _dt.int64, dense_to_ragged: bool = True,
                 name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        self._batch_size = check_count(batch_size, "Dataset.ragged_batch: `batch_size`", 1)
        self._drop = bool(drop_remainder)
        self._splits_dtype = _dt.as_dtype(row_splits_dtype)
        self._dense_to_ragged = dense_to_ragged

    def _ragged_leaf(self, s: Any) -> bool:
        if isinstance(s, RaggedTensorSpec):
            return True
        if _is_sparse_spec(s):
            return False
        return self._dense_to_ragged and (s.shape.rank is None or None in tuple(s.shape)) and bool(
            s.shape)

    def _compute_element_spec(self) -> Any:
        dim = self._batch_size if self._drop else None

        def spec(s: Any) -> Any:
            shape = (dim,) + tuple(s.shape)
            if isinstance(s, RaggedTensorSpec):
                return RaggedTensorSpec(shape, s.dtype, s.ragged_rank + 1, self._splits_dtype)
            if self._ragged_leaf(s):
                return RaggedTensorSpec(shape, s.dtype, len(s.shape), self._splits_dtype)
            if _is_sparse_spec(s):  # SparseTensor elements batch into one SparseTensor
                return type(s)(shape, s.dtype)
            return TensorSpec(shape, s.dtype)
        return structure.map_leaves(spec, self._inputs[0].element_spec)

    def _compute_cardinality(self) -> int:
        return batched_cardinality(self._inputs[0]._compute_cardinality(), self._batch_size,
                                   self._drop)

    def _iter_elements(self) -> Iterator:
        specs = structure.flatten(self._inputs[0].element_spec)
        pending: list = []
        for element in self._inputs[0]._iter_elements():
            pending.append(element)
            if len(pending) == self._batch_size:
                yield self._batch(pending, specs)
                pending = []
        if pending and not self._drop:
            yield self._batch(pending, specs)

    def _batch(self, elements: list, specs: list) -> Any:
        columns = list(zip(*[structure.flatten(e) for e in elements], strict=True))
        out = []
        for column, s in zip(columns, specs, strict=True):
            if _is_sparse_spec(s):
                from tapeflow.data.batching import _stack_sparse

                out.append(_stack_sparse(list(column)))
                continue
            if not self._ragged_leaf(s):
                out.append(np.stack(column))
                continue
            depth = s.ragged_rank if isinstance(s, RaggedTensorSpec) else len(s.shape) - 1
            out.append(stack_rows([_as_ragged(x, depth) for x in column], self._splits_dtype))
        return structure.pack(elements[0], out)


def _is_sparse_spec(s: Any) -> bool:
    return type(s).__name__ == "SparseTensorSpec"


def _as_ragged(x: Any, depth: int) -> Any:
    """An element as a RaggedTensor of ragged rank `depth` (a plain array when depth is 0)."""
    if isinstance(x, RaggedTensor) or depth == 0:
        return x
    return RaggedTensor.from_tensor(Tensor(np.asarray(x)), ragged_rank=depth).with_row_splits_dtype(
        _dt.int64)


def stack_rows(items: list, splits_dtype: Any) -> RaggedTensor:
    """Items (arrays or RaggedTensors) as the rows of one RaggedTensor."""
    lengths = np.asarray([len(x) for x in items], dtype=splits_dtype._np)
    if isinstance(items[0], RaggedTensor):
        values: Any = concat_rows(items).with_row_splits_dtype(splits_dtype)
    else:
        inner = {tuple(np.shape(x)[1:]) for x in items}
        if len(inner) != 1:
            raise ValueError(f"Dataset.ragged_batch: elements differ in more than their first "
                             f"dimension: inner shapes {sorted(inner)}.")
        values = Tensor(np.concatenate([np.asarray(x) for x in items]))
    return RaggedTensor.from_row_lengths(values, lengths, validate=False)

"""SparseTensor / RaggedTensor inputs of `fit` as array-like leaves: row slicing and row
gathers (for shuffling) keep the composite type, so `ArrayDataAdapter` batches them like arrays
(as Keras 3's array adapter does on the TensorFlow backend)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend


class CompositeRows:
    """A SparseTensor or RaggedTensor seen as rows: `shape`, `nbytes`, `[slice]` and `[indices]`."""

    __slots__ = ("value", "shape", "nbytes")

    def __init__(self, value: Any) -> None:
        from tapeflow.sparse.sparse_tensor import SparseTensor

        self.value = value
        if isinstance(value, SparseTensor):
            self.shape = tuple(int(d) for d in backend.to_numpy(value.dense_shape._value))
            parts = [value.indices, value.values]
        else:
            self.shape = (len(value), *tuple(value.shape)[1:])
            parts = [value.flat_values, *value.nested_row_splits]
        self.nbytes = sum(int(p._value.nbytes) for p in parts if hasattr(p._value, "nbytes"))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> Any:
        return self.value.dtype._np

    def astype(self, dtype: Any) -> CompositeRows:
        from tapeflow.ops.elementwise import cast

        if hasattr(self.value, "with_flat_values"):
            return CompositeRows(self.value.with_flat_values(cast(self.value.flat_values, dtype)))
        return CompositeRows(self.value.with_values(cast(self.value.values, dtype)))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> CompositeRows:
        from tapeflow.ragged.dispatch_ops import gather_rows as ragged_rows
        from tapeflow.sparse.ops import gather_rows as sparse_rows

        rows = np.arange(self.shape[0])[key] if isinstance(key, slice) else np.asarray(key, np.int64)
        gather = ragged_rows if hasattr(self.value, "with_flat_values") else sparse_rows
        return CompositeRows(gather(self.value, rows.astype(np.int64)))


def composite_aware(wrap: Any) -> Any:
    """A batch-leaf wrapper that hands composites over as themselves and arrays to `wrap`."""
    return lambda a: a.value if isinstance(a, CompositeRows) else wrap(a)

"""`tf.RaggedTensorSpec`: the shape, dtype and ragged rank a RaggedTensor must have."""

from __future__ import annotations

from typing import Any

from tapeflow import dtypes as _dt
from tapeflow.dispatch import CompositeSpec


class RaggedTensorSpec(CompositeSpec):
    """Describes RaggedTensors: `shape` (None for ragged axes), `dtype`, `ragged_rank`.

    Example:
        >>> tf.RaggedTensorSpec([None, None], tf.int32)
        RaggedTensorSpec(TensorShape([None, None]), tf.int32, 1, tf.int64)
    """

    def __init__(self, shape: Any = None, dtype: Any = _dt.float32, ragged_rank: int | None = None,
                 row_splits_dtype: Any = _dt.int64, flat_values_spec: Any = None) -> None:
        if flat_values_spec is not None:
            dtype = flat_values_spec.dtype
        super().__init__(shape, dtype)
        if ragged_rank is None:
            if self._shape is None:
                raise ValueError("RaggedTensorSpec: ragged_rank is required when shape is None.")
            ragged_rank = len(self._shape) - 1
        ragged_rank = int(ragged_rank)
        if self._shape is not None and not 0 <= ragged_rank < max(len(self._shape), 1):
            raise ValueError(f"RaggedTensorSpec: ragged_rank must be in [0, {len(self._shape)}), "
                             f"received {ragged_rank}.")
        self._ragged_rank = ragged_rank
        self._row_splits_dtype = _dt.as_dtype(row_splits_dtype)
        self._flat_values_spec = flat_values_spec

    @property
    def ragged_rank(self) -> int:
        return self._ragged_rank

    @property
    def row_splits_dtype(self) -> _dt.DType:
        return self._row_splits_dtype

    @property
    def flat_values_spec(self) -> Any:
        return self._flat_values_spec

    @property
    def value_type(self) -> type:  # type: ignore[override]
        from tapeflow.ragged.ragged_tensor import RaggedTensor

        return RaggedTensor

    @classmethod
    def from_value(cls, value: Any) -> RaggedTensorSpec:
        return cls(value.shape, value.dtype, value.ragged_rank, value.row_splits_dtype)

    def _key(self) -> tuple:
        return super()._key() + (self._ragged_rank, self._row_splits_dtype.name)

    def __repr__(self) -> str:
        return (f"RaggedTensorSpec({self._shape_repr()}, {self._dtype!r}, {self._ragged_rank}, "
                f"{self._row_splits_dtype!r})")

"""`tf.RaggedTensorSpec`: the shape, dtype and ragged rank a RaggedTensor must have."""

from __future__ import annotations

from typing import Any

from tapeflow import dtypes as _dt
from tapeflow.tensor import TensorShape


class RaggedTensorSpec:
    """Describes RaggedTensors: `shape` (None for ragged axes), `dtype`, `ragged_rank`.

    Example:
        >>> tf.RaggedTensorSpec([None, None], tf.int32)
        RaggedTensorSpec(TensorShape([None, None]), tf.int32, 1, tf.int64)
    """

    def __init__(self, shape: Any = None, dtype: Any = _dt.float32, ragged_rank: int | None = None,
                 row_splits_dtype: Any = _dt.int64, flat_values_spec: Any = None) -> None:
        if flat_values_spec is not None:
            dtype = flat_values_spec.dtype
        self._shape = None if shape is None else TensorShape(shape)
        self._dtype = _dt.as_dtype(dtype)
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
    def shape(self) -> TensorShape | None:
        return self._shape

    @property
    def dtype(self) -> _dt.DType:
        return self._dtype

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
    def value_type(self) -> type:
        from tapeflow.ragged.ragged_tensor import RaggedTensor

        return RaggedTensor

    @classmethod
    def from_value(cls, value: Any) -> RaggedTensorSpec:
        return cls(value.shape, value.dtype, value.ragged_rank, value.row_splits_dtype)

    def is_compatible_with(self, spec_or_value: Any) -> bool:
        other = spec_or_value
        if not isinstance(other, RaggedTensorSpec):
            from tapeflow.ragged.ragged_tensor import RaggedTensor

            if not isinstance(other, RaggedTensor):
                return False
            other = RaggedTensorSpec.from_value(other)
        if self._dtype != other._dtype or self._ragged_rank != other._ragged_rank:
            return False
        if self._shape is None or other._shape is None:
            return True
        return self._shape.is_compatible_with(other._shape)

    def _key(self) -> tuple:
        shape = None if self._shape is None else tuple(self._shape)
        return (shape, self._dtype.name, self._ragged_rank, self._row_splits_dtype.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RaggedTensorSpec) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        shape = "TensorShape(None)" if self._shape is None else repr(self._shape)
        return (f"RaggedTensorSpec({shape}, {self._dtype!r}, {self._ragged_rank}, "
                f"{self._row_splits_dtype!r})")

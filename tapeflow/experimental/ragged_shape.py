"""`tf.experimental.DynamicRaggedShape`: the shape of a (possibly ragged) tensor as row
partitions (one per ragged or partitioned leading dimension) plus the dense inner shape."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.dispatch import CompositeTensor
from tapeflow.experimental.row_partition import RowPartition
from tapeflow.tensor import Tensor


class DynamicRaggedShape(CompositeTensor):
    """Row partitions (outermost first) and the inner shape [values, *dense dims].

    Example:
        >>> s = tf.experimental.DynamicRaggedShape.from_lengths([2, (2, 1), 3])
        >>> s.static_lengths()
        [2, (2, 1), 3]
    """

    def __init__(self, row_partitions: Any, inner_shape: Any, dtype: Any = None, validate: bool = False) -> None:
        self._partitions = tuple(row_partitions)
        inner = inner_shape.numpy() if isinstance(inner_shape, Tensor) else np.asarray(inner_shape)
        self._inner = [int(d) for d in np.asarray(inner).reshape(-1)]
        self._dtype = _dt.as_dtype(dtype) if dtype is not None else (
            self._partitions[0].dtype if self._partitions else _dt.int64)
        if self._partitions and not self._inner:
            raise ValueError("DynamicRaggedShape: inner_shape must have rank >= 1 when there are row partitions.")
        for outer, inner_p in zip(self._partitions, self._partitions[1:], strict=False):
            if outer.static_nvals != inner_p.static_nrows:
                raise ValueError(f"DynamicRaggedShape: row partitions do not chain ({outer.static_nvals} values vs "
                                 f"{inner_p.static_nrows} rows).")
        if self._partitions and self._partitions[-1].static_nvals != self._inner[0]:
            raise ValueError(f"DynamicRaggedShape: the last partition has {self._partitions[-1].static_nvals} values, "
                             f"inner_shape[0] is {self._inner[0]}.")

    # -- factories ------------------------------------------------------------------------------

    @classmethod
    def from_tensor(cls, t: Any, dtype: Any = None) -> DynamicRaggedShape:
        from tapeflow.ragged.ragged_tensor import RaggedTensor

        if isinstance(t, RaggedTensor):
            parts = [RowPartition.from_row_splits(s, validate=False, dtype=dtype or t.row_splits.dtype)
                     for s in t.nested_row_splits]
            return cls(parts, list(t.flat_values.shape), dtype or t.row_splits.dtype)
        shape = [int(d) for d in backend.to_numpy(t._value).shape] if isinstance(t, Tensor) else list(np.shape(t))
        return cls([], shape, dtype)

    @classmethod
    def from_row_partitions(cls, row_partitions: Any, dtype: Any = None) -> DynamicRaggedShape:
        parts = tuple(row_partitions)
        if not parts:
            raise ValueError("DynamicRaggedShape.from_row_partitions: give at least one row partition.")
        return cls(parts, [parts[-1].static_nvals], dtype)

    @classmethod
    def from_lengths(cls, lengths: Any, num_row_partitions: int | None = None,
                     dtype: Any = "int64") -> DynamicRaggedShape:
        """`lengths`: an int per uniform dimension, a tuple of row lengths per ragged one (the first
        must be an int)."""
        lengths = list(lengths)
        if lengths and isinstance(lengths[0], (tuple, list)):
            raise ValueError("DynamicRaggedShape.from_lengths: the first dimension must be an int.")
        last_ragged = max((i for i, d in enumerate(lengths) if isinstance(d, (tuple, list))), default=0)
        count = last_ragged if num_row_partitions is None else int(num_row_partitions)
        parts, nrows = [], int(lengths[0]) if lengths else 0
        for d in lengths[1:count + 1]:
            if isinstance(d, (tuple, list)):
                if len(d) != nrows:
                    raise ValueError(f"DynamicRaggedShape.from_lengths: {len(d)} row lengths for {nrows} rows.")
                p = RowPartition.from_row_lengths(np.asarray(d, np.int64), dtype=dtype)
            else:
                p = RowPartition.from_uniform_row_length(int(d), nrows=nrows, dtype=dtype)
            parts.append(p)
            nrows = p.static_nvals
        inner = [nrows, *[int(d) for d in lengths[count + 1:]]] if parts else [int(d) for d in lengths]
        return cls(parts, inner, dtype)

    # -- queries --------------------------------------------------------------------------------

    @property
    def row_partitions(self) -> tuple:
        return self._partitions

    @property
    def num_row_partitions(self) -> int:
        return len(self._partitions)

    @property
    def inner_shape(self) -> Tensor:
        return Tensor(np.asarray(self._inner, self._dtype._np))

    @property
    def inner_rank(self) -> int:
        return len(self._inner)

    @property
    def rank(self) -> int:
        return self.num_row_partitions + self.inner_rank

    @property
    def dtype(self) -> _dt.DType:
        return self._dtype

    def with_dtype(self, dtype: Any) -> DynamicRaggedShape:
        return DynamicRaggedShape([p.with_dtype(dtype) for p in self._partitions], self._inner, dtype)

    def static_lengths(self, ragged_lengths: bool = True) -> list:
        """Each dimension's length: an int, or for a ragged one the tuple of row lengths (None
        with ragged_lengths=False)."""
        if not self._partitions:
            return list(self._inner)
        out: list = [self._partitions[0].static_nrows]
        for p in self._partitions:
            if p.is_uniform():
                out.append(p.static_uniform_row_length)
            else:
                out.append(tuple(p.row_lengths().numpy().tolist()) if ragged_lengths else None)
        return out + self._inner[1:]

    def is_uniform(self, axis: int) -> bool:
        lengths = self.static_lengths()
        return not isinstance(lengths[axis], tuple)

    def __getitem__(self, index: int) -> Tensor:
        lengths = self.static_lengths()
        value = lengths[index]
        if isinstance(value, tuple):
            raise ValueError(f"Index {index} is not uniform")
        return Tensor(np.asarray(value, self._dtype._np))

    # -- as the shape argument of tf.reshape / zeros / ones / fill (TF's ragged dispatch) --------
    @classmethod
    def _tf_dispatch(cls, kind: str, api_name: str, fn: Any, args: tuple, kwargs: dict) -> Any:
        """`tf.reshape(x, shape)` (x's values, in row-major order, cut into the shape's rows),
        `tf.zeros` / `tf.ones(shape, dtype)`, `tf.fill(shape, value)`: RaggedTensors of the shape."""
        from tapeflow.ops import creation, movement

        def arg(i: int, name: str, default: Any = None) -> Any:
            return args[i] if len(args) > i else kwargs.get(name, default)

        if api_name == "reshape":
            shape = arg(1, "shape")
            if not isinstance(shape, DynamicRaggedShape):
                return NotImplemented
            return shape._with_values(movement.reshape(arg(0, "tensor"), shape._inner))
        if api_name in ("zeros", "ones"):
            shape = arg(0, "shape")
            make = creation.zeros if api_name == "zeros" else creation.ones
            return shape._with_values(make(shape._inner, arg(1, "dtype", _dt.float32)))
        if api_name == "fill":
            shape = arg(0, "dims")
            return shape._with_values(creation.fill(shape._inner, arg(1, "value")))
        return NotImplemented

    def _with_values(self, values: Tensor) -> Any:
        """`values` (of the inner shape) partitioned by the row partitions, innermost first."""
        from tapeflow.ragged.ragged_tensor import RaggedTensor

        out: Any = values
        for p in reversed(self._partitions):
            if p.is_uniform():
                out = RaggedTensor.from_uniform_row_length(out, p.static_uniform_row_length,
                                                           nrows=p.static_nrows, validate=False)
            else:
                out = RaggedTensor.from_row_splits(out, p.row_splits(), validate=False)
        return out

    def __repr__(self) -> str:
        lengths = ", ".join(repr(d) if not isinstance(d, tuple) else "(" + ", ".join(map(str, d)) + ")"
                            for d in self.static_lengths())
        return f"<DynamicRaggedShape lengths=[{lengths}] num_row_partitions={self.num_row_partitions}>"

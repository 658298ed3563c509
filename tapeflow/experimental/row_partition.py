"""`tf.experimental.RowPartition`: how a flat list of values splits into rows (the row
partitioning of a RaggedTensor dimension), from any of TF's encodings, held as row splits."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.errors import InvalidArgumentError
from tapeflow.tensor import Tensor, convert_to_tensor


def _ints(value: Any, what: str) -> np.ndarray:
    t = value if isinstance(value, Tensor) else convert_to_tensor(value, dtype_hint=_dt.int64)
    arr = backend.to_numpy(t._value)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"RowPartition.{what}: expected integers, received dtype {arr.dtype}.")
    return arr.astype(np.int64)


def _dtype(dtype: Any, dtype_hint: Any, given: Any) -> _dt.DType:
    if dtype is not None:
        d = _dt.as_dtype(dtype)
    elif isinstance(given, Tensor) and given.dtype in (_dt.int32, _dt.int64):
        d = given.dtype
    else:
        d = _dt.as_dtype(dtype_hint) if dtype_hint is not None else _dt.int64
    if d not in (_dt.int32, _dt.int64):
        raise ValueError(f"RowPartition: dtype must be int32 or int64, received {d.name}.")
    return d


def _invalid(what: str, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(None, None, f"Arguments to {what} do not form a valid RaggedTensor: {why}")


class RowPartition:
    """A row partition: row `i` holds values `row_splits[i]:row_splits[i + 1]`.

    Example:
        >>> p = tf.experimental.RowPartition.from_row_lengths([2, 0, 3])
        >>> p.row_splits().numpy()
        array([0, 2, 2, 5])
    """

    def __init__(self, row_splits: np.ndarray, dtype: _dt.DType, uniform_row_length: int | None = None,
                 _internal: bool = False) -> None:
        if not _internal:
            raise ValueError("RowPartition: use a from_* factory (from_row_splits, from_row_lengths, ...).")
        self._splits = row_splits
        self._dtype = dtype
        self._uniform = uniform_row_length

    # -- factories ------------------------------------------------------------------------------

    @classmethod
    def from_row_splits(cls, row_splits: Any, validate: bool = True, dtype: Any = None,
                        dtype_hint: Any = None) -> RowPartition:
        splits = _ints(row_splits, "from_row_splits")
        if validate:
            if splits.ndim != 1 or len(splits) == 0:
                raise ValueError("RowPartition.from_row_splits: row_splits must be a non-empty vector.")
            if splits[0] != 0:
                raise _invalid("from_row_splits", f"row_splits must start with 0, got {splits[0]}")
            if (np.diff(splits) < 0).any():
                raise _invalid("from_row_splits", "row_splits must be sorted in ascending order")
        return cls(splits, _dtype(dtype, dtype_hint, row_splits), _internal=True)

    @classmethod
    def from_row_lengths(cls, row_lengths: Any, validate: bool = True, dtype: Any = None,
                         dtype_hint: Any = None) -> RowPartition:
        lengths = _ints(row_lengths, "from_row_lengths").reshape(-1)
        if validate and (lengths < 0).any():
            raise _invalid("from_row_lengths", "row_lengths must be non-negative")
        splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return cls(splits, _dtype(dtype, dtype_hint, row_lengths), _internal=True)

    @classmethod
    def from_row_starts(cls, row_starts: Any, nvals: Any, validate: bool = True, dtype: Any = None,
                        dtype_hint: Any = None) -> RowPartition:
        starts = _ints(row_starts, "from_row_starts").reshape(-1)
        splits = np.concatenate([starts, [int(_ints(nvals, "from_row_starts"))]]).astype(np.int64)
        if validate and len(starts) and starts[0] != 0:
            raise _invalid("from_row_starts", "row_starts must start with 0")
        return cls.from_row_splits(splits, validate, dtype or _dtype(None, dtype_hint, row_starts))

    @classmethod
    def from_row_limits(cls, row_limits: Any, validate: bool = True, dtype: Any = None,
                        dtype_hint: Any = None) -> RowPartition:
        limits = _ints(row_limits, "from_row_limits").reshape(-1)
        splits = np.concatenate([[0], limits]).astype(np.int64)
        return cls.from_row_splits(splits, validate, dtype or _dtype(None, dtype_hint, row_limits))

    @classmethod
    def from_value_rowids(cls, value_rowids: Any, nrows: Any = None, validate: bool = True, dtype: Any = None,
                          dtype_hint: Any = None) -> RowPartition:
        ids = _ints(value_rowids, "from_value_rowids").reshape(-1)
        if validate and ((ids < 0).any() or (np.diff(ids) < 0).any()):
            raise _invalid("from_value_rowids", "value_rowids must be non-negative and sorted")
        n = int(ids[-1]) + 1 if nrows is None and len(ids) else int(_ints(nrows, "from_value_rowids")) \
            if nrows is not None else 0
        if validate and len(ids) and ids[-1] >= n:
            raise _invalid("from_value_rowids", f"value_rowids must be < nrows ({n})")
        splits = np.concatenate([[0], np.cumsum(np.bincount(ids, minlength=n))]).astype(np.int64)
        return cls(splits, _dtype(dtype, dtype_hint, value_rowids), _internal=True)

    @classmethod
    def from_uniform_row_length(cls, uniform_row_length: Any, nvals: Any = None, nrows: Any = None,
                                validate: bool = True, dtype: Any = None, dtype_hint: Any = None) -> RowPartition:
        length = int(_ints(uniform_row_length, "from_uniform_row_length"))
        if validate and length < 0:
            raise _invalid("from_uniform_row_length", "uniform_row_length must be non-negative")
        if nrows is None:
            if nvals is None:
                raise ValueError("RowPartition.from_uniform_row_length: give nvals or nrows.")
            total = int(_ints(nvals, "from_uniform_row_length"))
            if length == 0:
                n = 0
            elif validate and total % length:
                raise _invalid("from_uniform_row_length", f"nvals ({total}) is not a multiple of {length}")
            else:
                n = total // length
        else:
            n = int(_ints(nrows, "from_uniform_row_length"))
        splits = np.arange(n + 1, dtype=np.int64) * length
        return cls(splits, _dtype(dtype, dtype_hint, uniform_row_length), uniform_row_length=length, _internal=True)

    # -- encodings ------------------------------------------------------------------------------

    def _t(self, arr: Any) -> Tensor:
        return Tensor(np.asarray(arr, self._dtype._np))

    def row_splits(self) -> Tensor:
        return self._t(self._splits)

    def row_lengths(self) -> Tensor:
        return self._t(np.diff(self._splits))

    def row_starts(self) -> Tensor:
        return self._t(self._splits[:-1])

    def row_limits(self) -> Tensor:
        return self._t(self._splits[1:])

    def value_rowids(self) -> Tensor:
        return self._t(np.repeat(np.arange(len(self._splits) - 1), np.diff(self._splits)))

    def nrows(self) -> Tensor:
        return self._t(len(self._splits) - 1)

    def nvals(self) -> Tensor:
        return self._t(self._splits[-1])

    def offsets_in_rows(self) -> Tensor:
        """Each value's position within its row."""
        ids = np.repeat(np.arange(len(self._splits) - 1), np.diff(self._splits))
        return self._t(np.arange(int(self._splits[-1])) - self._splits[:-1][ids])

    def uniform_row_length(self) -> Tensor | None:
        return None if self._uniform is None else self._t(self._uniform)

    def is_uniform(self) -> bool:
        return self._uniform is not None

    @property
    def static_nrows(self) -> int:
        return len(self._splits) - 1

    @property
    def static_nvals(self) -> int:
        return int(self._splits[-1])

    @property
    def static_uniform_row_length(self) -> int | None:
        return self._uniform

    @property
    def dtype(self) -> _dt.DType:
        return self._dtype

    def with_dtype(self, dtype: Any) -> RowPartition:
        return RowPartition(self._splits, _dtype(dtype, None, None), self._uniform, _internal=True)

    def __repr__(self) -> str:
        if self._uniform is not None:
            return f"tf.RowPartition(nrows={self.static_nrows}, uniform_row_length={self._uniform})"
        return f"tf.RowPartition(row_splits={np.array2string(self._splits)})"

    __str__ = __repr__

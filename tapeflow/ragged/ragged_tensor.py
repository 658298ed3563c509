"""`tf.RaggedTensor`: rows of different lengths, as flat values plus row splits.

A RaggedTensor of ragged rank k is `values` (a Tensor, or a RaggedTensor of ragged rank k-1)
partitioned into rows by `row_splits` (int64 [nrows + 1], ascending, from 0 to len(values)).
Ops run on the flat values with ordinary tensor ops, so gradients reach them through the tape;
the splits are integer index data and have none.

Example:
    >>> rt = tf.ragged.constant([[1, 2], [3], []])
    >>> rt
    <tf.RaggedTensor [[1, 2], [3], []]>
    >>> rt.row_lengths().numpy()
    array([2, 1, 0])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.dispatch import CompositeTensor
from tapeflow.ops import elementwise as ew
from tapeflow.ragged import rows
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor
from tapeflow.tracing.composite_calls import lift_composite_methods

get_xp = backend.get_xp


def _splits_tensor(splits: Any, like: Any, name: str, dtype: Any = None) -> Tensor:
    """Row splits (or lengths, ids...) as an integer Tensor on `like`'s device."""
    t = splits if isinstance(splits, Tensor) else convert_to_tensor(splits, dtype=dtype)
    if t.dtype._np.kind not in "iu":
        raise TypeError(f"RaggedTensor.{name}: expected an integer tensor, received dtype "
                        f"{t.dtype.name}.")
    if t.ndim != 1:
        raise ValueError(f"RaggedTensor.{name}: expected a vector, received shape {t.shape}.")
    arr = t._value
    if dtype is None and arr.dtype.kind == "u" or arr.dtype.itemsize < 4:
        arr = arr.astype("int64")
    xp = get_xp(_array_of(like))
    if get_xp(arr) is not xp:
        arr = backend.asarray(backend.to_numpy(arr), None, xp)
    return Tensor(arr)


def _array_of(values: Any) -> Any:
    return values.flat_values._value if isinstance(values, RaggedTensor) else values._value


def _as_values(values: Any, name: str) -> Any:
    if isinstance(values, (Tensor, RaggedTensor)):
        return values
    return convert_to_tensor(values)


class RaggedTensor(CompositeTensor):
    """A tensor whose rows (at one or more axes) have different lengths (`tf.RaggedTensor`).

    Build one with `tf.ragged.constant` or a `from_*` factory; `to_tensor()` pads it into a
    dense Tensor. Shape: `[nrows, None, ..., *inner_shape]` (None for each ragged axis).
    """

    __slots__ = ("_values", "_row_splits", "_uniform_row_length")

    def __init__(self, values: Any, row_splits: Tensor, uniform_row_length: int | None = None,
                 internal: bool = False) -> None:
        if not internal:
            raise ValueError("RaggedTensor constructor is private; please use one of the factory "
                             "methods instead (e.g., RaggedTensor.from_row_lengths())")
        self._values = values
        self._row_splits = row_splits
        self._uniform_row_length = uniform_row_length

    # -- factories -----------------------------------------------------------------------------
    @classmethod
    def from_row_splits(cls, values: Any, row_splits: Any, name: Any = None,
                        validate: bool = True) -> RaggedTensor:
        """Rows values[splits[i]:splits[i+1]]; `row_splits` is [nrows + 1] from 0 to len(values)."""
        values = _as_values(values, "from_row_splits")
        splits = _splits_tensor(row_splits, values, "from_row_splits")
        if validate:
            s = backend.to_numpy(splits._value)
            n = values.shape[0]
            if len(s) == 0 or s[0] != 0 or np.any(s[1:] < s[:-1]) or (n is not None and s[-1] != n):
                raise ValueError(
                    "RaggedTensor.from_row_splits: row_splits must start at 0, be sorted "
                    f"ascending and end at len(values)={n}, received {s.tolist()}.")
        return cls(values, splits, internal=True)

    @classmethod
    def from_row_lengths(cls, values: Any, row_lengths: Any, name: Any = None,
                         validate: bool = True) -> RaggedTensor:
        """Consecutive rows of the given lengths (non-negative, summing to len(values))."""
        values = _as_values(values, "from_row_lengths")
        lengths = _splits_tensor(row_lengths, values, "from_row_lengths")
        xp = get_xp(lengths._value)
        if validate and bool((lengths._value < 0).any()):
            raise ValueError("RaggedTensor.from_row_lengths: row_lengths must be non-negative, "
                             f"received {backend.to_numpy(lengths._value).tolist()}.")
        splits = rows.splits_from_lengths(xp, lengths._value, lengths._value.dtype)
        return cls.from_row_splits(values, Tensor(splits), validate=validate)

    @classmethod
    def from_row_starts(cls, values: Any, row_starts: Any, name: Any = None,
                        validate: bool = True) -> RaggedTensor:
        """Rows starting at `row_starts` (the first is 0); the last row ends at len(values)."""
        values = _as_values(values, "from_row_starts")
        starts = _splits_tensor(row_starts, values, "from_row_starts")
        xp = get_xp(starts._value)
        end = xp.asarray([values.shape[0]], dtype=starts._value.dtype)
        return cls.from_row_splits(values, Tensor(xp.concatenate([starts._value, end])),
                                   validate=validate)

    @classmethod
    def from_row_limits(cls, values: Any, row_limits: Any, name: Any = None,
                        validate: bool = True) -> RaggedTensor:
        """Rows ending at `row_limits` (the last is len(values)); the first starts at 0."""
        values = _as_values(values, "from_row_limits")
        limits = _splits_tensor(row_limits, values, "from_row_limits")
        xp = get_xp(limits._value)
        zero = xp.zeros(1, dtype=limits._value.dtype)
        return cls.from_row_splits(values, Tensor(xp.concatenate([zero, limits._value])),
                                   validate=validate)

    @classmethod
    def from_value_rowids(cls, values: Any, value_rowids: Any, nrows: Any = None,
                          name: Any = None, validate: bool = True) -> RaggedTensor:
        """Value i goes to row value_rowids[i] (sorted ascending); `nrows` adds empty last rows."""
        values = _as_values(values, "from_value_rowids")
        ids = _splits_tensor(value_rowids, values, "from_value_rowids")
        xp = get_xp(ids._value)
        iv = ids._value
        if validate and (len(iv) and (bool((iv < 0).any()) or bool((iv[1:] < iv[:-1]).any()))):
            raise ValueError("RaggedTensor.from_value_rowids: value_rowids must be sorted "
                             f"ascending and non-negative, received {backend.to_numpy(iv).tolist()}.")
        n = int(nrows) if nrows is not None else (int(iv[-1]) + 1 if len(iv) else 0)
        if len(iv) and int(iv[-1]) >= n:
            raise ValueError(f"RaggedTensor.from_value_rowids: nrows={n} is too small for "
                             f"value_rowids ending at {int(iv[-1])}.")
        lengths = xp.bincount(iv.astype("int64"), minlength=n)
        splits = rows.splits_from_lengths(xp, lengths, iv.dtype)
        return cls.from_row_splits(values, Tensor(splits), validate=validate)

    @classmethod
    def from_uniform_row_length(cls, values: Any, uniform_row_length: Any, nrows: Any = None,
                                validate: bool = True, name: Any = None) -> RaggedTensor:
        """Rows of one fixed length (the shape keeps it: [nrows, length, ...])."""
        values = _as_values(values, "from_uniform_row_length")
        length = int(uniform_row_length)
        nvals = values.shape[0]
        if nrows is None:
            nrows = nvals // length if length else 0
        nrows = int(nrows)
        if validate and nrows * length != nvals:
            raise ValueError(f"RaggedTensor.from_uniform_row_length: {nvals} values cannot be cut "
                             f"into {nrows} rows of length {length}.")
        xp = get_xp(_array_of(values))
        splits = xp.arange(nrows + 1, dtype="int64") * length
        return cls(values, Tensor(splits), uniform_row_length=length, internal=True)

    @classmethod
    def from_nested_row_splits(cls, flat_values: Any, nested_row_splits: Any, name: Any = None,
                               validate: bool = True) -> RaggedTensor:
        """Apply `from_row_splits` once per splits vector, innermost (last) first."""
        if isinstance(nested_row_splits, Tensor):
            nested_row_splits = [nested_row_splits]
        result = flat_values
        for splits in reversed(list(nested_row_splits)):
            result = cls.from_row_splits(result, splits, validate=validate)
        return result

    @classmethod
    def from_nested_row_lengths(cls, flat_values: Any, nested_row_lengths: Any, name: Any = None,
                                validate: bool = True) -> RaggedTensor:
        result = flat_values
        for lengths in reversed(list(nested_row_lengths)):
            result = cls.from_row_lengths(result, lengths, validate=validate)
        return result

    @classmethod
    def from_nested_value_rowids(cls, flat_values: Any, nested_value_rowids: Any,
                                 nested_nrows: Any = None, name: Any = None,
                                 validate: bool = True) -> RaggedTensor:
        ids = list(nested_value_rowids)
        nrows = list(nested_nrows) if nested_nrows is not None else [None] * len(ids)
        result = flat_values
        for rid, n in zip(reversed(ids), reversed(nrows), strict=True):
            result = cls.from_value_rowids(result, rid, n, validate=validate)
        return result

    @classmethod
    def from_tensor(cls, tensor: Any, lengths: Any = None, padding: Any = None,
                    ragged_rank: int = 1, name: Any = None,
                    row_splits_dtype: Any = _dt.int64) -> RaggedTensor:
        """A RaggedTensor from a dense `tensor`, rows cut at `lengths` or before trailing `padding`."""
        from tapeflow.ragged.conversion import from_tensor

        return from_tensor(cls, tensor, lengths, padding, ragged_rank, row_splits_dtype)

    @classmethod
    def from_sparse(cls, st_input: Any, name: Any = None,
                    row_splits_dtype: Any = _dt.int64) -> RaggedTensor:
        """A 2-D ragged-right SparseTensor's rows as a RaggedTensor."""
        from tapeflow.ragged.conversion import from_sparse

        return from_sparse(cls, st_input, row_splits_dtype)

    # -- components ----------------------------------------------------------------------------
    @property
    def values(self) -> Any:
        """The concatenated rows: a Tensor (ragged rank 1) or a RaggedTensor."""
        return self._values

    @property
    def row_splits(self) -> Tensor:
        return self._row_splits

    @property
    def flat_values(self) -> Tensor:
        v = self._values
        while isinstance(v, RaggedTensor):
            v = v._values
        return v

    @property
    def nested_row_splits(self) -> tuple:
        out = [self._row_splits]
        v = self._values
        while isinstance(v, RaggedTensor):
            out.append(v._row_splits)
            v = v._values
        return tuple(out)

    @property
    def ragged_rank(self) -> int:
        v = self._values
        return 1 + v.ragged_rank if isinstance(v, RaggedTensor) else 1

    @property
    def dtype(self) -> _dt.DType:
        return self.flat_values.dtype

    @property
    def row_splits_dtype(self) -> _dt.DType:
        return self._row_splits.dtype

    @property
    def shape(self) -> TensorShape:
        """[nrows, None (or the uniform row length), ...inner dims]."""
        n = self._row_splits.shape[0]
        return TensorShape((None if n is None else n - 1, self._uniform_row_length)
                           + tuple(self._values.shape[1:]))

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def uniform_row_length(self) -> Tensor | None:
        n = self._uniform_row_length
        return None if n is None else Tensor(np.asarray(n, self._row_splits.dtype._np))

    def _xp(self) -> Any:
        return get_xp(self._row_splits._value)

    def _splits(self) -> Any:
        return self._row_splits._value

    def nrows(self, out_type: Any = None, name: Any = None) -> Tensor:
        dt = self._splits().dtype if out_type is None else _dt.as_dtype(out_type)._np
        return Tensor(self._xp().asarray(len(self._splits()) - 1, dtype=dt))

    def row_starts(self, name: Any = None) -> Tensor:
        return Tensor(self._splits()[:-1])

    def row_limits(self, name: Any = None) -> Tensor:
        return Tensor(self._splits()[1:])

    def row_lengths(self, axis: int = 1, name: Any = None) -> Any:
        """The length of each row (axis 1), or of each row at a deeper ragged `axis`."""
        if axis == 0:
            return self.nrows()
        if axis == 1:
            s = self._splits()
            return Tensor(s[1:] - s[:-1])
        if axis < 0 or axis > self.ragged_rank:
            raise ValueError(f"RaggedTensor.row_lengths: axis={axis} is not a ragged axis of a "
                             f"tensor of ragged rank {self.ragged_rank}.")
        return self.with_values(self._values.row_lengths(axis - 1))

    def value_rowids(self, name: Any = None) -> Tensor:
        s = self._splits()
        return Tensor(rows.row_ids(self._xp(), s).astype(s.dtype))

    def nested_row_lengths(self, name: Any = None) -> tuple:
        out, rt = [], self
        while isinstance(rt, RaggedTensor):
            out.append(rt.row_lengths())
            rt = rt._values
        return tuple(out)

    def nested_value_rowids(self, name: Any = None) -> tuple:
        out, rt = [], self
        while isinstance(rt, RaggedTensor):
            out.append(rt.value_rowids())
            rt = rt._values
        return tuple(out)

    def bounding_shape(self, axis: Any = None, name: Any = None, out_type: Any = None) -> Tensor:
        """The smallest dense shape that holds every row: [nrows, longest row, ...]."""
        dims = [len(self._splits()) - 1]
        rt: Any = self
        while isinstance(rt, RaggedTensor):
            s = rt._splits()
            dims.append(int((s[1:] - s[:-1]).max()) if len(s) > 1 else 0)
            rt = rt._values
        dims.extend(int(d) for d in rt.shape[1:])
        dt = self._splits().dtype if out_type is None else _dt.as_dtype(out_type)._np
        out = np.asarray(dims, dtype=dt)
        if axis is not None:
            out = out[axis]
        return Tensor(backend.asarray(out, None, self._xp()))

    # -- rebuilding ----------------------------------------------------------------------------
    def with_values(self, new_values: Any) -> RaggedTensor:
        """The same row partition over `new_values` (same outer length)."""
        new_values = _as_values(new_values, "with_values")
        n, m = new_values.shape[0], self._values.shape[0]
        if n is not None and m is not None and n != m:
            raise ValueError(f"RaggedTensor.with_values: expected {self._values.shape[0]} values, "
                             f"received shape {new_values.shape}.")
        return RaggedTensor(new_values, self._row_splits, self._uniform_row_length, internal=True)

    def with_flat_values(self, new_values: Any) -> RaggedTensor:
        """The same nested row partitions over new flat values."""
        if isinstance(self._values, RaggedTensor):
            return self.with_values(self._values.with_flat_values(new_values))
        return self.with_values(new_values)

    def with_row_splits_dtype(self, dtype: Any) -> RaggedTensor:
        np_dtype = _dt.as_dtype(dtype)._np
        if np_dtype not in (np.dtype("int32"), np.dtype("int64")):
            raise ValueError(f"RaggedTensor.with_row_splits_dtype: dtype must be int32 or int64, "
                             f"received {_dt.as_dtype(dtype).name}.")
        v = self._values
        if isinstance(v, RaggedTensor):
            v = v.with_row_splits_dtype(dtype)
        return RaggedTensor(v, Tensor(self._splits().astype(np_dtype)), self._uniform_row_length,
                            internal=True)

    def _gather_rows(self, idx: Any) -> RaggedTensor:
        """The rows at the int array `idx` (any order, repeats allowed)."""
        s = self._splits()
        xp = self._xp()
        value_idx, splits = rows.gather_ranges(xp, s[:-1][idx], s[1:][idx])
        return RaggedTensor(rows.take(self._values, value_idx), Tensor(splits.astype(s.dtype)),
                            self._uniform_row_length, internal=True)

    def _row(self, i: int) -> Any:
        n = len(self._splits()) - 1
        if i < -n or i >= n:
            raise IndexError(f"RaggedTensor index {i} is out of range for {n} rows.")
        i %= n
        s = self._splits()
        return self._values[int(s[i]):int(s[i + 1])]

    # -- conversion ----------------------------------------------------------------------------
    def to_tensor(self, default_value: Any = None, name: Any = None, shape: Any = None) -> Tensor:
        """Pad the rows with `default_value` (0) into a dense tensor, cropped/padded to `shape`."""
        from tapeflow.ragged.conversion import to_tensor

        return to_tensor(self, default_value, shape)

    def to_sparse(self, name: Any = None) -> Any:
        from tapeflow.ragged.conversion import to_sparse

        return to_sparse(self)

    def numpy(self) -> np.ndarray:
        """Rows as NumPy arrays: an object array of rows when they differ in length (as TF)."""
        values = self._values.numpy()
        s = backend.to_numpy(self._splits())
        parts = [values[s[i]:s[i + 1]] for i in range(len(s) - 1)]
        if not parts:
            return np.zeros((0, 0) + values.shape[1:], dtype=values.dtype)
        if any(len(p) != len(parts[0]) for p in parts):
            out = np.empty(len(parts), dtype=object)
            for i, p in enumerate(parts):
                out[i] = p
            return out
        return np.array(parts)

    def to_list(self) -> list:
        """Nested Python lists of the values."""
        if isinstance(self._values, RaggedTensor):
            vals = self._values.to_list()
        else:
            vals = backend.to_numpy(self._values._value).tolist()
        s = backend.to_numpy(self._splits()).tolist()
        return [vals[s[i]:s[i + 1]] for i in range(len(s) - 1)]

    def __repr__(self) -> str:
        if self.flat_values._value is None:
            return f"tf.RaggedTensor(values={self._values!s}, row_splits={self._row_splits!s})"
        with np.printoptions(formatter={"all": _formatter}):
            return f"<tf.RaggedTensor {_formatter(self.numpy())}>"

    __str__ = __repr__

    def __len__(self) -> int:
        return len(self._splits()) - 1

    def __bool__(self) -> bool:
        raise TypeError("The truth value of a RaggedTensor is ambiguous; use tf.reduce_any/all.")

    def __getitem__(self, key: Any) -> Any:
        from tapeflow.ragged.indexing import getitem

        return getitem(self, key)

    # -- crossing tf.function boundaries (tapeflow.tracing.composites) -------------------------
    _tf_native_elements = True  # tf.data and map_fn batch and slice it by rows, not by components

    def _tf_encode(self) -> tuple:
        """(static part, components): flat values, then the row splits of each ragged level."""
        from tapeflow.ragged.spec import RaggedStatic

        uniform, rt = [], self
        while isinstance(rt, RaggedTensor):
            uniform.append(rt._uniform_row_length)
            rt = rt._values
        return RaggedStatic(tuple(uniform)), [self.flat_values, *self.nested_row_splits]

    # -- dispatch and operators ----------------------------------------------------------------
    @classmethod
    def _tf_dispatch(cls, kind: str, api_name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
        from tapeflow.ragged import dispatch_ops

        return dispatch_ops.dispatch(kind, api_name, fn, args, kwargs)

    def _binary(self, fn: Callable, other: Any, reverse: bool = False) -> RaggedTensor:
        from tapeflow.ragged.dispatch_ops import elementwise

        return elementwise(fn, (other, self) if reverse else (self, other), {})

    def __add__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.add, o)

    def __radd__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.add, o, True)

    def __sub__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.subtract, o)

    def __rsub__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.subtract, o, True)

    def __mul__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.multiply, o)

    def __rmul__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.multiply, o, True)

    def __truediv__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.truediv, o)

    def __rtruediv__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.truediv, o, True)

    def __floordiv__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.floordiv, o)

    def __rfloordiv__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.floordiv, o, True)

    def __mod__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.floormod, o)

    def __rmod__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.floormod, o, True)

    def __pow__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.pow, o)

    def __rpow__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.pow, o, True)

    def __lt__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.less, o)

    def __le__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.less_equal, o)

    def __gt__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.greater, o)

    def __ge__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.greater_equal, o)

    def __and__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.logical_and, o)

    def __or__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.logical_or, o)

    def __xor__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.logical_xor, o)

    def __rand__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.logical_and, o, True)

    def __ror__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.logical_or, o, True)

    def __rxor__(self, o: Any) -> RaggedTensor:
        return self._binary(ew.logical_xor, o, True)

    def __neg__(self) -> RaggedTensor:
        return self.with_flat_values(ew.negative(self.flat_values))

    def __abs__(self) -> RaggedTensor:
        return self.with_flat_values(ew.abs(self.flat_values))

    def __invert__(self) -> RaggedTensor:
        return self.with_flat_values(~self.flat_values)

    def merge_dims(self, outer_axis: int, inner_axis: int) -> Any:
        """Merge axes outer_axis..inner_axis into one (`merge_dims(0, 1)` flattens the rows)."""
        from tapeflow.ragged.conversion import merge_dims

        return merge_dims(self, outer_axis, inner_axis)


def _formatter(x: Any) -> str:
    """TF's element formatter: arrays with comma separators, scalars by `str`."""
    if isinstance(x, np.ndarray):
        if x.size != 0:
            return np.array2string(x, separator=", ")
        return repr(x.tolist())
    return str(x)


# Inside a tf.function trace, methods on a RaggedTensor of graph tensors (and factories given
# graph tensors) are lifted into one node each; the component accessors work as they are.
lift_composite_methods(RaggedTensor, ("values", "row_splits", "flat_values", "nested_row_splits",
                                      "ragged_rank", "dtype", "row_splits_dtype", "shape", "ndim",
                                      "uniform_row_length"))

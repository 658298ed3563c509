"""`tf.lookup`: key -> value tables (static ones built by an initializer, vocabulary tables with
hashed out-of-vocabulary buckets, and the mutable tables of `tf.lookup.experimental`).

Tables live on the host as Python dicts; `lookup` maps every element of a tensor (or the values
of a SparseTensor / RaggedTensor) and keeps its structure. Strings hash to OOV buckets with TF's
FarmHash Fingerprint64, so ids match TF's.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.tensor import Tensor, convert_to_tensor

__all__ = ["KeyValueTensorInitializer", "StaticHashTable", "StaticVocabularyTable", "TextFileIndex",
           "TextFileInitializer", "experimental"]


def _values(x: Any, dtype: Any = None) -> tuple[np.ndarray, Any]:
    t = x if isinstance(x, Tensor) else convert_to_tensor(x, dtype=dtype)
    if dtype is not None and t.dtype != _dt.as_dtype(dtype):
        from tapeflow.ops.elementwise import cast

        t = cast(t, dtype)
    return backend.to_numpy(t._value), t.dtype


def _key(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _apply(keys: Any, table: Any, fn: Any) -> Any:
    """`fn` (host array of keys -> host array) on a tensor, or on the values of a composite."""
    from tapeflow.ragged.ragged_tensor import RaggedTensor
    from tapeflow.sparse.sparse_tensor import SparseTensor

    if isinstance(keys, SparseTensor):
        return SparseTensor(keys.indices, _apply(keys.values, table, fn), keys.dense_shape)
    if isinstance(keys, RaggedTensor):
        return keys.with_flat_values(_apply(keys.flat_values, table, fn))
    arr, dtype = _values(keys)
    if dtype != table.key_dtype:
        raise TypeError(f"{table.name}: keys must be {table.key_dtype.name}, received {dtype.name}.")
    return Tensor(fn(arr))


class KeyValueTensorInitializer:
    """Fills a table from `keys` and `values` tensors of the same length."""

    def __init__(self, keys: Any, values: Any, key_dtype: Any = None, value_dtype: Any = None,
                 name: Any = None) -> None:
        self._keys, self.key_dtype = _values(keys, key_dtype)
        self._vals, self.value_dtype = _values(values, value_dtype)
        if self._keys.shape != self._vals.shape:
            raise ValueError(f"KeyValueTensorInitializer: keys and values must have the same shape, received "
                             f"{self._keys.shape} and {self._vals.shape}.")
        self.name = name or "key_value_init"

    def _items(self) -> list:
        return list(zip(map(_key, self._keys.reshape(-1)), self._vals.reshape(-1), strict=True))


class TextFileIndex:
    """Special column indices of TextFileInitializer: the whole line, or the line number."""

    WHOLE_LINE = -2
    LINE_NUMBER = -1


class TextFileInitializer:
    """Fills a table from a text file: keys and values are columns of each line (split on
    `delimiter`), the whole line (-2) or the line number (-1)."""

    def __init__(self, filename: Any, key_dtype: Any, key_index: int, value_dtype: Any, value_index: int,
                 vocab_size: Any = None, delimiter: str = "\t", name: Any = None, value_index_offset: int = 0) -> None:
        if isinstance(filename, Tensor):
            filename = backend.to_numpy(filename._value).item()
        self._filename = filename.decode() if isinstance(filename, bytes) else str(filename)
        self.key_dtype, self.value_dtype = _dt.as_dtype(key_dtype), _dt.as_dtype(value_dtype)
        self._key_index, self._value_index = int(key_index), int(value_index)
        self._vocab_size, self._delimiter = vocab_size, delimiter
        self._offset = int(value_index_offset)
        for index, dtype, what in ((self._key_index, self.key_dtype, "key"),
                                   (self._value_index, self.value_dtype, "value")):
            if index == TextFileIndex.LINE_NUMBER and not dtype.is_integer:
                raise ValueError(f"TextFileInitializer: the line number {what} must be an integer dtype, "
                                 f"received {dtype.name}.")
            if index == TextFileIndex.WHOLE_LINE and dtype != _dt.string:
                raise ValueError(f"TextFileInitializer: the whole-line {what} must be a string, received {dtype.name}.")
            if index < -2:
                raise ValueError(f"TextFileInitializer: invalid {what}_index {index}.")
        self.name = name or "text_file_init"

    def _column(self, line: bytes, number: int, index: int, dtype: Any) -> Any:
        if index == TextFileIndex.LINE_NUMBER:
            return number
        field = line if index == TextFileIndex.WHOLE_LINE else line.split(self._delimiter.encode())[index]
        if dtype == _dt.string:
            return field
        return int(field) if dtype.is_integer else float(field)

    def _items(self) -> list:
        with open(self._filename, "rb") as f:
            lines = f.read().splitlines()
        if self._vocab_size is not None:
            if len(lines) < int(self._vocab_size):
                raise ValueError(f"TextFileInitializer: {self._filename} has {len(lines)} lines, fewer than "
                                 f"vocab_size {self._vocab_size}.")
            lines = lines[:int(self._vocab_size)]
        items = []
        for n, line in enumerate(lines):
            try:
                key = self._column(line, n, self._key_index, self.key_dtype)
                value = self._column(line, n + self._offset, self._value_index, self.value_dtype)
            except (IndexError, ValueError) as e:
                raise ValueError(f"TextFileInitializer: line {n} of {self._filename} ({line!r}) has no valid "
                                 f"columns {self._key_index}/{self._value_index}: {e}") from e
            items.append((key, value))
        return items


class _Table:
    """Shared parts: the dict, its dtypes, lookup with a default, size and export."""

    def __init__(self, key_dtype: Any, value_dtype: Any, default_value: Any, name: str) -> None:
        self.key_dtype, self.value_dtype = _dt.as_dtype(key_dtype), _dt.as_dtype(value_dtype)
        self._default = _values(default_value, self.value_dtype)[0]
        self._data: dict = {}
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def default_value(self) -> Tensor:
        return convert_to_tensor(self._default)

    def _np_value_dtype(self) -> Any:
        return object if self.value_dtype == _dt.string else self.value_dtype._np

    def lookup(self, keys: Any, name: Any = None) -> Any:
        """The value of each key (the default value for missing keys), in the keys' structure."""
        def fn(arr: np.ndarray) -> np.ndarray:
            out = np.empty(arr.shape + self._default.shape, self._np_value_dtype())
            for i, k in np.ndenumerate(arr):
                out[i] = self._data.get(_key(k), self._default)
            return out

        return _apply(keys, self, fn)

    __getitem__ = lookup

    def size(self, name: Any = None) -> Tensor:
        return convert_to_tensor(np.int64(len(self._data)))

    def export(self, name: Any = None) -> tuple:
        """(keys, values) of every entry."""
        keys = np.asarray(list(self._data), dtype=object if self.key_dtype == _dt.string else self.key_dtype._np)
        vals = np.asarray(list(self._data.values()), dtype=self._np_value_dtype()).reshape(
            (len(self._data),) + self._default.shape)
        return Tensor(keys), Tensor(vals)


class StaticHashTable(_Table):
    """An immutable table filled once by `initializer`; missing keys give `default_value`."""

    def __init__(self, initializer: Any, default_value: Any, name: Any = None,
                 experimental_is_anonymous: bool = False) -> None:
        super().__init__(initializer.key_dtype, initializer.value_dtype, default_value, name or "hash_table")
        self._initializer = initializer
        self._data = dict(initializer._items())

    @property
    def initializer(self) -> Any:
        return self._initializer


def _oov_bucket(key: Any, key_dtype: Any, num_oov_buckets: int) -> int:
    from tapeflow import fingerprint

    raw = key if key_dtype == _dt.string else str(int(key)).encode()
    return int(fingerprint.fingerprint64([raw])[0] % np.uint64(num_oov_buckets))


class StaticVocabularyTable(_Table):
    """A vocabulary: keys in the initializer map to their ids, others to one of `num_oov_buckets`
    ids after them (by hash, as TF)."""

    def __init__(self, initializer: Any, num_oov_buckets: int, lookup_key_dtype: Any = None, name: Any = None,
                 experimental_is_anonymous: bool = False) -> None:
        if int(num_oov_buckets) <= 0:
            raise ValueError(f"`num_oov_buckets` must be > 0; use StaticHashTable. Received {num_oov_buckets}.")
        key_dtype = initializer.key_dtype if initializer is not None else _dt.as_dtype(lookup_key_dtype or _dt.string)
        if initializer is not None and not initializer.value_dtype.is_integer:
            raise TypeError(f"StaticVocabularyTable: the initializer's values must be integers, received "
                            f"{initializer.value_dtype.name}.")
        super().__init__(key_dtype, _dt.int64, -1, name or "hash_table")
        self._initializer = initializer
        self._data = {} if initializer is None else {k: int(v) for k, v in initializer._items()}
        self._buckets = int(num_oov_buckets)
        if lookup_key_dtype is not None and _dt.as_dtype(lookup_key_dtype) != key_dtype and not (
                _dt.as_dtype(lookup_key_dtype).is_integer and key_dtype.is_integer):
            raise TypeError(f"StaticVocabularyTable: lookup_key_dtype {lookup_key_dtype} does not match the "
                            f"initializer's key dtype {key_dtype.name}.")

    @property
    def initializer(self) -> Any:
        return self._initializer

    def size(self, name: Any = None) -> Tensor:
        return convert_to_tensor(np.int64(len(self._data) + self._buckets))

    def lookup(self, keys: Any, name: Any = None) -> Any:
        """The id of each key: its vocabulary id, or vocabulary size + its hash bucket."""
        n = len(self._data)

        def fn(arr: np.ndarray) -> np.ndarray:
            out = np.empty(arr.shape, np.int64)
            for i, k in np.ndenumerate(arr):
                k = _key(k)
                out[i] = self._data[k] if k in self._data else n + _oov_bucket(k, self.key_dtype, self._buckets)
            return out

        return _apply(keys, self, fn)

    __getitem__ = lookup


class MutableHashTable(_Table):
    """A table that `insert` and `remove` change; missing keys give `default_value` (which also
    fixes the value shape)."""

    def __init__(self, key_dtype: Any, value_dtype: Any, default_value: Any, name: str = "MutableHashTable",
                 checkpoint: bool = True, experimental_is_anonymous: bool = False) -> None:
        super().__init__(key_dtype, value_dtype, default_value, name)

    def insert(self, keys: Any, values: Any, name: Any = None) -> None:
        """Set the value of each key (keys [N], values [N, *value_shape])."""
        k, kd = _values(keys)
        if kd != self.key_dtype:
            raise TypeError(f"{self.name}: keys must be {self.key_dtype.name}, received {kd.name}.")
        v, _ = _values(values, self.value_dtype)
        if v.shape != k.shape + self._default.shape:
            raise ValueError(f"{self.name}: values must have shape {k.shape + self._default.shape} for keys of shape "
                             f"{k.shape}, received {v.shape}.")
        for i, key in np.ndenumerate(k):
            self._data[_key(key)] = v[i] if not self._default.shape else v[i].copy()

    insert_or_assign = insert

    def remove(self, keys: Any, name: Any = None) -> None:
        """Delete the keys present (others are ignored)."""
        k, _ = _values(keys, self.key_dtype)
        for key in k.reshape(-1):
            self._data.pop(_key(key), None)

    erase = remove


class DenseHashTable(MutableHashTable):
    """A mutable table declared with an `empty_key` and a `deleted_key` that are never valid keys
    (TF's open-addressing layout; here the same dict as MutableHashTable)."""

    def __init__(self, key_dtype: Any, value_dtype: Any, default_value: Any, empty_key: Any, deleted_key: Any,
                 initial_num_buckets: Any = None, name: str = "MutableDenseHashTable", checkpoint: bool = True,
                 experimental_is_anonymous: bool = False) -> None:
        super().__init__(key_dtype, value_dtype, default_value, name)
        self._empty = _key(_values(empty_key, self.key_dtype)[0].reshape(-1)[0])
        self._deleted = _key(_values(deleted_key, self.key_dtype)[0].reshape(-1)[0])
        if self._empty == self._deleted:
            raise ValueError("DenseHashTable: empty_key and deleted_key must differ.")

    def insert(self, keys: Any, values: Any, name: Any = None) -> None:
        k, _ = _values(keys, self.key_dtype)
        bad = [v for v in map(_key, k.reshape(-1)) if v in (self._empty, self._deleted)]
        if bad:
            from tapeflow.errors import InvalidArgumentError

            raise InvalidArgumentError(None, None, f"{self.name}: using the empty_key or deleted_key as a table key "
                                       f"is not allowed, received {bad[0]!r}.")
        super().insert(keys, values)

    insert_or_assign = insert


experimental = types.ModuleType("tapeflow.lookup.experimental", "`tf.lookup.experimental`: mutable tables.")
experimental.MutableHashTable = MutableHashTable
experimental.DenseHashTable = DenseHashTable

"""The features of `tf.io.parse_example` and friends, one key at a time: reading Example /
SequenceExample bytes straight from the wire, checking each configuration, computing a batch's
NumPy components (dense values; sparse indices, values, shape; ragged values and row splits)
and assembling them into a Tensor, SparseTensor or RaggedTensor (eager or graph tensors)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow import string_values as _sv
from tapeflow.errors import InvalidArgumentError, UnimplementedError
from tapeflow.io.features import (
    FixedLenFeature,
    FixedLenSequenceFeature,
    RaggedFeature,
    SparseFeature,
    VarLenFeature,
)
from tapeflow.io.wire import ProtoError, map_entry
from tapeflow.io.wire import fields as _fields
from tapeflow.io.wire import read_varint as _read_varint
from tapeflow.tensor import Tensor

_KINDS = {"string": "bytes", "float32": "float", "int64": "int64"}
_TF_TYPE = {"bytes": "string", "float": "float", "int64": "int64"}


# ---------------------------------------------------------------------------------------------
# Reading the wire format

def _feature_values(data: bytes) -> tuple[str | None, Any]:
    """(kind, values) of one `Feature`: "bytes" -> list of bytes, "float" -> float32 array,
    "int64" -> int64 array; (None, []) for a Feature with no list."""
    kind, values = None, []
    for number, wire, value in _fields(data):
        if wire != 2 or number not in (1, 2, 3):
            continue
        if number == 1:
            kind, values = "bytes", [bytes(v) for n, w, v in _fields(value) if n == 1 and w == 2]
        elif number == 2:
            kind, parts = "float", []
            for n, w, v in _fields(value):
                if n == 1 and w == 2:
                    if len(v) % 4:
                        raise ProtoError("a packed float list has a partial element")
                    parts.append(np.frombuffer(v, "<f4"))
                elif n == 1 and w == 5:
                    parts.append(np.frombuffer(v, "<f4"))
            values = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
        else:
            kind, items = "int64", []
            for n, w, v in _fields(value):
                if n == 1 and w == 0:
                    items.append(v)
                elif n == 1 and w == 2:
                    i = 0
                    while i < len(v):
                        item, i = _read_varint(v, i)
                        items.append(item)
            values = np.array(items, np.uint64).view(np.int64)
    return kind, values


def _features_map(data: bytes, entry_reader: Callable) -> dict:
    out = {}
    for number, wire, entry in _fields(data):
        if number != 1 or wire != 2:
            continue
        key, value = map_entry(entry)
        out[key] = entry_reader(value)
    return out


def _read_example(data: bytes) -> dict:
    """{feature name: (kind, values)} of Example bytes (the context of SequenceExample bytes)."""
    out: dict = {}
    for number, wire, value in _fields(data):
        if number == 1 and wire == 2:
            out.update(_features_map(value, _feature_values))
    return out


def _read_sequence_example(data: bytes) -> tuple[dict, dict]:
    """(context, {name: [(kind, values) per step]}) of SequenceExample bytes."""
    context: dict = {}
    lists: dict = {}
    for number, wire, value in _fields(data):
        if number == 1 and wire == 2:
            context.update(_features_map(value, _feature_values))
        elif number == 2 and wire == 2:
            lists.update(_features_map(value, lambda d: [_feature_values(v) for n, w, v in _fields(d)
                                                          if n == 1 and w == 2]))
    return context, lists


# ---------------------------------------------------------------------------------------------
# Configurations, checked

def _np_dtype(dtype: _dt.DType) -> Any:
    return object if dtype == _dt.string else dtype._np


def _kind(dtype: Any, key: str, what: str) -> tuple[_dt.DType, str]:
    d = _dt.as_dtype(dtype)
    if d.name not in _KINDS:
        raise ValueError(f"{what}: feature '{key}' has dtype {d.name}; Example features hold only tf.float32, "
                         "tf.int64 or tf.string.")
    return d, _KINDS[d.name]


def _shape(shape: Any, key: str, what: str) -> tuple[int, ...]:
    dims = tuple(getattr(shape, "as_list", lambda: shape)()) if shape is not None else ()
    if any(d is None or int(d) < 0 for d in dims):
        raise ValueError(f"{what}: feature '{key}' needs a fully defined shape, received {list(dims)}.")
    return tuple(int(d) for d in dims)


def _array(values: Any, dtype: _dt.DType) -> np.ndarray:
    if dtype == _dt.string:
        out = _sv.empty_strings((len(values),))
        out[:] = values if isinstance(values, list) else list(values)
        return out
    return np.asarray(values, dtype._np)


def _default(value: Any, dtype: _dt.DType, shape: tuple, key: str, what: str) -> np.ndarray:
    """A default value as an array of `shape` (TF reshapes it, so its size must match)."""
    if isinstance(value, Tensor):
        value = value.numpy()
    if dtype == _dt.string:
        arr = _sv.to_bytes_array(value) if not isinstance(value, np.ndarray) else value.astype(object)
        arr = np.asarray(arr, dtype=object)
    else:
        arr = np.asarray(value, dtype._np)
    if arr.size != math.prod(shape):
        raise ValueError(f"{what}: the default_value of feature '{key}' has {arr.size} values, its shape "
                         f"{list(shape)} needs {math.prod(shape)}.")
    return arr.reshape(shape)


def _pad_value(value: Any, dtype: _dt.DType) -> Any:
    if value is None:
        return b"" if dtype == _dt.string else 0
    if isinstance(value, Tensor):
        value = value.numpy()
    if dtype == _dt.string:
        return value.encode() if isinstance(value, str) else bytes(np.asarray(value).reshape(-1)[0])
    return np.asarray(value, dtype._np).reshape(-1)[0]


# ---------------------------------------------------------------------------------------------
# One feature over a batch of examples: components, and their assembly into tensors

class _Feature:
    """A checked configuration for one output key."""

    def __init__(self, key: str, config: Any, what: str, sequence: bool = False) -> None:
        self.key, self.config, self.what, self.sequence = key, config, what, sequence
        if isinstance(config, FixedLenFeature):
            if sequence:
                raise ValueError(f"Unsupported FixedLenFeature {config} for key '{key}' in sequence_features: "
                                 "use FixedLenSequenceFeature.")
            self.form = "dense"
            self.dtype, self.kind = _kind(config.dtype, key, what)
            self.shape = _shape(config.shape, key, what)
            self.default = (None if config.default_value is None
                            else _default(config.default_value, self.dtype, self.shape, key, what))
        elif isinstance(config, FixedLenSequenceFeature):
            if not sequence and not config.allow_missing:
                raise ValueError("Unsupported: FixedLenSequenceFeature requires allow_missing to be True.")
            self.form = "sequence"
            self.dtype, self.kind = _kind(config.dtype, key, what)
            self.shape = _shape(config.shape, key, what)
            self.pad = _pad_value(config.default_value, self.dtype)
        elif isinstance(config, VarLenFeature):
            self.form = "sparse"
            self.dtype, self.kind = _kind(config.dtype, key, what)
        elif isinstance(config, SparseFeature):
            if sequence:
                raise ValueError(f"Unsupported SparseFeature for key '{key}' in sequence_features.")
            self.form = "sparse_feature"
            self.dtype, self.kind = _kind(config.dtype, key, what)
            self.index_keys = [config.index_key] if isinstance(config.index_key, str) else list(config.index_key)
            sizes = [config.size] if isinstance(config.size, int) else list(config.size)
            if len(sizes) != len(self.index_keys):
                raise ValueError(f"{what}: SparseFeature '{key}' has {len(self.index_keys)} index keys but "
                                 f"{len(sizes)} sizes.")
            self.sizes = [int(s) for s in sizes]
        elif isinstance(config, RaggedFeature):
            self.form = "ragged"
            self.dtype, self.kind = _kind(config.dtype, key, what)
            self.value_key = config.value_key or key
            self.partitions = list(config.partitions)
            if sequence and self.partitions:
                raise UnimplementedError(None, None, f"{what}: RaggedFeature '{key}' with partitions in "
                                         "sequence_features is not supported here: the steps already "
                                         "partition the values; parse the partitions as context features.")
            if config.row_splits_dtype not in (_dt.int32, _dt.int64):
                raise ValueError(f"{what}: RaggedFeature '{key}': row_splits_dtype must be int32 or int64.")
        else:
            raise ValueError(f"{what}: feature '{key}' must be a FixedLenFeature, FixedLenSequenceFeature, "
                             f"VarLenFeature, SparseFeature or RaggedFeature, received {type(config).__name__}.")

    # -- checking one example's values ---------------------------------------------------------

    def _values(self, found: tuple, name: str, key: str | None = None) -> Any:
        kind, values = found
        if kind is not None and kind != self.kind:
            raise InvalidArgumentError(None, None, f"Name: {name}, Key: {key or self.key}.  Data types don't match. "
                                       f"Data type: {_TF_TYPE[kind]} but expected type: {_TF_TYPE[self.kind]}")
        return values if kind is not None else []

    def _int_feature(self, example: dict, key: str, name: str) -> np.ndarray:
        kind, values = example.get(key, ("int64", []))
        if kind not in ("int64", None):
            raise InvalidArgumentError(None, None, f"Name: {name}, Key: {key}.  Data types don't match. Data type: "
                                       f"{_TF_TYPE[kind]} but expected type: int64 (a partition or index of "
                                       f"feature '{self.key}')")
        return np.asarray(values, np.int64)

    # -- components over a batch -----------------------------------------------------------------

    def components(self, examples: list, names: list) -> list[np.ndarray]:
        return getattr(self, "_" + self.form)(examples, names)

    def _dense(self, examples: list, names: list) -> list:
        n = math.prod(self.shape)
        out = []
        for ex, name in zip(examples, names, strict=True):
            found = ex.get(self.key)
            if found is None or found[0] is None:
                if self.default is None:
                    raise InvalidArgumentError(None, None, f"Name: {name}, Feature: {self.key} (data type: "
                                               f"{_TF_TYPE[self.kind]}) is required but could not be found.")
                out.append(self.default)
                continue
            values = self._values(found, name)
            if len(values) != n:
                raise InvalidArgumentError(None, None, f"Name: {name}, Key: {self.key}, Index: 0.  Number of "
                                           f"{_TF_TYPE[self.kind]} values != expected.  Values size: "
                                           f"{len(values)} but output shape: {list(self.shape)}")
            out.append(_array(values, self.dtype).reshape(self.shape))
        stacked = np.stack(out) if out else np.zeros((0, *self.shape), _np_dtype(self.dtype))
        return [stacked.astype(_np_dtype(self.dtype), copy=False)]

    def _rows(self, values: Any, name: str, step: str = "") -> np.ndarray:
        n = math.prod(self.shape)
        if (n == 0 and len(values)) or (n and len(values) % n):
            raise InvalidArgumentError(None, None, f"Name: {name}, Key: {self.key}{step}.  Number of values is not "
                                       f"a multiple of the element size {n} (shape {list(self.shape)}): "
                                       f"{len(values)} values")
        return _array(values, self.dtype).reshape((-1, *self.shape) if n else (0, *self.shape))

    def _padded(self, rows: list) -> np.ndarray:
        longest = max((len(r) for r in rows), default=0)
        out = np.full((len(rows), longest, *self.shape), self.pad, dtype=_np_dtype(self.dtype))
        for i, r in enumerate(rows):
            out[i, :len(r)] = r
        return out

    def _sequence(self, examples: list, names: list) -> list:
        rows = []
        for ex, name in zip(examples, names, strict=True):
            found = ex.get(self.key)
            rows.append(self._rows(self._values(found, name), name) if found is not None
                        else np.zeros((0, *self.shape), _np_dtype(self.dtype)))
        return [self._padded(rows)]

    def _sparse(self, examples: list, names: list) -> list:
        indices, values, longest = [], [], 0
        for b, (ex, name) in enumerate(zip(examples, names, strict=True)):
            found = ex.get(self.key)
            v = self._values(found, name) if found is not None else []
            indices.extend((b, j) for j in range(len(v)))
            values.extend(v.tolist() if isinstance(v, np.ndarray) else v)
            longest = max(longest, len(v))
        return [np.array(indices, np.int64).reshape(-1, 2), _array(values, self.dtype),
                np.array([len(examples), longest], np.int64)]

    def _sparse_feature(self, examples: list, names: list) -> list:
        indices, values = [], []
        for b, (ex, name) in enumerate(zip(examples, names, strict=True)):
            found = ex.get(self.config.value_key)
            v = self._values(found, name, self.config.value_key) if found is not None else []
            idx = [self._int_feature(ex, k, name) for k in self.index_keys]
            for k, column in zip(self.index_keys, idx, strict=True):
                if len(column) != len(v):
                    raise InvalidArgumentError(None, None, f"Name: {name}, SparseFeature '{self.key}': index "
                                               f"feature '{k}' has {len(column)} values, value feature "
                                               f"'{self.config.value_key}' has {len(v)}.")
            rows = list(zip(*[c.tolist() for c in idx], strict=True)) if idx else []
            for r in rows:
                if any(not 0 <= i < s for i, s in zip(r, self.sizes, strict=True)):
                    raise InvalidArgumentError(None, None, f"Name: {name}, SparseFeature '{self.key}': index "
                                               f"{list(r)} is out of bounds for size {self.sizes}.")
            order = range(len(rows)) if self.config.already_sorted else sorted(range(len(rows)),
                                                                               key=lambda i: rows[i])
            vv = v.tolist() if isinstance(v, np.ndarray) else v
            indices.extend((b, *rows[i]) for i in order)
            values.extend(vv[i] for i in order)
        rank = 1 + len(self.index_keys)
        return [np.array(indices, np.int64).reshape(-1, rank), _array(values, self.dtype),
                np.array([len(examples), *self.sizes], np.int64)]

    def _ragged(self, examples: list, names: list) -> list:
        """[flat values, batch splits, then the splits of each non-uniform partition (outermost
        first)], all splits in the batch's numbering."""
        split_dtype = self.config.row_splits_dtype._np
        flat, batch_rows = [], [0]
        levels: list[list] = [[] for p in self.partitions if not isinstance(p, RaggedFeature.UniformRowLength)]
        for ex, name in zip(examples, names, strict=True):
            found = ex.get(self.value_key)
            values = self._values(found, name, self.value_key) if found is not None else []
            nrows, ex_splits = len(values), []
            for p in reversed(self.partitions):  # innermost first
                if isinstance(p, RaggedFeature.UniformRowLength):
                    if p.length <= 0 and nrows or (p.length and nrows % p.length):
                        raise InvalidArgumentError(None, None, f"Name: {name}, Key: {self.key}.  {nrows} rows "
                                                   f"cannot be split into rows of uniform length {p.length}.")
                    nrows = nrows // p.length if p.length else 0
                    continue
                splits = self._partition_splits(p, self._int_feature(ex, p.key, name), nrows, name)
                ex_splits.append(splits)
                nrows = len(splits) - 1
            flat.append(_array(values, self.dtype))
            for level, splits in zip(levels, reversed(ex_splits), strict=True):
                level.append(splits)
            batch_rows.append(batch_rows[-1] + nrows)
        # Shift each example's splits by the rows before it, level by level.
        shifted = []
        for level in levels:
            total, parts = 0, []
            for k, s in enumerate(level):
                parts.append(s[(1 if k else 0):] + total)
                total += int(s[-1])
            shifted.append(np.concatenate(parts).astype(split_dtype) if parts else np.zeros(1, split_dtype))
        values_out = np.concatenate(flat) if flat else _array([], self.dtype)
        return [values_out.astype(_np_dtype(self.dtype), copy=False), np.array(batch_rows, split_dtype), *shifted]

    def _partition_splits(self, p: Any, ints: np.ndarray, nrows: int, name: str) -> np.ndarray:
        bad = None
        if isinstance(p, RaggedFeature.RowSplits):
            splits = ints if len(ints) else np.zeros(1, np.int64)
            if splits[0] != 0 or (np.diff(splits) < 0).any() or splits[-1] != nrows:
                bad = "row splits must start at 0, not decrease and end at the number of values"
        elif isinstance(p, RaggedFeature.RowLengths):
            splits = np.concatenate([[0], np.cumsum(ints)]).astype(np.int64)
            bad = "row lengths must be non-negative" if (ints < 0).any() else None
        elif isinstance(p, RaggedFeature.RowStarts):
            splits = np.concatenate([ints, [nrows]]).astype(np.int64)
            bad = None if not len(ints) or ints[0] == 0 else "row starts must begin at 0"
        elif isinstance(p, RaggedFeature.RowLimits):
            splits = np.concatenate([[0], ints]).astype(np.int64)
        elif isinstance(p, RaggedFeature.ValueRowIds):
            if len(ints) != nrows or (np.diff(ints) < 0).any() or (ints < 0).any():
                bad = "value row ids must be one non-decreasing, non-negative id per value"
                splits = np.zeros(1, np.int64)
            else:
                count = int(ints[-1]) + 1 if len(ints) else 0
                splits = np.concatenate([[0], np.cumsum(np.bincount(ints, minlength=count))]).astype(np.int64)
        else:
            raise ValueError(f"{self.what}: RaggedFeature '{self.key}': unknown partition {p!r}.")
        if bad is None and (splits[-1] != nrows or (np.diff(splits) < 0).any()):
            bad = f"the partition does not cover the {nrows} rows below it"
        if bad:
            raise InvalidArgumentError(None, None, f"Name: {name}, Key: {self.key}, partition {p}: {bad}.")
        return splits

    # -- assembly (works on eager and graph tensors alike) ---------------------------------------

    def n_components(self) -> int:
        if self.form in ("dense", "sequence"):
            return 1
        if self.form in ("sparse", "sparse_feature"):
            return 3
        return 2 + sum(not isinstance(p, RaggedFeature.UniformRowLength) for p in self.partitions)

    def assemble(self, parts: list, batched: bool) -> Any:
        from tapeflow.ops import movement
        from tapeflow.ragged.ragged_tensor import RaggedTensor
        from tapeflow.sparse import SparseTensor

        if self.form in ("dense", "sequence"):
            return parts[0] if batched else parts[0][0]
        if self.form in ("sparse", "sparse_feature"):
            indices, values, shape = parts
            if not batched:
                indices, shape = indices[:, 1:], shape[1:]
            return SparseTensor(indices, values, shape)
        values, batch_splits, splits = parts[0], parts[1], list(parts[2:])
        rt: Any = values
        for p in reversed(self.partitions):
            if isinstance(p, RaggedFeature.UniformRowLength):
                rt = (RaggedTensor.from_uniform_row_length(rt, p.length, validate=False)
                      if isinstance(rt, RaggedTensor) or batched or splits
                      else movement.reshape(rt, (-1, p.length, *tuple(rt.shape)[1:])))
            else:
                rt = RaggedTensor.from_row_splits(rt, splits.pop(), validate=False)
        if batched:
            return RaggedTensor.from_row_splits(rt, batch_splits, validate=False)
        return rt


def _specs(what: str, features: Any, sequence: bool = False) -> list[_Feature]:
    if features is None:
        return []
    if not isinstance(features, dict):
        raise TypeError(f"{what}: `features` must be a dict from feature key to a feature configuration, "
                        f"received {type(features).__name__}.")
    return _ordered([_Feature(k, v, what, sequence) for k, v in features.items()])


def _ordered(specs: list) -> list:
    """TF's output order: VarLen, then dense, ragged, SparseFeature; each sorted by key."""
    group = {"sparse": 0, "dense": 1, "sequence": 1, "ragged": 2, "sparse_feature": 3}
    return sorted(specs, key=lambda s: (group[s.form], s.key))


# ---------------------------------------------------------------------------------------------
# Sequence features (one list of Features per step)

class _SequenceFeature(_Feature):
    """A feature of `sequence_features`: the values of each step."""

    def _step_values(self, steps: list, name: str) -> list:
        return [self._values(s, name) for s in steps]

    def _sequence(self, examples: list, names: list) -> list:
        rows, lengths = [], []
        for ex, name in zip(examples, names, strict=True):
            steps = ex.get(self.key)
            if steps is None and not self.config.allow_missing:
                raise InvalidArgumentError(None, None, f"Name: {name}, Feature list '{self.key}' is required but "
                                           "could not be found.  Use allow_missing=True to read it as empty.")
            per_step = []
            for i, values in enumerate(self._step_values(steps or [], name)):
                if len(values) != math.prod(self.shape):
                    raise InvalidArgumentError(None, None, f"Name: {name}, Key: {self.key}, Index: {i}.  Number "
                                               f"of values != expected.  values size: {len(values)} but output "
                                               f"shape: {list(self.shape)}")
                per_step.append(_array(values, self.dtype).reshape(self.shape))
            rows.append(np.stack(per_step) if per_step else np.zeros((0, *self.shape), _np_dtype(self.dtype)))
            lengths.append(len(per_step))
        return [self._padded(rows), np.array(lengths, np.int64)]

    def _sparse(self, examples: list, names: list) -> list:
        indices, values, steps_max, longest = [], [], 0, 0
        for b, (ex, name) in enumerate(zip(examples, names, strict=True)):
            steps = self._step_values(ex.get(self.key) or [], name)
            steps_max = max(steps_max, len(steps))
            for t, v in enumerate(steps):
                indices.extend((b, t, j) for j in range(len(v)))
                values.extend(v.tolist() if isinstance(v, np.ndarray) else v)
                longest = max(longest, len(v))
        return [np.array(indices, np.int64).reshape(-1, 3), _array(values, self.dtype),
                np.array([len(examples), steps_max, longest], np.int64)]

    def _ragged(self, examples: list, names: list) -> list:
        split_dtype = self.config.row_splits_dtype._np
        flat, batch_rows, step_splits = [], [0], [0]
        for ex, name in zip(examples, names, strict=True):
            steps = self._step_values(ex.get(self.value_key) or [], name)
            for v in steps:
                flat.append(_array(v, self.dtype))
                step_splits.append(step_splits[-1] + len(v))
            batch_rows.append(batch_rows[-1] + len(steps))
        values = np.concatenate(flat) if flat else _array([], self.dtype)
        return [values.astype(_np_dtype(self.dtype), copy=False), np.array(batch_rows, split_dtype),
                np.array(step_splits, split_dtype)]

    def n_components(self) -> int:
        return {"sequence": 2, "sparse": 3, "ragged": 3}[self.form]

    def assemble(self, parts: list, batched: bool) -> Any:
        from tapeflow.ragged.ragged_tensor import RaggedTensor
        from tapeflow.sparse import SparseTensor

        if self.form == "sequence":
            return parts[0] if batched else parts[0][0]
        if self.form == "sparse":
            indices, values, shape = parts
            if not batched:
                indices, shape = indices[:, 1:], shape[1:]
            return SparseTensor(indices, values, shape)
        values, batch_splits, step_splits = parts
        rt = RaggedTensor.from_row_splits(values, step_splits, validate=False)
        return RaggedTensor.from_row_splits(rt, batch_splits, validate=False) if batched else rt

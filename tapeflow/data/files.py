"""Elements on disk: `Dataset.save` / `Dataset.load`, and `cache` (in memory or in a file).

Elements are written as NumPy `.npz` files, one array per component: the components stacked
when every element has the same shape, else their values concatenated with a table of shapes.
`save` writes the element spec (JSON) last, so a directory with a spec is complete.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import time
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow import atomic_file as _atomic
from tapeflow import dtypes as _dt
from tapeflow import string_values
from tapeflow.data import structure
from tapeflow.data.dataset import Dataset
from tapeflow.data.functions import UserFunction
from tapeflow.tracing.spec import TensorSpec

_SPEC_FILE = "dataset_spec.json"
_COMPRESSIONS = (None, "", "GZIP")
_SHARD_NAME = re.compile(r"shard_-?\d+(\.[0-9a-f]+)?\.npz")
_SPEC_MAX_BYTES = 16 << 20


def write_elements(path: str, elements: list, spec: Any, compress: bool) -> None:
    """Write `elements` (structures of arrays with `spec`'s structure) to the `.npz` file `path`."""
    n_components = len(structure.flatten(spec))
    columns = list(zip(*[structure.flatten(e) for e in elements], strict=True)) if elements else [
        ()] * n_components
    arrays: dict = {"count": np.array(len(elements), np.int64)}
    for j, column in enumerate(columns):
        if structure.flatten(spec)[j].dtype._np.kind == "O":  # strings: bytes + lengths, no pickle
            flat = np.concatenate([a.reshape(-1) for a in column]) if column else np.empty(0, object)
            arrays[f"text_{j}"], arrays[f"lengths_{j}"] = string_values.pack(flat)
            arrays[f"shapes_{j}"] = np.array([a.shape for a in column], np.int64).reshape(len(column), -1)
        elif column and all(a.shape == column[0].shape for a in column):
            arrays[f"stacked_{j}"] = np.stack(column)
        else:
            arrays[f"values_{j}"] = (np.concatenate([a.reshape(-1) for a in column]) if column
                                     else np.zeros(0))
            arrays[f"shapes_{j}"] = np.array([a.shape for a in column], np.int64).reshape(len(column), -1)
    with _atomic.atomic_write(path) as f:  # a killed write leaves the previous file
        (np.savez_compressed if compress else np.savez)(f, **arrays)


def read_elements(path: str, spec: Any) -> list:
    """The elements written by `write_elements`.

    Raises:
        ValueError: naming `path` when the file is truncated, damaged or inconsistent.
    """
    try:
        return _read_elements(path, spec)
    except (KeyError, ValueError, TypeError, IndexError, OSError, EOFError, NotImplementedError,
            zipfile.BadZipFile, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"Dataset file '{path}' is truncated or damaged ({type(exc).__name__}: {exc}).") from exc


def _read_count(data: Any) -> int:
    count = data["count"]
    if count.shape != () or count.dtype.kind not in "iu" or int(count) < 0:
        raise ValueError(f"its `count` entry is not a non-negative integer (shape {count.shape}, "
                         f"dtype {count.dtype})")
    return int(count)


def _read_elements(path: str, spec: Any) -> list:
    leaf_specs = structure.flatten(spec)
    with np.load(path, allow_pickle=False) as data:
        count = _read_count(data)
        columns = []
        for j, s in enumerate(leaf_specs):
            if f"stacked_{j}" in data:
                stacked = data[f"stacked_{j}"]
                if count and (stacked.ndim == 0 or stacked.shape[0] != count):
                    raise ValueError(f"`stacked_{j}` holds {stacked.shape[:1]} elements, `count` says {count}")
                columns.append(list(stacked) if count else [])
                continue
            if f"text_{j}" in data:
                values = string_values.unpack(data[f"text_{j}"], data[f"lengths_{j}"], path)
            else:
                values = data[f"values_{j}"].astype(s.dtype._np)
            shapes = data[f"shapes_{j}"]
            if (shapes.ndim != 2 or shapes.shape[0] != count or shapes.dtype.kind not in "iu"
                    or (shapes < 0).any() or int(np.prod(shapes, axis=1).sum()) != values.size):
                raise ValueError(f"`shapes_{j}` does not describe the {values.size} values of {count} elements")
            column, pos = [], 0
            for shape in shapes:
                size = int(np.prod(shape))
                column.append(values[pos:pos + size].reshape(tuple(shape)))
                pos += size
            columns.append(column)
    rows = zip(*columns, strict=True)
    return [structure.pack(spec, [np.asarray(a) for a in row]) for row in rows]


def spec_to_json(spec: Any) -> Any:
    if isinstance(spec, dict):
        return {"dict": {k: spec_to_json(v) for k, v in spec.items()}}
    if isinstance(spec, tuple):
        return {"tuple": [spec_to_json(v) for v in spec]}
    if not isinstance(spec, TensorSpec):
        raise TypeError(f"Dataset.save: only datasets of tensors can be saved, found {spec!r}.")
    shape = None if spec.shape.rank is None else list(spec.shape)
    return {"shape": shape, "dtype": spec.dtype.name}


def spec_from_json(data: Any) -> Any:
    if "dict" in data:
        return {k: spec_from_json(v) for k, v in data["dict"].items()}
    if "tuple" in data:
        return tuple(spec_from_json(v) for v in data["tuple"])
    return TensorSpec(data["shape"], _dt.as_dtype(data["dtype"]))


def _check_compression(compression: Any, what: str) -> bool:
    if compression not in _COMPRESSIONS:
        raise ValueError(f"{what}: `compression` must be None or 'GZIP', received {compression!r}.")
    return compression == "GZIP"


def save(dataset: Dataset, path: str, compression: str | None, shard_func: Any, checkpoint_args: Any) -> None:
    """`Dataset.save`: the elements grouped into shard files by `shard_func` (default: one)."""
    what = "Dataset.save"
    compress = _check_compression(compression, what)
    if checkpoint_args is not None:
        raise ValueError(f"{what}: `checkpoint_args` needs tf.train.Checkpoint, which Tapeflow "
                         "does not have yet; save without it.")
    spec = dataset.element_spec
    spec_json = spec_to_json(spec)
    shard_of = None if shard_func is None else UserFunction(shard_func, f"{what} shard_func")
    shards: dict = {}
    for element in dataset._iter_elements():
        key = 0
        if shard_of is not None:
            value = np.asarray(shard_of(element))
            if value.shape != () or value.dtype.kind not in "iu":
                raise ValueError(f"{what}: `shard_func` must return a scalar integer, returned shape "
                                 f"{value.shape} dtype {value.dtype}.")
            key = int(value)
        shards.setdefault(key, []).append(element)
    os.makedirs(path, exist_ok=True)
    spec_path = os.path.join(path, _SPEC_FILE)
    keys = sorted(shards) or [0]
    # New shard files get a fresh generation name and the spec, written last and atomically,
    # switches to them: a save killed at any point leaves the previous dataset loadable.
    _atomic.remove_stale_temporaries(path, whole_folder=True)
    generation = secrets.token_hex(4)
    files = [f"shard_{key}.{generation}.npz" for key in keys]
    for key, name in zip(keys, files, strict=True):
        write_elements(os.path.join(path, name), shards.get(key, []), spec, compress)
    with _atomic.atomic_write(spec_path) as f:
        f.write(json.dumps({"element_spec": spec_json, "shards": keys, "files": files,
                            "compression": compression}).encode())
    for name in os.listdir(path):
        if _SHARD_NAME.fullmatch(name) and name not in files:
            os.remove(os.path.join(path, name))


def load(path: str, element_spec: Any, compression: str | None, reader_func: Any, wait: bool) -> Dataset:
    """`Dataset.load`: the shards of a saved dataset, read in order or through `reader_func`."""
    from tapeflow.data.windows import DatasetSpec, ListDataset

    what = "Dataset.load"
    _check_compression(compression, what)
    spec_path = os.path.join(path, _SPEC_FILE)
    while wait and not os.path.exists(spec_path):
        time.sleep(0.1)
    if not os.path.exists(spec_path):
        raise FileNotFoundError(f"{what}: no dataset saved by Dataset.save at {path!r} (missing "
                                f"{_SPEC_FILE}).")
    meta = _read_spec_file(spec_path, what)
    spec = spec_from_json(meta["element_spec"])
    if element_spec is not None and element_spec != spec:
        raise ValueError(f"{what}: the given `element_spec` {element_spec} does not match the "
                         f"saved one {spec}.")
    files = meta.get("files") or [f"shard_{k}.npz" for k in meta["shards"]]
    shards = [ShardFileDataset(os.path.join(path, name), spec) for name in files]
    if reader_func is None:
        out = shards[0]
        for d in shards[1:]:
            out = out.concatenate(d)
        return out
    result = reader_func(ListDataset(shards, DatasetSpec(spec)))
    if not isinstance(result, Dataset):
        raise TypeError(f"{what}: `reader_func` must return a Dataset, returned {type(result).__name__}.")
    return result


def _read_spec_file(spec_path: str, what: str) -> dict:
    """The JSON written by `save`, checked; a damaged file raises a ValueError naming it."""
    try:
        if os.path.getsize(spec_path) > _SPEC_MAX_BYTES:
            raise ValueError(f"larger than {_SPEC_MAX_BYTES} bytes")
        with open(spec_path, "rb") as f:
            meta = json.loads(f.read().decode("utf-8"))
        if not (isinstance(meta, dict) and "element_spec" in meta and isinstance(meta.get("shards"), list)
                and all(isinstance(k, int) for k in meta["shards"])
                and all(isinstance(n, str) and _SHARD_NAME.fullmatch(n) for n in meta.get("files") or [])):
            raise ValueError("expected {'element_spec', 'shards': [int], 'files': [shard file names]}")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"{what}: '{spec_path}' is damaged or not written by Dataset.save "
                         f"({type(exc).__name__}: {exc}).") from exc
    return meta


class ShardFileDataset(Dataset):
    """The elements of one file written by `write_elements`."""

    def __init__(self, path: str, spec: Any) -> None:
        super().__init__(())
        self._path, self._spec = path, spec

    def _compute_element_spec(self) -> Any:
        return self._spec

    def _compute_cardinality(self) -> int:
        try:
            with np.load(self._path, allow_pickle=False) as data:
                return _read_count(data)
        except (KeyError, ValueError, OSError, EOFError, NotImplementedError, zipfile.BadZipFile,
                zlib.error) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise ValueError(f"Dataset file '{self._path}' is truncated or damaged ({exc}).") from exc

    def _iter_elements(self) -> Iterator:
        yield from read_elements(self._path, self._spec)


class CacheDataset(Dataset):
    """`cache(filename)`: the first complete pass is recorded (in memory, or in the file
    `filename` + ".npz"); later passes replay it without running the input pipeline."""

    _tf_repr = "CacheDataset"  # as TF's repr names it

    def __init__(self, input_ds: Dataset, filename: str = "", name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        if not isinstance(filename, str):
            raise TypeError(f"Dataset.cache: `filename` must be a string, received {filename!r}.")
        self._filename = filename
        self._memory: list | None = None

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _compute_cardinality(self) -> int:
        return self._inputs[0]._compute_cardinality()

    def _file(self) -> str:
        return self._filename + ".npz"

    def _iter_elements(self) -> Iterator:
        if self._memory is not None:
            yield from self._memory
            return
        if self._filename and os.path.exists(self._file()):
            yield from read_elements(self._file(), self.element_spec)
            return
        recorded = []
        for element in self._inputs[0]._iter_elements():
            recorded.append(element)
            yield element
        # Only a complete pass is kept (an iteration stopped early records nothing).
        if self._filename:
            write_elements(self._file(), recorded, self.element_spec, compress=False)
        else:
            self._memory = recorded

    def _iter_elements_from(self, position: int) -> Iterator | None:
        """From the recorded pass when there is one; else from the input, positioned (that
        partial pass is not recorded: a later pass runs the input again)."""
        if self._memory is not None:
            return (e for e in self._memory[position:])
        if self._filename and os.path.exists(self._file()):
            return (e for e in itertools.islice(read_elements(self._file(), self.element_spec), position, None))
        return self._inputs[0]._iter_elements_from(position)

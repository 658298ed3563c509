"""Text files as datasets: `Dataset.list_files` (glob patterns) and `TextLineDataset` (lines).

File names and lines are `tf.string` scalars (host object arrays of bytes). Lines are read
in chunks of `buffer_size` bytes, decompressed on the fly ("GZIP", "ZLIB"), and split on "\\n"
with a trailing "\\r" dropped, as TF's line reader does; a file is never read whole.
"""

from __future__ import annotations

import fnmatch
import gzip
import os
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.data.dataset import UNKNOWN_CARDINALITY, Dataset
from tapeflow.errors import InvalidArgumentError, NotFoundError
from tapeflow.tensor import Tensor
from tapeflow.tracing.spec import TensorSpec

_DEFAULT_BUFFER = 256 * 1024
_COMPRESSIONS = (None, "", "GZIP", "ZLIB")


def _names(value: Any, what: str) -> list[str]:
    """File names or patterns given as str/bytes, a list of them, or a string tensor/array."""
    if isinstance(value, Tensor):
        value = value.numpy()
    if isinstance(value, (str, bytes, os.PathLike)):
        value = [value]
    flat = np.asarray(value, dtype=object).reshape(-1) if not isinstance(value, list) else value
    out = []
    for v in flat:
        if isinstance(v, os.PathLike):
            v = os.fspath(v)
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        if not isinstance(v, str):
            raise TypeError(f"{what}: expected file names as strings, received {v!r}.")
        out.append(v)
    return out


def _has_magic(part: str) -> bool:
    return any(c in part for c in "*?[")


def match_files(pattern: str) -> list[str]:
    """The paths matching a glob `pattern` (`*`, `?`, `[...]` within one path component; hidden
    files included, as TF's `tf.io.gfile.glob`), sorted."""
    head, parts = pattern, []
    while _has_magic(head):
        head, tail = os.path.split(head)
        parts.append(tail)
        if not head:
            break
    candidates = [head] if head or not parts else [""]
    if not parts:
        return [pattern] if os.path.exists(pattern) else []
    for part in reversed(parts):
        found = []
        for base in candidates:
            folder = base or "."
            if not _has_magic(part):
                path = os.path.join(base, part)
                if os.path.lexists(path):
                    found.append(path)
                continue
            try:
                entries = sorted(os.listdir(folder))
            except OSError:
                continue
            found.extend(os.path.join(base, e) for e in entries if fnmatch.fnmatchcase(e, part))
        candidates = found
    return sorted(candidates)


def list_files(file_pattern: Any, shuffle: bool | None = None, seed: int | None = None,
               name: str | None = None) -> Dataset:
    """A dataset of the file names matching `file_pattern` (a glob, or a list of them): sorted,
    or shuffled (anew each iteration, with `seed`) when `shuffle` is True or None."""
    from tapeflow.data.sources import TensorSliceDataset

    patterns = _names(file_pattern, "Dataset.list_files")
    matched = sorted(p for pattern in patterns for p in match_files(pattern))
    if not matched:
        raise InvalidArgumentError(
            None, None, f"Expect a list of files but no files matched pattern(s) {patterns!r}.")
    names = np.empty(len(matched), dtype=object)
    names[:] = [m.encode("utf-8") for m in matched]
    ds = TensorSliceDataset(names, name)
    if shuffle is None or shuffle:
        ds = ds.shuffle(len(matched), seed=seed)
    return ds


def _chunks(path: str, compression: str | None, buffer_size: int) -> Iterator[bytes]:
    """The decompressed bytes of `path`, `buffer_size` at a time."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, also when the generator is dropped
    except FileNotFoundError:
        raise NotFoundError(None, None, f"{path}; No such file or directory") from None
    with f:
        if compression == "GZIP":
            with gzip.GzipFile(fileobj=f) as g:
                while chunk := g.read(buffer_size):
                    yield chunk
            return
        inflate = zlib.decompressobj() if compression == "ZLIB" else None
        while chunk := f.read(buffer_size):
            yield inflate.decompress(chunk, buffer_size * 4) if inflate is not None else chunk
            while inflate is not None and inflate.unconsumed_tail:
                yield inflate.decompress(inflate.unconsumed_tail, buffer_size * 4)
        if inflate is not None:
            yield inflate.flush()


def read_lines(path: str, compression: str | None = None, buffer_size: int = _DEFAULT_BUFFER) -> Iterator[bytes]:
    """The lines of the file `path` without their "\\n" (or "\\r\\n")."""
    rest = b""
    for chunk in _chunks(path, compression, buffer_size):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line[:-1] if line.endswith(b"\r") else line
    if rest:
        yield rest[:-1] if rest.endswith(b"\r") else rest


def _scalar(value: bytes) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = value
    return out


class TextLineDataset(Dataset):
    """The lines of one or more text files, as `tf.string` scalars (`tf.data.TextLineDataset`).

    Args:
        filenames: a file name, a list of them, a string tensor, or a Dataset of file names.
        compression_type: None/"" (plain), "GZIP" or "ZLIB".
        buffer_size: the read buffer in bytes (default 256 KiB).
        num_parallel_reads: read this many files at once, interleaving their lines one at a time
            (in file order, deterministically); None reads the files one after another.

    Example:
        >>> for line in tf.data.TextLineDataset(["a.txt", "b.txt"]):
        ...     print(line.numpy())
    """

    _tf_repr = "TextLineDatasetV2"  # as TF's repr names it

    def __init__(self, filenames: Any, compression_type: str | None = None, buffer_size: int | None = None,
                 num_parallel_reads: int | None = None, name: str | None = None) -> None:
        what = type(self).__name__
        if compression_type not in _COMPRESSIONS:
            raise ValueError(f"{what}: `compression_type` must be None, '', 'GZIP' or 'ZLIB', received "
                             f"{compression_type!r}.")
        if buffer_size is not None and int(buffer_size) <= 0:
            raise ValueError(f"{what}: `buffer_size` must be positive, received {buffer_size}.")
        if num_parallel_reads is not None and int(num_parallel_reads) <= 0 and num_parallel_reads != -1:
            raise ValueError(f"{what}: `num_parallel_reads` must be positive or tf.data.AUTOTUNE, received "
                             f"{num_parallel_reads}.")
        if isinstance(filenames, Dataset):
            spec = filenames.element_spec
            if not isinstance(spec, TensorSpec) or spec.dtype != _dt.string or (spec.shape.rank or 0) != 0:
                raise TypeError(f"{what}: `filenames` must be a dataset of tf.string scalars, received a dataset "
                                f"with element_spec {spec}.")
            super().__init__((filenames,), name)
            self._files: Any = filenames
        else:
            super().__init__((), name)
            self._files = _names(filenames, what)
        self._compression = compression_type or None
        self._buffer_size = int(buffer_size) if buffer_size else _DEFAULT_BUFFER
        self._parallel = None if num_parallel_reads is None else int(num_parallel_reads)

    def _compute_element_spec(self) -> Any:
        return TensorSpec((), _dt.string)

    def _compute_cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _file_names(self) -> Iterator[str]:
        if isinstance(self._files, list):
            yield from self._files
            return
        for element in self._files._iter_elements():
            value = np.asarray(element).reshape(())[()]
            yield value.decode("utf-8") if isinstance(value, bytes) else str(value)

    def _read(self, path: str) -> Iterator[bytes]:
        """The elements of one file, as bytes."""
        return read_lines(path, self._compression, self._buffer_size)

    def _iter_elements(self) -> Iterator:
        readers = (self._read(f) for f in self._file_names())
        if self._parallel is None:
            for reader in readers:
                for line in reader:
                    yield _scalar(line)
            return
        # NOTE: TF's interleave order: visit the slots in turn; an empty slot opens the next file
        # (without advancing), an exhausted file empties its slot and the visit moves on.
        cycle = (os.cpu_count() or 1) if self._parallel == -1 else self._parallel
        slots: list = [None] * cycle
        index, open_count, inputs_left = 0, 0, True
        while inputs_left or open_count:
            reader = slots[index]
            if reader is not None:
                line = next(reader, None)
                if line is not None:
                    yield _scalar(line)
                else:
                    slots[index] = None
                    open_count -= 1
                index = (index + 1) % cycle
            elif inputs_left:
                reader = next(readers, None)
                if reader is None:
                    inputs_left = False
                else:
                    slots[index] = reader
                    open_count += 1
            else:
                index = (index + 1) % cycle


class CsvDataset(TextLineDataset):
    """The records of CSV files as tuples of scalars (`tf.data.experimental.CsvDataset`).

    Each line is parsed as `tf.io.decode_csv` parses it, with `record_defaults` (one per output
    column: a default value, or a dtype for a required column); `header` skips each file's first
    line; `select_cols` or `exclude_cols` (not both, strictly increasing) pick the columns, in
    file order. A number is always a default here; TF takes a default that compares equal to a
    dtype's enum (1.0, 9.0, ...) for that dtype, which no user means.
    """

    _tf_repr = "CsvDatasetV2"  # as TF's repr names it

    def __init__(self, filenames: Any, record_defaults: Any, compression_type: str | None = None,
                 buffer_size: int | None = None, header: bool = False, field_delim: str = ",",
                 use_quote_delim: bool = True, na_value: str = "", select_cols: Any = None,
                 exclude_cols: Any = None) -> None:
        super().__init__(filenames, compression_type, buffer_size)
        if select_cols is not None and exclude_cols is not None:
            raise ValueError("Either select_cols or exclude_cols should be empty")
        defaults = list(record_defaults)
        if not defaults:
            raise ValueError("CsvDataset: `record_defaults` must list at least one column.")
        for what, cols in (("select_cols", select_cols), ("exclude_cols", exclude_cols)):
            if cols is not None:
                cols = [int(c) for c in cols]
                if any(c < 0 for c in cols) or any(b <= a for a, b in zip(cols, cols[1:], strict=False)):
                    raise InvalidArgumentError(None, None, f"{what} should be strictly increasing indices "
                                               f"(received {cols})")
        if exclude_cols is not None:
            excluded = [int(c) for c in exclude_cols]
            total = len(defaults) + len(excluded)
            select_cols = [c for c in range(total) if c not in set(excluded)]
        self._header = bool(header)
        self._csv = dict(record_defaults=[_csv_default(d) for d in defaults], field_delim=field_delim,
                         use_quote_delim=use_quote_delim, na_value=na_value,
                         select_cols=None if select_cols is None else [int(c) for c in select_cols])

    def _compute_element_spec(self) -> Any:
        return tuple(TensorSpec((), d.dtype) for d in self._csv["record_defaults"])

    def _read(self, path: str) -> Iterator[bytes]:
        lines = super()._read(path)
        if self._header:
            next(lines, None)
        return lines

    def _iter_elements(self) -> Iterator:
        from tapeflow.io import decode_csv

        for line in super()._iter_elements():
            yield tuple(t._value for t in decode_csv(Tensor(line), **self._csv))


def _csv_default(value: Any) -> Any:
    """A record default as decode_csv takes it: a tensor of one value, or an empty one of the
    column's dtype where a dtype was given (a required column)."""
    from tapeflow.tensor import convert_to_tensor

    if isinstance(value, (_dt.DType, type)):
        return convert_to_tensor(np.zeros((0,), _dt.as_dtype(value)._np)) if _dt.as_dtype(value) != _dt.string \
            else convert_to_tensor(np.zeros((0,), object), dtype=_dt.string)
    if isinstance(value, Tensor):
        return value
    return convert_to_tensor(value)

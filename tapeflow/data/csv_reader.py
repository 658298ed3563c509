"""`tf.data.experimental.make_csv_dataset`: CSV files as batches of `(features dict, label)`.

As TF: column names come from the header row (or `column_names`), column types are inferred
from the first `num_rows_for_inference` rows when `column_defaults` is not given (int32, int64,
float32, float64 or string, the least permissive that holds every value seen), the files are
read by `CsvDataset`s interleaved `num_parallel_reads` at a time, then shuffled, repeated
`num_epochs` times (None: forever, with full batches only), batched and turned into an
ordered dict of columns (the label column popped out as the second element).
"""

from __future__ import annotations

import collections
import csv
import gzip
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.data.dataset import AUTOTUNE, Dataset
from tapeflow.data.text_files import CsvDataset, _names, match_files

_CSV_TYPES = (_dt.float32, _dt.float64, _dt.int32, _dt.int64, _dt.string)


def _file_names(file_pattern: Any) -> list[str]:
    patterns = _names(file_pattern, "make_csv_dataset")
    if isinstance(file_pattern, list) and not file_pattern:
        raise ValueError("Argument `file_pattern` should not be empty.")
    names = sorted(p for pattern in patterns for p in match_files(pattern))
    if not names:
        raise ValueError(f"No files match `file_pattern` {file_pattern}.")
    return names


def _opener(compression_type: Any, encoding: str) -> Any:
    """How to open a file as text for probing its header and types."""
    if compression_type is None or compression_type == "":
        return lambda name: open(name, encoding=encoding, newline="")  # noqa: SIM115
    if compression_type == "GZIP":
        return lambda name: gzip.open(name, "rt", encoding=encoding, newline="")
    if compression_type == "ZLIB":
        raise ValueError(f"`compression_type` {compression_type} is not supported for probing columns.")
    raise ValueError(f"Received unknown `compression_type` {compression_type}. Expected: GZIP, ZLIB or "
                     f"\"\" (empty string).")


def _reader(f: Any, field_delim: str, use_quote_delim: bool) -> Any:
    return csv.reader(f, delimiter=field_delim, quoting=csv.QUOTE_MINIMAL if use_quote_delim else csv.QUOTE_NONE)


def _infer_column_names(names: list[str], field_delim: str, use_quote_delim: bool, opener: Any) -> list[str]:
    first = None
    for name in names:
        with opener(name) as f:
            try:
                row = next(_reader(f, field_delim, use_quote_delim))
            except StopIteration:
                raise ValueError(f"Failed when reading the header line of {name}. Is it an empty file?") from None
        if first is None:
            first = row
        elif row != first:
            raise ValueError("All input CSV files should have the same column names in the header row. "
                             f"File {name} has different column names.")
    return first


def _valid(value: str, dtype: Any) -> bool:
    try:
        if dtype == _dt.int32:
            return int(np.int32(value)) == int(np.int64(value))
        if dtype == _dt.int64:
            np.int64(value)
            return True
        return bool(dtype._np.type(value) < np.inf)
    except (ValueError, OverflowError):
        return False


_ORDER = (_dt.int32, _dt.int64, _dt.float32, _dt.float64, _dt.string)


def _infer_type(value: str, na_value: str, prev: Any) -> Any:
    """The least permissive type of `_ORDER` that holds `value` and every value seen before."""
    if value in ("", na_value):
        return prev
    for i, dtype in enumerate(_ORDER):
        if (dtype == _dt.string or _valid(value, dtype)) and (prev is None or prev in _ORDER[:i + 1]):
            return dtype
    return _dt.string


def _infer_column_defaults(names: list[str], num_cols: int, field_delim: str, use_quote_delim: bool,
                           na_value: str, header: bool, num_rows: int | None, select: list | None,
                           opener: Any) -> list:
    from tapeflow.tensor import convert_to_tensor

    cols = list(range(num_cols)) if select is None else select
    types: list = [None] * len(cols)
    seen = 0
    for name in names:
        if num_rows is not None and seen >= num_rows:
            break
        with opener(name) as f:
            rows = _reader(f, field_delim, use_quote_delim)
            row_num = 1
            if header:
                next(rows, None)
                row_num += 1
            for row in rows:
                if num_rows is not None and seen >= num_rows:
                    break
                if len(row) != num_cols:
                    raise ValueError(f"Problem inferring types: CSV row {row_num} has {len(row)} number of "
                                     f"fields. Expected: {num_cols}.")
                row_num += 1
                seen += 1
                for j, c in enumerate(cols):
                    types[j] = _infer_type(row[c], na_value, types[j])
    types = [t or _dt.string for t in types]
    return [convert_to_tensor([""] if t == _dt.string else [0], dtype=t) for t in types]


def _sorted_col_indices(select_columns: list, column_names: list[str]) -> list[int]:
    index = {n: i for i, n in enumerate(column_names)}
    out = []
    for v in select_columns:
        if isinstance(v, (int, np.integer)):
            if v < 0 or v >= len(column_names):
                raise ValueError(f"Column index {v} specified in `select_columns` should be > 0  and <= "
                                 f"{len(column_names)}, which is the number of columns.")
            out.append(int(v))
        elif v not in index:
            raise ValueError(f"Column {v} specified in `select_columns` must be of one of the columns: "
                             f"{index.keys()}.")
        else:
            out.append(index[v])
    result = sorted(set(out))
    if len(result) != len(select_columns):
        dup = {a for a, b in zip(sorted(out), sorted(out)[1:], strict=False) if a == b}
        raise ValueError(f"The `select_columns` argument contains duplicate columns: {dup}.")
    return result


def make_csv_dataset(file_pattern: Any, batch_size: int, column_names: list | None = None,
                     column_defaults: list | None = None, label_name: str | None = None,
                     select_columns: list | None = None, field_delim: str = ",", use_quote_delim: bool = True,
                     na_value: str = "", header: bool = True, num_epochs: int | None = None,
                     shuffle: bool = True, shuffle_buffer_size: int = 10000, shuffle_seed: int | None = None,
                     prefetch_buffer_size: int | None = None, num_parallel_reads: int | None = None,
                     sloppy: bool = False, num_rows_for_inference: int | None = 100,
                     compression_type: str | None = None, ignore_errors: bool = False,
                     encoding: str = "utf-8") -> Dataset:
    """Batches of CSV rows as `(OrderedDict(column -> batch), label batch)` (or just the dict
    without `label_name`), as `tf.data.experimental.make_csv_dataset`.

    Args:
        file_pattern: a file name or glob, or a list of them.
        batch_size: rows per batch (full batches only when `num_epochs` is None).
        column_names: the columns' names (default: the header row of the first file).
        column_defaults: per selected column a default value or a dtype (a required column);
            default: inferred from the first `num_rows_for_inference` rows (0 or "" defaults).
        label_name: the column returned apart, as the second element.
        select_columns: column indices or names to read (any order; read in file order).
        num_epochs: passes over the data (None: forever).
        shuffle, shuffle_buffer_size, shuffle_seed: shuffle the files and the rows.
        num_parallel_reads: files read at once, their rows interleaved (AUTOTUNE: as many as cores).
        ignore_errors: skip rows that fail to parse instead of raising.
    """
    if num_parallel_reads is None:
        num_parallel_reads = 1
    if prefetch_buffer_size is None:
        prefetch_buffer_size = AUTOTUNE
    names = _file_names(file_pattern)
    files = Dataset.from_tensor_slices(names)
    if shuffle:
        files = files.shuffle(len(names), shuffle_seed)
    opener = None
    if column_names is None or column_defaults is None:
        opener = _opener(compression_type, encoding)
    if column_names is None:
        if not header:
            raise ValueError("Expected `column_names` or `header` arguments. Neither is provided.")
        column_names = _infer_column_names(names, field_delim, use_quote_delim, opener)
    column_names = list(column_names)
    if len(column_names) != len(set(column_names)):
        ordered = sorted(column_names)
        dup = {a for a, b in zip(ordered, ordered[1:], strict=False) if a == b}
        raise ValueError(f"Either `column_names` argument or CSV header row contains duplicate column names: {dup}.")
    if select_columns is not None:
        select_columns = _sorted_col_indices(list(select_columns), column_names)
    if column_defaults is not None:
        from tapeflow.tensor import Tensor, convert_to_tensor

        column_defaults = [
            convert_to_tensor(np.zeros((0,), object) if _dt.as_dtype(d) == _dt.string
                              else np.zeros((0,), _dt.as_dtype(d)._np), dtype=_dt.as_dtype(d))
            if not isinstance(d, Tensor) and _is_csv_dtype(d) else d
            for d in column_defaults]
    else:
        column_defaults = _infer_column_defaults(names, len(column_names), field_delim, use_quote_delim, na_value,
                                                 header, num_rows_for_inference, select_columns, opener)
    if select_columns is not None and len(column_defaults) != len(select_columns):
        raise ValueError("If specified, `column_defaults` and `select_columns` must have the same length: "
                         f"`column_defaults` has length {len(column_defaults)}, `select_columns` has length "
                         f"{len(select_columns)}.")
    if select_columns is not None and len(column_names) > len(select_columns):
        column_names = [column_names[i] for i in select_columns]
    if label_name is not None and label_name not in column_names:
        raise ValueError(f"`label_name` provided must be one of the columns: {column_names}. "
                         f"Received: {label_name}.")

    def file_to_dataset(filename: Any) -> Dataset:
        ds = CsvDataset(filename, record_defaults=column_defaults, field_delim=field_delim,
                        use_quote_delim=use_quote_delim, na_value=na_value, select_cols=select_columns,
                        header=header, compression_type=compression_type)
        if ignore_errors:
            from tapeflow.data.experimental import ignore_errors as _ignore

            ds = ds.apply(_ignore())
        return ds

    def to_features(*columns: Any) -> Any:
        features = collections.OrderedDict(zip(column_names, columns, strict=True))
        if label_name is not None:
            label = features.pop(label_name)
            return features, label
        return features

    if num_parallel_reads == AUTOTUNE:
        dataset = files.interleave(file_to_dataset, num_parallel_calls=num_parallel_reads,
                                   deterministic=not sloppy)
    else:
        dataset = files.interleave(file_to_dataset, cycle_length=num_parallel_reads, block_length=1)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer_size, shuffle_seed)
    if num_epochs != 1:
        dataset = dataset.repeat(num_epochs)
    dataset = dataset.batch(batch_size, drop_remainder=num_epochs is None)
    return dataset.map(to_features).prefetch(prefetch_buffer_size)


def _is_csv_dtype(value: Any) -> bool:
    """A dtype among CSV's column types (TF's `x in _ACCEPTABLE_CSV_TYPES`)."""
    if isinstance(value, (_dt.DType, type, np.dtype)) or (isinstance(value, str) and value in
                                                           ("float32", "float64", "int32", "int64", "string")):
        try:
            return _dt.as_dtype(value) in _CSV_TYPES
        except (TypeError, ValueError):
            return False
    return False

"""`tf.io.decode_csv`: CSV records (a string tensor of any shape) to one tensor per column, with
TF's quoting rules (RFC 4180 double quotes, `""` inside a quoted field), defaults for empty
fields and `na_value`, and `select_cols`."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow import string_values as _sv
from tapeflow.errors import InvalidArgumentError
from tapeflow.strings.base import apply, string_input
from tapeflow.tensor import Tensor, convert_to_tensor

_TYPES = ("float32", "float64", "int32", "int64", "string")


def _split(record: bytes, delim: bytes, quotes: bool, index: int) -> list[bytes]:
    if not quotes:
        return record.split(delim)
    fields, i, n = [], 0, len(record)
    while True:
        if i < n and record[i:i + 1] == b'"':
            out, i = bytearray(), i + 1
            while True:
                if i >= n:
                    raise InvalidArgumentError(None, None, f"Quoted field has to end with quote followed by delim "
                                               f"or end, in record {index} [Op:DecodeCSV]")
                c = record[i:i + 1]
                if c == b'"':
                    if record[i + 1:i + 2] == b'"':
                        out += b'"'
                        i += 2
                        continue
                    i += 1
                    break
                out += c
                i += 1
            if i < n and record[i:i + 1] != delim:
                raise InvalidArgumentError(None, None, f"Quote inside a string has to be escaped by another quote, "
                                           f"in record {index} [Op:DecodeCSV]")
            fields.append(bytes(out))
        else:
            j = record.find(delim, i)
            j = n if j < 0 else j
            field = record[i:j]
            if b'"' in field:
                raise InvalidArgumentError(None, None, f"Unquoted fields cannot have quotes inside, in record "
                                           f"{index} [Op:DecodeCSV]")
            fields.append(field)
            i = j
        if i >= n:
            return fields
        i += 1  # the delimiter
        if i == n:
            fields.append(b"")
            return fields


def _convert(field: bytes, dtype: _dt.DType, col: int, index: int) -> Any:
    if dtype == _dt.string:
        return field
    text = field.decode("utf-8", "replace").strip()
    try:
        if dtype.is_integer:
            value = int(text, 10)
            info = np.iinfo(dtype._np)
            if not info.min <= value <= info.max:
                raise ValueError
            return value
        return float(text)
    except ValueError:
        raise InvalidArgumentError(None, None, f"Field {col} in record {index} is not a valid {dtype.name}: "
                                   f"{field.decode('utf-8', 'replace')} [Op:DecodeCSV]") from None


def _decode(records: np.ndarray, *defaults: np.ndarray, dtypes: tuple, delim: bytes, quotes: bool, na: bytes,
            select: tuple | None) -> tuple:
    flat = records.reshape(-1).tolist()
    columns: list[list] = [[] for _ in dtypes]
    for index, record in enumerate(flat):
        fields = _split(record, delim, quotes, index)
        if select is not None:
            if select and select[-1] >= len(fields):
                raise InvalidArgumentError(None, None, f"Expect {select[-1] + 1} fields but have {len(fields)} in "
                                           f"record {index} [Op:DecodeCSV]")
            fields = [fields[c] for c in select]
        elif len(fields) != len(dtypes):
            raise InvalidArgumentError(None, None, f"Expect {len(dtypes)} fields but have {len(fields)} in record "
                                       f"{index} [Op:DecodeCSV]")
        for col, (field, dtype, default) in enumerate(zip(fields, dtypes, defaults, strict=True)):
            if field == b"" or (na and field == na):
                if default.size == 0:
                    raise InvalidArgumentError(None, None, f"Field {col} is required but missing in record "
                                               f"{index}! [Op:DecodeCSV]")
                columns[col].append(default.reshape(-1)[0])
            else:
                columns[col].append(_convert(field, dtype, col, index))
    out = []
    for column, dtype in zip(columns, dtypes, strict=True):
        if dtype == _dt.string:
            arr = _sv.empty_strings((len(column),))
            arr[:] = column
        else:
            arr = np.array(column, dtype._np).reshape(len(column))
        out.append(arr.reshape(records.shape))
    return tuple(out)


def decode_csv(records: Any, record_defaults: Any, field_delim: str = ",", use_quote_delim: bool = True,
               name: Any = None, na_value: str = "", select_cols: Any = None) -> list[Tensor]:
    """Split each CSV record into fields and convert them: a list with one tensor per entry of
    `record_defaults`, each of the records' shape.

    Args:
        records: string tensor; each element one CSV line.
        record_defaults: one value or tensor per column: its dtype is the column's type (float32,
            float64, int32, int64, string), an empty one makes the column required.
        field_delim: the one-character delimiter. use_quote_delim: treat `"` as quoting.
        na_value: a field equal to it counts as missing. select_cols: the increasing column
            indices to keep (record_defaults then has one entry per selected column).
    """
    x = string_input(records, "DecodeCSV", "records")
    delim = field_delim.encode() if isinstance(field_delim, str) else bytes(field_delim)
    if len(delim) != 1:
        raise ValueError(f"DecodeCSV: `field_delim` must be one character, received {field_delim!r}.")
    defaults, dtypes = [], []
    for i, d in enumerate(record_defaults):
        t = d if isinstance(d, Tensor) else convert_to_tensor(d)
        if t.dtype.name not in _TYPES:
            raise TypeError(f"DecodeCSV: record_defaults[{i}] has dtype {t.dtype.name}; columns can be "
                            f"{', '.join(_TYPES)}.")
        if t.shape.rank is not None and t.shape.rank > 1 or (t.shape.rank == 1 and (t.shape[0] or 0) > 1):
            raise ValueError(f"DecodeCSV: record_defaults[{i}] must have at most one element, received shape "
                             f"{tuple(t.shape)}.")
        defaults.append(t)
        dtypes.append(t.dtype)
    select = None
    if select_cols is not None:
        select = tuple(int(c) for c in select_cols)
        if any(b <= a for a, b in zip(select, select[1:], strict=False)) or (select and select[0] < 0):
            raise ValueError("DecodeCSV: `select_cols` must be non-negative and strictly increasing.")
        if len(select) != len(defaults):
            raise ValueError(f"DecodeCSV: {len(select)} select_cols but {len(defaults)} record_defaults.")
    na = na_value.encode() if isinstance(na_value, str) else bytes(na_value)
    out = apply("DecodeCSV", _decode, x, *defaults, n_outputs=len(defaults), dtypes=tuple(dtypes), delim=delim,
                quotes=bool(use_quote_delim), na=na, select=select)
    return list(out) if isinstance(out, (tuple, list)) else [out]

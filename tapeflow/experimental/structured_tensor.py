"""`tf.experimental.StructuredTensor`: a tensor of records, each field a Tensor, RaggedTensor or
nested StructuredTensor sharing the structured tensor's leading shape.

Shapes of rank 0 (one record) and rank 1 (a vector of records) are supported; ragged outer
partitions (`partition_outer_dimension`, `merge_dims` of ragged dims) raise UnimplementedError.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.errors import UnimplementedError
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor


def _ragged_cls() -> Any:
    from tapeflow.ragged.ragged_tensor import RaggedTensor

    return RaggedTensor


def _leading(value: Any, rank: int) -> tuple:
    if isinstance(value, StructuredTensor):
        return tuple(value.shape)[:rank]
    return tuple(value.shape)[:rank]


def _value_from_pyval(values: list) -> Any:
    """A batch of per-record values: a nested StructuredTensor for dicts, else a dense tensor
    or, when the lists differ in length, a RaggedTensor."""
    if values and all(isinstance(v, dict) for v in values):
        return StructuredTensor.from_pyval(values)
    try:
        arr = np.asarray(values)
        if arr.dtype != object or all(isinstance(v, (bytes, str)) for v in np.ravel(arr)):
            return convert_to_tensor(values)
    except ValueError:
        pass
    from tapeflow.ragged import constant

    return constant(values)


class StructuredTensor:
    """Records with named fields (`tf.experimental.StructuredTensor`).

    Example:
        >>> st = tf.experimental.StructuredTensor.from_pyval([{"a": 1, "b": [1, 2]}, {"a": 2, "b": [3]}])
        >>> st.field_value("b")
        <tf.RaggedTensor [[1, 2], [3]]>
    """

    FieldName = Any

    def __init__(self, fields: dict, shape: Any, _internal: bool = False) -> None:
        if not _internal:
            raise ValueError("StructuredTensor: use from_fields, from_pyval or from_shape.")
        self._fields = dict(fields)
        self._shape = TensorShape(shape)

    # -- factories ------------------------------------------------------------------------------

    @classmethod
    def from_fields(cls, fields: dict, shape: Any = (), nrows: Any = None, row_partitions: Any = None,
                    validate: bool = False) -> StructuredTensor:
        """Records whose field `k` is `fields[k]` (its leading dims must equal `shape`)."""
        shape = TensorShape(shape)
        if len(shape) > 1 or row_partitions:
            raise UnimplementedError(None, None, "StructuredTensor: only rank 0 and rank 1 shapes (no row "
                                     "partitions) are supported here.")
        out = {}
        for k, v in fields.items():
            if not isinstance(k, str):
                raise TypeError(f"StructuredTensor: field names must be str, received {k!r}.")
            if not isinstance(v, (Tensor, StructuredTensor, _ragged_cls())):
                v = convert_to_tensor(v)
            lead = _leading(v, len(shape))
            if len(lead) < len(shape) or not TensorShape(lead).is_compatible_with(shape):
                raise ValueError(f"StructuredTensor: field {k!r} has leading shape {lead}, expected {tuple(shape)}.")
            if shape and shape[0] is None:
                shape = TensorShape(lead)
            out[k] = v
        if shape and shape[0] is None and nrows is not None:
            shape = TensorShape([int(nrows)])
        return cls(out, shape, _internal=True)

    @classmethod
    def from_fields_and_rank(cls, fields: dict, rank: int, validate: bool = False) -> StructuredTensor:
        if not fields:
            raise ValueError("StructuredTensor.from_fields_and_rank: fields must not be empty.")
        first = next(iter(fields.values()))
        return cls.from_fields(fields, _leading(first, rank), validate=validate)

    @classmethod
    def from_shape(cls, shape: Any) -> StructuredTensor:
        return cls.from_fields({}, shape)

    @classmethod
    def from_pyval(cls, pyval: Any, typespec: Any = None) -> StructuredTensor:
        """From a dict (one record) or a list of dicts with the same keys (a vector of records)."""
        if isinstance(pyval, dict):
            fields = {k: StructuredTensor.from_pyval(v) if _is_records(v) else _scalar_value(v)
                      for k, v in pyval.items()}
            return cls(fields, (), _internal=True)
        if isinstance(pyval, list):
            if not all(isinstance(r, dict) for r in pyval):
                raise ValueError("StructuredTensor.from_pyval: a list must hold dicts (records).")
            keys = list(pyval[0]) if pyval else []
            for r in pyval:
                if set(r) != set(keys):
                    raise ValueError(f"StructuredTensor.from_pyval: records have different fields: {sorted(r)} vs "
                                     f"{sorted(keys)}.")
            fields = {k: _value_from_pyval([r[k] for r in pyval]) for k in keys}
            return cls(fields, (len(pyval),), _internal=True)
        raise TypeError(f"StructuredTensor.from_pyval: expected a dict or a list of dicts, received "
                        f"{type(pyval).__name__}.")

    # -- access ---------------------------------------------------------------------------------

    @property
    def shape(self) -> TensorShape:
        return self._shape

    @property
    def rank(self) -> int:
        return len(self._shape)

    @property
    def row_partitions(self) -> tuple:
        return ()

    def nrows(self) -> Tensor:
        if not self.rank:
            raise ValueError("StructuredTensor.nrows: a rank-0 StructuredTensor has no rows.")
        return Tensor(np.asarray(self._shape[0], np.int64))

    def field_names(self) -> tuple:
        return tuple(self._fields)

    def field_value(self, field_name: Any) -> Any:
        """The field `field_name`, or for a tuple the path through nested structured tensors."""
        path = field_name if isinstance(field_name, tuple) else (field_name,)
        value: Any = self
        for name in path:
            if not isinstance(value, StructuredTensor) or name not in value._fields:
                raise KeyError(f"Field {field_name!r} not found in {self.field_names()}.")
            value = value._fields[name]
        return value

    def with_updates(self, updates: dict, validate: bool = False) -> StructuredTensor:
        """A copy with fields replaced or added (a value of None removes the field)."""
        fields = dict(self._fields)
        for k, v in updates.items():
            if v is None:
                fields.pop(k, None)
            else:
                fields[k] = v(fields[k]) if callable(v) and k in fields else v
        return StructuredTensor.from_fields(fields, self._shape)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str) or isinstance(key, tuple) and key and all(isinstance(k, str) for k in key):
            return self.field_value(key)
        if self.rank != 1:
            raise ValueError("StructuredTensor: only rank-1 structured tensors can be indexed by position.")
        return StructuredTensor({k: v[key] for k, v in self._fields.items()},
                                TensorShape(()) if isinstance(key, int) else _leading_after(self, key),
                                _internal=True)

    def to_pyval(self) -> Any:
        """Python dicts (rank 0) or a list of dicts (rank 1), as TF's `to_pyval`."""
        def py(v: Any) -> Any:
            if isinstance(v, StructuredTensor):
                return v.to_pyval()
            if isinstance(v, _ragged_cls()):
                return v.to_list()
            return v.numpy().tolist() if hasattr(v.numpy(), "tolist") else v.numpy()

        values = {k: py(v) for k, v in self._fields.items()}
        if not self.rank:
            return values
        return [{k: values[k][i] for k in values} for i in range(self._shape[0])]

    def merge_dims(self, outer_axis: int, inner_axis: int) -> StructuredTensor:
        if outer_axis == inner_axis:
            return self
        raise UnimplementedError(None, None, "StructuredTensor.merge_dims: structured tensors of rank > 1 are not "
                                 "supported here.")

    def partition_outer_dimension(self, row_partition: Any) -> StructuredTensor:
        raise UnimplementedError(None, None, "StructuredTensor.partition_outer_dimension: ragged structured tensors "
                                 "are not supported here (only rank 0 and 1).")

    def promote(self, source_path: Any, new_name: str) -> StructuredTensor:
        raise UnimplementedError(None, None, "StructuredTensor.promote needs ragged structured tensors, which are "
                                 "not supported here.")

    def __repr__(self) -> str:
        lines = []
        for k, v in self._fields.items():
            text = repr(v) if isinstance(v, (StructuredTensor, _ragged_cls())) else str(v)
            text = text.replace("\n", "\n            ")
            lines.append(f'        "{k}": {text}')
        body = ",\n".join(lines)
        return f"<StructuredTensor(\n    fields={{\n{body}}},\n    shape={self._shape})>"

    __str__ = __repr__


def _is_records(v: Any) -> bool:
    return isinstance(v, dict) or isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _scalar_value(v: Any) -> Any:
    try:
        return convert_to_tensor(v)
    except (TypeError, ValueError):
        from tapeflow.ragged import constant

        return constant(v)


def _leading_after(st: StructuredTensor, key: Any) -> TensorShape:
    first = next(iter(st._fields.values()), None)
    if first is None:
        return TensorShape([len(range(st._shape[0])[key])])
    return TensorShape(_leading(first[key], 1))

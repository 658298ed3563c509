"""The data helpers of `fit` / `evaluate` / `predict`: batch packing, array conversion, class
weights, the validation split (the adapters that make batches live in `data_adapters/`).

Array data is converted once per call (floats to floatx, like Keras) and checked for equal
lengths; `device_wrapper` makes the batch arrays Tensors on the default device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow import nest
from tapeflow import string_values as _string_values
from tapeflow.keras import backend as _kbackend
from tapeflow.tensor import Tensor


def unpack_x_y_sample_weight(data: Any) -> tuple:
    """Split a batch `(x,)`, `(x, y)` or `(x, y, sample_weight)` (or a bare `x`) into three parts.

    Args:
        data: a tuple (or list) of one to three entries, or the inputs alone.

    Returns:
        `(x, y, sample_weight)` with None for the missing parts.
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
        f"found: a tuple of {len(data)} entries {describe_batch(data)}"
    )


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The inverse of `unpack_x_y_sample_weight`: the form `train_step(data)` receives."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def is_array_like(value: Any) -> bool:
    """Whether `value` is data `fit` slices itself (arrays, tensors, lists/dicts of them)."""
    if isinstance(value, (np.ndarray, Tensor, Mapping, list, tuple)) or _backend.is_gpu_array(value):
        return True
    if _is_composite(value):
        return True
    return hasattr(value, "__array__") and not isinstance(value, (str, bytes))


def _is_composite(value: Any) -> bool:
    """A SparseTensor or RaggedTensor (batched by rows, as arrays)."""
    from tapeflow.dispatch import CompositeTensor

    return isinstance(value, CompositeTensor)


def is_batch_list(value: Any) -> bool:
    """A list whose items are `(x, y[, sample_weight])` tuples: batches, not arrays."""
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, tuple) and 1 <= len(v) <= 3 for v in value)


def _is_array_container(value: Any) -> bool:
    """An array/tensor, or a list/dict whose leaves are all arrays/tensors."""
    if isinstance(value, (np.ndarray, Tensor)) or _backend.is_gpu_array(value) or _is_composite(value):
        return True
    if isinstance(value, Mapping):
        return all(_is_array_container(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return bool(value) and all(_is_array_container(v) for v in value)
    return False


def _to_array(value: Any, what: str) -> Any:
    """One leaf as an array; floats become floatx (ints and bools are kept); a SparseTensor or
    RaggedTensor becomes a row view (`CompositeRows`)."""
    if _is_composite(value):
        from tapeflow.keras.models.data_adapters.composite_rows import CompositeRows

        return CompositeRows(value)
    if isinstance(value, Tensor):
        arr = value._value
        if arr is None:
            raise ValueError(f"`{what}` must hold real values, received a symbolic tensor {value!r}.")
    elif isinstance(value, np.ndarray) or _backend.is_gpu_array(value):
        arr = value
    else:
        arr = np.asarray(value)
        if arr.dtype == object and not _string_values.is_text(arr):
            raise ValueError(f"`{what}` could not be converted to an array: ragged or non-numeric values.")
    if _string_values.is_text(arr):
        arr = _string_values.to_bytes_array(arr)  # text inputs (e.g. for TextVectorization) as tf.string
    elif arr.dtype.kind == "f":
        floatx = np.dtype(_kbackend.floatx())
        if arr.dtype != floatx:
            arr = arr.astype(floatx)
    elif arr.dtype.kind not in "biuc":
        raise ValueError(f"`{what}` must hold numbers, received an array of dtype {arr.dtype}.")
    if arr.ndim == 0:
        raise ValueError(f"`{what}` must have a batch (first) axis, received a scalar {arr!r}.")
    return arr


def convert_structure(value: Any, what: str) -> Any:
    """Arrays (or nested lists/dicts of arrays) converted leaf by leaf; nested numbers become one array."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {k: convert_structure(v, f"{what}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)) and _is_array_container(value):
        return type(value)(convert_structure(v, f"{what}[{i}]") for i, v in enumerate(value))
    return _to_array(value, what)


def class_weight_to_sample_weights(y: Any, class_weight: dict) -> Any:
    """Per-sample weights `class_weight[label]` (labels: argmax of one-hot rows, else rounded ints)."""
    labels = np.asarray(_backend.to_numpy(y))
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else np.squeeze(labels, axis=-1)
    labels = np.round(labels).astype("int64").reshape(-1)
    if labels.size == 0:
        return np.ones((0,), dtype=_kbackend.floatx())
    table_size = max(int(labels.max()), max((int(k) for k in class_weight), default=0)) + 1
    table = np.ones(table_size, dtype=_kbackend.floatx())
    for k, w in class_weight.items():
        table[int(k)] = w
    out = np.ones(labels.shape[0], dtype=_kbackend.floatx())
    ok = labels >= 0
    out[ok] = table[labels[ok]]
    return out


def train_validation_split(arrays: tuple, validation_split: float) -> tuple:
    """Split `(x, y, sample_weight)` into the first and the LAST `validation_split` of samples."""
    flat = [a for a in nest.flatten(arrays) if a is not None]
    if not flat:
        return arrays, arrays
    n = int(flat[0].shape[0])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into a "
            f"validation and training set as specified by `validation_split={validation_split}`. "
            "Either provide more data, or a different value for the `validation_split` argument."
        )

    def part(start: int, stop: int) -> Any:
        return tuple(None if s is None else nest.map_structure(lambda a: a[start:stop], s) for s in arrays)

    return part(0, split_at), part(split_at, n)


def split_validation(x: Any, y: Any, sample_weight: Any, validation_split: float) -> tuple:
    """`fit(validation_split=...)`: `(x, y, sample_weight, validation_data)`, the validation data
    being the LAST `validation_split` of the arrays (taken before any shuffling, as Keras does)."""
    if not is_array_like(x):
        raise ValueError(
            "Argument `validation_split` is only supported for tensors or NumPy arrays. "
            f"Found incompatible type in the input: {type(x)}"
        )
    arrays = (convert_structure(x, "x"), convert_structure(y, "y"),
              convert_structure(sample_weight, "sample_weight"))
    (x, y, sample_weight), validation_data = train_validation_split(arrays, validation_split)
    return x, y, sample_weight, validation_data


def describe_batch(batch: Any) -> str:
    """A batch's structure with each leaf's shape and dtype, for error messages."""
    def leaf(v: Any) -> str:
        shape = getattr(v, "shape", None)
        dtype = getattr(v, "dtype", None)
        if shape is None:
            return type(v).__name__
        return f"{type(v).__name__}(shape={tuple(shape)}, dtype={getattr(dtype, 'name', dtype)})"

    if isinstance(batch, Mapping):
        return "{" + ", ".join(f"{k!r}: {describe_batch(v)}" for k, v in batch.items()) + "}"
    if isinstance(batch, (list, tuple)):
        inner = ", ".join(describe_batch(v) for v in batch)
        return f"({inner}{',' if len(batch) == 1 else ''})" if isinstance(batch, tuple) else f"[{inner}]"
    return leaf(batch)


def sizes(struct: Any) -> str:
    return ", ".join(str(int(a.shape[0])) for a in nest.flatten(struct) if a is not None)


def device_wrapper() -> Any:
    """Batch arrays -> Tensors on the default device (`tf.device`), copying host data to a GPU."""
    xp = _backend.default_xp()
    if xp is np:
        return Tensor
    return lambda a: Tensor(_backend.asarray(a, None, xp))

"""Every kind of input to `fit` / `evaluate` / `predict` as a `DataAdapter` (as Keras 3's
`trainers/data_adapters`): `x` is adapted in one place, `get_data_adapter`, and the trainer
reads batches through one interface whatever the input was.

| input                                           | adapter                |
|-------------------------------------------------|------------------------|
| NumPy arrays, tensors, lists / dicts of them     | `ArrayDataAdapter`     |
| `tf.data.Dataset`                                | `TFDatasetAdapter`     |
| `keras.utils.PyDataset` / `Sequence`             | `PyDatasetAdapter`     |
| a Python generator or iterable of batches        | `GeneratorDataAdapter` |
"""

from __future__ import annotations

from typing import Any

from tapeflow.keras.models import data_handler as _data
from tapeflow.keras.models.data_adapters.array_adapter import ArrayDataAdapter
from tapeflow.keras.models.data_adapters.base import DataAdapter
from tapeflow.keras.models.data_adapters.dataset_adapter import TFDatasetAdapter
from tapeflow.keras.models.data_adapters.generator_adapter import GeneratorDataAdapter, IterableAdapter
from tapeflow.keras.models.data_adapters.py_dataset_adapter import PyDatasetAdapter

__all__ = [
    "ArrayDataAdapter", "DataAdapter", "GeneratorDataAdapter", "IterableAdapter", "PyDatasetAdapter",
    "TFDatasetAdapter", "get_data_adapter", "get_validation_adapter",
]


def _is_dataset(x: Any) -> bool:
    if not type(x).__module__.startswith("tapeflow.data"):
        return False
    from tapeflow.data import Dataset

    return isinstance(x, Dataset)


def _make(x: Any, y: Any, sample_weight: Any, batch_size: int | None, shuffle: Any,
          class_weight: dict | None, steps: int | None, what: str, argument: str = "x") -> DataAdapter:
    if x is None:
        raise ValueError(f"`{what}()` expected input data `x`, received None.")
    if _is_dataset(x):
        if y is not None:
            raise ValueError(
                "When providing `x` as a tf.data.Dataset, `y` should not be passed. Instead, the "
                "targets should be included as part of the tf.data.Dataset."
            )
        if sample_weight is not None:
            raise ValueError(
                "When providing `x` as a tf.data.Dataset, `sample_weights` should not be passed. "
                "Instead, the sample weights should be included as part of the tf.data.Dataset."
            )
        return TFDatasetAdapter(x, steps, class_weight)
    from tapeflow.keras.utils.py_dataset import PyDataset

    if isinstance(x, PyDataset):
        if y is not None or sample_weight is not None:
            raise ValueError(
                f"`{what}()`: when `x` is a PyDataset, targets and sample weights come from it; do "
                "not pass `y` or `sample_weight`."
            )
        return PyDatasetAdapter(x, steps, class_weight)
    if _data.is_array_like(x) and not _data.is_batch_list(x):
        return ArrayDataAdapter(x, y, sample_weight, batch_size, shuffle, class_weight, steps, argument)
    if not hasattr(x, "__iter__"):
        raise ValueError(
            f"`{what}()`: unrecognised data type for `x`: {type(x).__name__}. Expected NumPy arrays, "
            "tensors, lists or dicts of them, a tf.data.Dataset, a keras.utils.PyDataset, or a "
            "Python iterable/generator of batches."
        )
    if y is not None:
        raise ValueError(
            f"`{what}()`: when `x` is a generator or an iterable of batches, targets come from it; "
            f"do not pass `y`. Received y of type {type(y).__name__}."
        )
    if sample_weight is not None:
        raise ValueError(
            f"`{what}()`: when `x` is a generator or an iterable of batches, sample weights come "
            "from it; do not pass `sample_weight`."
        )
    return GeneratorDataAdapter(x, steps, class_weight)


def get_data_adapter(model: Any, x: Any, y: Any = None, sample_weight: Any = None,
                     batch_size: int | None = None, shuffle: Any = False,
                     class_weight: dict | None = None, steps: int | None = None,
                     what: str = "fit") -> DataAdapter:
    """The adapter for `x` (see the module doc), checked against `model` for `what` ("fit",
    "evaluate" or "predict") before any work is done."""
    adapter = _make(x, y, sample_weight, batch_size, shuffle, class_weight, steps, what)
    adapter.check(model, what)
    return adapter


def get_validation_adapter(model: Any, validation_data: Any, batch_size: int | None,
                           steps: int | None) -> DataAdapter | None:
    """The adapter of `fit(validation_data=...)`: `(x_val, y_val[, sample_weight_val])` arrays, or
    a dataset / generator / PyDataset of batches; None without validation data."""
    if validation_data is None:
        return None
    if isinstance(validation_data, (tuple, list)) and not _data.is_batch_list(validation_data):
        vx, vy, vsw = _data.unpack_x_y_sample_weight(validation_data)
        adapter = _make(vx, vy, vsw, batch_size, False, None, steps, "fit", "validation_data")
    else:
        adapter = _make(validation_data, None, None, batch_size, False, None, steps, "fit")
    adapter.check(model, "evaluate")
    return adapter

"""`tf.data.Dataset` input: a new pass each epoch, or with `steps`, `steps` batches per epoch
taken from a pass that continues across epochs (as Keras does)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow.dtypes import is_real_float_np
from tapeflow.keras import backend as _kbackend
from tapeflow.keras.models import arg_checks as _checks
from tapeflow.keras.models.data_adapters.generator_adapter import IterableAdapter
from tapeflow.tensor import Tensor


class TFDatasetAdapter(IterableAdapter):
    """Batches from a `tf.data.Dataset`; the pipeline's own elements (NumPy arrays) are
    converted once, rather than first wrapped in Tensors by the dataset's iterator."""

    kind = "tf.data.Dataset"

    def __init__(self, dataset: Any, steps: int | None = None, class_weight: dict | None = None) -> None:
        from tapeflow.data import INFINITE_CARDINALITY

        cardinality = dataset._compute_cardinality()
        if cardinality == INFINITE_CARDINALITY and not steps:
            raise ValueError(
                "When providing an infinite dataset, you must specify the number of steps to run "
                "(`steps_per_epoch` in fit, `validation_steps` for validation data, `steps` in "
                "evaluate and predict). If you did not intend to create an infinite dataset, make "
                "sure to not call `repeat()` on the dataset."
            )
        spec = dataset.element_spec
        if isinstance(spec, tuple) and not hasattr(spec, "_fields") and not 1 <= len(spec) <= 3:
            raise ValueError(
                "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                f"found: a tf.data.Dataset whose elements are tuples of {len(spec)} entries, "
                f"element_spec={spec}")
        super().__init__(_Elements(dataset), steps, class_weight)
        self.dataset = dataset
        if cardinality == 0:
            raise ValueError(self.empty_message())
        self.num_batches = cardinality if cardinality >= 0 else steps
        self._floatx = np.dtype(_kbackend.floatx())

    def empty_message(self) -> str:
        return ("When passing a tf.data.Dataset to a Keras model, the dataset must yield at least "
                "one batch. Received an empty dataset (element_spec="
                f"{self.dataset.element_spec}).")

    def convert_batch(self, batch: Any) -> Any:
        # Fast path for the common `(x, y)` batch of host arrays: floats to floatx, then Tensors.
        if (type(batch) is tuple and len(batch) == 2 and self.class_weight is None
                and type(batch[0]) is np.ndarray and type(batch[1]) is np.ndarray
                and batch[0].ndim and batch[1].ndim and _backend.default_xp() is np):
            x, y = batch
            floatx = self._floatx
            if is_real_float_np(x.dtype) and x.dtype != floatx:
                x = x.astype(floatx)
            if is_real_float_np(y.dtype):
                if y.dtype != floatx:
                    y = y.astype(floatx)
                if self._label_model is not None:
                    _checks.check_sparse_labels(self._label_model, y)
            return (Tensor(x), Tensor(y))
        return super().convert_batch(batch)


class _Elements:
    """An iterable whose every `iter()` is one pass over a dataset's elements, as arrays."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __iter__(self) -> Iterator:
        return self.dataset._iter_elements()

"""Input read batch by batch: Python generators and iterables of `(x, y[, sample_weight])`.

`IterableAdapter` holds what every batch-by-batch input shares (the epoch and `steps` logic,
converting each batch, the checks that need the model); `GeneratorDataAdapter` adds the
structure checks of Keras's generator adapter. `TFDatasetAdapter` and `PyDatasetAdapter` are
the other two kinds.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

from tapeflow import nest
from tapeflow.keras.models import arg_checks as _checks
from tapeflow.keras.models import data_handler as _data
from tapeflow.keras.models.data_adapters.base import DataAdapter

_RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset or "
            "generator can generate at least `steps_per_epoch * epochs` batches.")


class IterableAdapter(DataAdapter):
    """Batches from an iterable: one that can be iterated again (a list, a Dataset, a PyDataset)
    restarts every epoch; a one-shot iterator is consumed across epochs.

    With `steps`, an epoch is `steps` batches; an input that runs out first ends the epoch with
    Keras's warning (a one-shot iterator also stops training; a re-iterable input starts the next
    epoch afresh, as Keras 3.15). An input that yields no batch at all is an error.
    """

    kind = "iterable"

    def __init__(self, data: Any, steps: int | None = None, class_weight: dict | None = None) -> None:
        self.data = data
        self.steps = steps
        self.class_weight = class_weight
        self.num_batches = steps if steps else (len(data) if hasattr(data, "__len__") and
                                                  hasattr(data, "__getitem__") else None)
        self._iterator: Iterator | None = None
        self._reusable = not isinstance(data, Iterator)
        self.exhausted = False
        self._label_model: Any = None  # the model whose sparse labels each batch is checked for
        self._seen_batch = False

    def check(self, model: Any, method: str) -> None:
        if method != "predict" and _checks.is_sparse_ce(getattr(model, "loss", None)):
            self._label_model = model

    def empty_message(self) -> str:
        return (f"When passing a {self.kind} to a Keras model, it must yield at least one batch. "
                f"Received an empty {self.kind}.")

    def convert_batch(self, batch: Any) -> Any:
        """One batch as Tensors (floats in floatx), class weights applied, labels checked."""
        x, y, sw = _data.unpack_x_y_sample_weight(batch)
        x = _data.convert_structure(x, "x")
        y = _data.convert_structure(y, "y")
        sw = _data.convert_structure(sw, "sample_weight")
        if self.class_weight is not None and y is not None:
            if sw is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            sw = _data.class_weight_to_sample_weights(y, self.class_weight)
        if self._label_model is not None and y is not None and not nest.is_nested(y):
            _checks.check_sparse_labels(self._label_model, y)
        struct = _data.pack_x_y_sample_weight(x, y, sw)
        wrap = _data.device_wrapper()
        return nest.pack_sequence_as(struct, [None if a is None else wrap(a) for a in nest.flatten(struct)])

    def epoch(self) -> Iterator:
        """The batches of one epoch (`steps` of them when given, else until the data ends)."""
        self.exhausted = False
        if self._iterator is None or (self._reusable and not self.steps):
            self._iterator = iter(self.data)
        it = self._iterator
        count = 0
        while not self.steps or count < self.steps:
            try:
                batch = next(it)
            except StopIteration:
                self._iterator = None
                if not self._seen_batch:
                    raise ValueError(self.empty_message()) from None
                if self.steps:
                    # Keras 3.15 warns, ends the epoch and, for an input it can iterate again (a
                    # Dataset, a PyDataset), starts the next epoch on a fresh pass; only a one-shot
                    # iterator stops training
                    self.exhausted = not self._reusable
                    warnings.warn(_RAN_OUT, stacklevel=3)
                if self.num_batches is None:
                    self.num_batches = count
                return
            count += 1
            self._seen_batch = True
            yield self.convert_batch(batch)
        if self._reusable and self.steps and self.num_batches and count >= self.num_batches:
            self._iterator = None


class GeneratorDataAdapter(IterableAdapter):
    """A Python generator or iterable of batches. For `fit` / `evaluate` every batch must be a
    tuple (or list) `(x,)`, `(x, y)` or `(x, y, sample_weight)`, and all batches must keep the
    first batch's structure (the same nesting and array ranks)."""

    kind = "Python generator"

    def __init__(self, data: Any, steps: int | None = None, class_weight: dict | None = None) -> None:
        super().__init__(data, steps, class_weight)
        self._need_tuple = True
        self._first_signature: Any = None
        self._first_description = ""
        self._index = 0

    def check(self, model: Any, method: str) -> None:
        super().check(model, method)
        self._need_tuple = method != "predict"

    def empty_message(self) -> str:
        return ("When passing a Python generator to a Keras model, the generator must yield at "
                "least one batch. Received an empty generator.")

    def convert_batch(self, batch: Any) -> Any:
        if self._need_tuple and not isinstance(batch, (tuple, list)):
            raise ValueError(
                "When passing a Python generator to a Keras model, the generator must return a "
                "tuple, either (input,) or (inputs, targets) or (inputs, targets, sample_weights). "
                f"Received: {_data.describe_batch(batch)}")
        out = super().convert_batch(batch)
        signature = _signature(out)
        index, self._index = self._index, self._index + 1
        if self._first_signature is None:
            self._first_signature, self._first_description = signature, _data.describe_batch(out)
        elif signature != self._first_signature:
            raise ValueError(
                f"The generator's batch {index} does not have the structure of its first batch. "
                f"Expected (as batch 0): {self._first_description}. Received: "
                f"{_data.describe_batch(out)}. Every batch must have the same nesting and the "
                "same rank for each array.")
        return out


def _signature(value: Any) -> Any:
    """The nesting of a batch with each array's rank: what must stay the same across batches."""
    if isinstance(value, dict):
        return ("dict", tuple((k, _signature(v)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_signature(v) for v in value))
    return None if value is None else len(value.shape)

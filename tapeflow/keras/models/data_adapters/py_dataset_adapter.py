"""`keras.utils.PyDataset` (or `Sequence`) input: `dataset[i]` for each index of an epoch, read
ahead by `workers` threads into a queue of `max_queue_size` batches, with `on_epoch_begin` /
`on_epoch_end` around each pass."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tapeflow.keras.models.data_adapters.generator_adapter import IterableAdapter


class PyDatasetAdapter(IterableAdapter):
    """Batches from a `keras.utils.PyDataset`; an infinite one (no length) needs `steps`."""

    kind = "PyDataset"

    def __init__(self, dataset: Any, steps: int | None = None, class_weight: dict | None = None) -> None:
        from tapeflow.keras.utils.py_dataset import epoch_batches

        n = dataset.num_batches
        if n is None and not steps:
            raise ValueError(
                "The PyDataset has no length (`num_batches` is None): it is infinite, so give the "
                "number of batches to run (`steps_per_epoch`, `validation_steps` or `steps`)."
            )
        super().__init__(_Passes(dataset, epoch_batches), steps, class_weight)
        self.num_batches = n if n is not None else steps

    def empty_message(self) -> str:
        return ("When passing a PyDataset to a Keras model, it must yield at least one batch. "
                "Received a PyDataset of length 0.")


class _Passes:
    """An iterable whose every `iter()` is one epoch of a PyDataset."""

    def __init__(self, dataset: Any, epoch_batches: Any) -> None:
        self.dataset = dataset
        self._epoch_batches = epoch_batches

    def __iter__(self) -> Iterator:
        return self._epoch_batches(self.dataset)

"""`DataAdapter`: the one interface `fit` / `evaluate` / `predict` read batches through."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import Any


class DataAdapter(abc.ABC):
    """Batches of one kind of input (arrays, a tf.data.Dataset, a generator, a PyDataset).

    The trainer only uses this interface: `check` once before any work, `first_batch` to build
    the model when the data can be peeked at, `prepare` once the model is built, then `epoch()`
    for every pass. Batches come in `pack_x_y_sample_weight` form with Tensor leaves.

    Attributes:
        num_batches: batches per epoch when known, else None.
        exhausted: True once the input ran out before `steps` batches (training stops).
    """

    num_batches: int | None = None
    exhausted: bool = False

    @abc.abstractmethod
    def epoch(self) -> Iterator:
        """The batches of one epoch."""

    def check(self, model: Any, method: str) -> None:
        """Checks of the data against `model` before `method` ("fit", "evaluate", "predict")
        does any work; raise a ValueError naming what is wrong."""
        return None

    def first_batch(self) -> Any:
        """A batch available before the first epoch (to build the model), or None."""
        return None

    def prepare(self, model: Any, first: Any) -> None:
        """Once `model` is built on `first`: adapt the data to it (dtype casts), once per call."""
        return None

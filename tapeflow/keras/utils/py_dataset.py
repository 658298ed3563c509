"""`keras.utils.PyDataset` (and its old name `Sequence`): batches by index, read ahead in parallel.

Subclass it, define `__len__` and `__getitem__(index) -> (x, y[, sample_weight])`, and pass it
to `fit` / `evaluate` / `predict`. With `workers > 1`, batches are computed ahead by that many
threads (or processes with `use_multiprocessing=True`) into a queue of `max_queue_size`.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any


class PyDataset:
    """Base class for datasets of batches addressed by index, like `keras.utils.PyDataset`.

    Args:
        workers: how many threads (or processes) compute batches ahead of training (1: none).
        use_multiprocessing: use forked worker processes instead of threads (for Python code
            that holds the GIL, such as image decoding).
        max_queue_size: at most this many batches are computed ahead.

    Example:
        >>> class Batches(keras.utils.PyDataset):
        ...     def __init__(self, x, y, batch_size, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.x, self.y, self.batch_size = x, y, batch_size
        ...     def __len__(self):
        ...         return math.ceil(len(self.x) / self.batch_size)
        ...     def __getitem__(self, i):
        ...         s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        ...         return self.x[s], self.y[s]
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10) -> None:
        self._workers = _positive(workers, "workers")
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = _positive(max_queue_size, "max_queue_size")

    # Subclasses that forget `super().__init__()` still get Keras's defaults.
    @property
    def workers(self) -> int:
        return self.__dict__.get("_workers", 1)

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = _positive(value, "workers")

    @property
    def use_multiprocessing(self) -> bool:
        return self.__dict__.get("_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = bool(value)

    @property
    def max_queue_size(self) -> int:
        return self.__dict__.get("_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = _positive(value, "max_queue_size")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define `__getitem__(index)`, returning "
                                  "the batch `(x, y[, sample_weight])` at `index`.")

    @property
    def num_batches(self) -> int | None:
        """The number of batches per epoch (`len(self)`), or None for an infinite dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        return None

    def __iter__(self) -> Iterator:
        """The batches of one epoch, in order (without workers or epoch hooks)."""
        n = self.num_batches
        i = 0
        while n is None or i < n:
            yield self[i]
            i += 1

    def on_epoch_begin(self) -> None:
        """Called at the start of every epoch (override, e.g. to reshuffle)."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch (override, e.g. to reshuffle)."""


Sequence = PyDataset


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"PyDataset: `{name}` must be a positive integer, received {value!r}.")
    return value


_worker_dataset: list = []


def _init_worker(dataset: Any) -> None:
    _worker_dataset[:] = [dataset]


def _get_in_worker(index: int) -> Any:
    return _worker_dataset[0][index]


def _executor(dataset: PyDataset) -> tuple[Executor, Any]:
    """The pool for one epoch and the function it runs on an index."""
    if not dataset.use_multiprocessing:
        return ThreadPoolExecutor(dataset.workers, thread_name_prefix="tapeflow-pydataset"), dataset.__getitem__
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ValueError("PyDataset: `use_multiprocessing=True` needs the 'fork' start method, which "
                         "this platform lacks; use threads (`use_multiprocessing=False`).")
    # NOTE: a new forked pool per epoch, so state changed by `on_epoch_end` reaches the workers.
    pool = ProcessPoolExecutor(dataset.workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_init_worker, initargs=(dataset,))
    return pool, _get_in_worker


def epoch_batches(dataset: PyDataset) -> Iterator:
    """One epoch of `dataset`: `on_epoch_begin`, the batches in order, then `on_epoch_end`."""
    dataset.on_epoch_begin()
    n = dataset.num_batches
    if dataset.workers <= 1:
        i = 0
        while n is None or i < n:
            yield dataset[i]
            i += 1
        dataset.on_epoch_end()
        return
    pool, get = _executor(dataset)
    pending: deque = deque()
    next_index = 0
    try:
        while True:
            while len(pending) < dataset.max_queue_size and (n is None or next_index < n):
                pending.append(pool.submit(get, next_index))
                next_index += 1
            if not pending:
                break
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
    dataset.on_epoch_end()

"""Work ahead of the consumer on background threads: prefetch, parallel map, batch and interleave.

NumPy releases the GIL inside its kernels, so a thread that slices, gathers or computes while
the model trains overlaps with it. Every buffer is bounded; when the consumer drops its
iterator the generator's `finally` stops the threads (they wake at least every 0.1 s); an
exception in a worker is re-raised in the consumer, with its original traceback.
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from tapeflow.data.dataset import AUTOTUNE, Dataset, check_count
from tapeflow.data.transforms import IGNORING_ERRORS, MapDataset, dropped

_END, _ITEM, _ERROR = 0, 1, 2
_POLL_S = 0.1
# NOTE: handing an element from a worker thread to the consumer costs about 4-9 us of CPU in
# isolation (measured on the 2-core dev machine) and more while the consumer runs Python under
# the GIL (a fit step: about 0.1 ms per batch). AUTOTUNE prefetch keeps producers cheaper than
# this in the consumer's thread; `_PROBE` elements are timed to decide.
_INLINE_S = 50e-6
_PROBE = 8


def thread_count(dataset: Dataset, requested: int) -> int:
    """`requested` threads; for AUTOTUNE the options' thread pool size, else one per CPU (one
    when the options turn autotuning off)."""
    if requested != AUTOTUNE:
        return requested
    options = dataset.options()
    if not options.autotune.enabled:
        return 1
    size = options.threading.private_threadpool_size
    return size if size else max(os.cpu_count() or 1, 1)


def run_ahead(make_iterator: Callable[[], Iterator], buffer_size: int) -> Iterator:
    """Iterate `make_iterator()` on a background thread, at most `buffer_size` items ahead.

    The iterator is made and consumed on the worker thread, in the consumer's context (so
    `ignore_errors` reaches the nodes above). Closing this generator stops the worker.
    """
    q: queue.Queue = queue.Queue(maxsize=max(buffer_size, 1))
    stop = threading.Event()
    context = contextvars.copy_context()

    def put(item: tuple) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        it = None
        try:
            it = make_iterator()
            for element in it:
                if not put((_ITEM, element)):
                    return
            put((_END, None))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            put((_ERROR, e))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=context.run, args=(work,), daemon=True,
                              name="tapeflow-data-prefetch")
    worker.start()
    try:
        while True:
            try:
                kind, value = q.get(timeout=_POLL_S)
            except queue.Empty:
                if not worker.is_alive() and q.empty():
                    raise RuntimeError("tf.data: a background worker ended without a result.") from None
                continue
            if kind == _ITEM:
                yield value
            elif kind == _END:
                return
            else:
                raise value
    finally:
        stop.set()
        worker.join(timeout=1.0)


class PrefetchDataset(Dataset):
    """`prefetch(buffer_size)`: a background thread keeps up to `buffer_size` elements ready.

    With `AUTOTUNE`, the first elements are produced in the consumer's thread and timed: a
    producer cheaper than `_INLINE_S` per element stays there (a thread handoff would cost more
    than it hides); a dearer one continues on a background thread with a buffer of 2.
    """

    def __init__(self, input_ds: Dataset, buffer_size: int, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        size = check_count(buffer_size, "Dataset.prefetch: `buffer_size`", -1)
        self._autotune = size == AUTOTUNE
        self._buffer_size = 2 if self._autotune else size

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _compute_cardinality(self) -> int:
        return self._inputs[0]._compute_cardinality()

    def _iter_elements(self) -> Iterator:
        yield from self._prefetched(self._inputs[0]._iter_elements)

    def _iter_elements_from(self, position: int) -> Iterator | None:
        upstream = self._inputs[0]._iter_elements_from(position)
        return None if upstream is None else self._prefetched(lambda: upstream)

    def _prefetched(self, make_upstream: Callable[[], Iterator]) -> Iterator:
        if self._buffer_size == 0:
            yield from make_upstream()
            return
        if not self._autotune:
            yield from run_ahead(make_upstream, self._buffer_size)
            return
        it = make_upstream()
        spent = 0.0
        try:
            for k in range(_PROBE + 1):
                start = time.perf_counter()
                try:
                    element = next(it)
                except StopIteration:
                    return
                if k:  # the first element also pays the pipeline's setup (a shuffle order, ...)
                    spent += time.perf_counter() - start
                yield element
        except BaseException:
            it.close()
            raise
        if spent / _PROBE < _INLINE_S:
            yield from it
        else:
            yield from run_ahead(lambda: it, self._buffer_size)


class ParallelBatchDataset(PrefetchDataset):
    """`batch(..., num_parallel_calls=n)`: batches assembled on a background thread, n ahead."""

    def __init__(self, batch_ds: Dataset, num_parallel_calls: int) -> None:
        Dataset.__init__(self, (batch_ds,), batch_ds._name)
        self._buffer_size = num_parallel_calls
        self._autotune = False


def parallel_batch(batch_ds: Dataset, num_parallel_calls: int, deterministic: bool | None) -> Dataset:
    """The batch dataset with its batches assembled ahead on a worker thread (in order, so
    `deterministic` is always honoured)."""
    n = check_count(num_parallel_calls, "Dataset.batch: `num_parallel_calls`", -1)
    if n == 0:
        raise ValueError("Dataset.batch: `num_parallel_calls` must be positive or AUTOTUNE, received 0.")
    return ParallelBatchDataset(batch_ds, thread_count(batch_ds, n))


class ParallelMapDataset(MapDataset):
    """`map(..., num_parallel_calls=n)`: n threads call the function; results in order unless
    `deterministic=False` (or the `deterministic` option is False)."""

    def __init__(self, input_ds: Dataset, map_func: Any, num_parallel_calls: int,
                 deterministic: bool | None, name: str | None = None) -> None:
        super().__init__(input_ds, map_func, name)
        n = check_count(num_parallel_calls, "Dataset.map: `num_parallel_calls`", -1)
        if n == 0:
            raise ValueError("Dataset.map: `num_parallel_calls` must be positive or AUTOTUNE, "
                             "received 0.")
        self._requested = n
        self._deterministic = deterministic

    def _checkpoint_blocker(self) -> str | None:
        deterministic = self._deterministic
        if deterministic is None:
            deterministic = self.options().deterministic is not False
        if deterministic or self._index_plan() is not None:
            return None
        return ("Dataset.map(..., deterministic=False) hands out elements in completion order, "
                "which a restored iterator cannot replay; use deterministic=True to checkpoint.")

    def _iter_elements(self) -> Iterator:
        plan = self._index_plan()
        if plan is not None:  # elementwise over rows: blocks at once beat threads per element
            yield from plan.elements()
            return
        yield from self._mapped(self._inputs[0]._iter_elements())

    def _mapped(self, upstream: Iterator) -> Iterator:
        threads = thread_count(self, self._requested)
        deterministic = self._deterministic
        if deterministic is None:
            deterministic = self.options().deterministic is not False
        policy = IGNORING_ERRORS.get()
        fn = self._fn
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tapeflow-data-map")
        pending: deque = deque()
        window = 2 * threads
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < window:
                    try:
                        element = next(upstream)
                    except StopIteration:
                        exhausted = True
                        break
                    pending.append(pool.submit(fn, element))
                if not pending:
                    return
                if deterministic:
                    future = pending.popleft()
                else:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    future = next(f for f in pending if f in done)
                    pending.remove(future)
                try:
                    result = future.result()
                except Exception as e:  # noqa: BLE001 - dropped under ignore_errors
                    if dropped(e, policy):
                        continue
                    raise
                yield result
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            upstream.close()


def parallel_interleave(interleave_ds: Any, num_parallel_calls: int, deterministic: bool | None) -> Any:
    """The interleave dataset with up to `num_parallel_calls` of its open inputs each read ahead
    by a background thread."""
    n = check_count(num_parallel_calls, "Dataset.interleave: `num_parallel_calls`", -1)
    if n == 0:
        raise ValueError("Dataset.interleave: `num_parallel_calls` must be positive or AUTOTUNE, "
                         "received 0.")
    # NOTE: the first `n` open inputs of the cycle each get a reading thread; elements still come
    # in the round-robin order, which `deterministic=False` permits as well.
    interleave_ds._read_ahead = thread_count(interleave_ds, n)
    return interleave_ds

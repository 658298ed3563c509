"""`tf.queue`: thread-safe queues of tensor tuples (FIFO, padding FIFO, random shuffle, priority).

Dequeue waits for elements (another thread may enqueue); on a closed queue without enough
elements it raises OutOfRangeError, enqueueing into a closed queue raises CancelledError, as TF.
"""

from __future__ import annotations

import heapq
import threading
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.errors import CancelledError, OutOfRangeError
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor

__all__ = ["FIFOQueue", "PaddingFIFOQueue", "PriorityQueue", "QueueBase", "RandomShuffleQueue"]


class QueueBase:
    """A bounded queue of elements, each a tuple (or dict with `names`) of tensors of `dtypes`."""

    def __init__(self, dtypes: Any, shapes: Any, names: Any, capacity: int, name: str) -> None:
        self._dtypes = [_dt.as_dtype(d) for d in (dtypes if isinstance(dtypes, (list, tuple)) else [dtypes])]
        if shapes is not None:
            shapes = shapes if isinstance(shapes, (list, tuple)) and shapes and isinstance(
                shapes[0], (list, tuple, TensorShape)) or shapes == [] else [shapes]
            if len(shapes) != len(self._dtypes):
                raise ValueError(f"Queue shapes must have the same length as dtypes ({len(self._dtypes)}), received "
                                 f"{len(shapes)}.")
            self._shapes = [TensorShape(s) for s in shapes]
        else:
            self._shapes = [TensorShape(None) for _ in self._dtypes]
        if names is not None:
            names = list(names) if isinstance(names, (list, tuple)) else [names]
            if len(names) != len(self._dtypes):
                raise ValueError(f"Queue names must have the same length as dtypes ({len(self._dtypes)}), received "
                                 f"{len(names)}.")
        self._names = names
        self._capacity = int(capacity) if capacity is not None and int(capacity) > 0 else None
        self._name = name
        self._items: list = []
        self._closed = False
        self._cond = threading.Condition()

    @property
    def dtypes(self) -> list:
        return list(self._dtypes)

    @property
    def shapes(self) -> list:
        return list(self._shapes)

    @property
    def names(self) -> Any:
        return self._names

    @property
    def name(self) -> str:
        return self._name

    @property
    def queue_ref(self) -> QueueBase:
        return self

    @staticmethod
    def from_list(index: Any, queues: list) -> QueueBase:
        """The queue `queues[index]` (all must hold the same dtypes)."""
        if len({tuple(d.name for d in q.dtypes) for q in queues}) > 1:
            raise TypeError("Queues in from_list must all have the same dtypes.")
        i = int(backend.to_numpy(index._value)) if isinstance(index, Tensor) else int(index)
        return queues[i]

    # -- elements -----------------------------------------------------------------------------
    def _components(self, vals: Any, many: bool) -> list[np.ndarray]:
        if self._names is not None:
            if not isinstance(vals, dict) or set(vals) != set(self._names):
                raise ValueError(f"{self._name}: expected a dict with keys {self._names}, received {vals!r}.")
            vals = [vals[n] for n in self._names]
        elif not isinstance(vals, (list, tuple)):
            vals = [vals]
        if len(vals) != len(self._dtypes):
            raise ValueError(f"{self._name}: expected {len(self._dtypes)} components, received {len(vals)}.")
        out = []
        for v, d, s in zip(vals, self._dtypes, self._shapes, strict=True):
            t = v if isinstance(v, Tensor) else convert_to_tensor(v, dtype=d)
            if t.dtype != d:
                raise TypeError(f"{self._name}: expected {d.name} components, received {t.dtype.name}.")
            shape = TensorShape(tuple(t.shape)[1:] if many else tuple(t.shape))
            if not s.is_compatible_with(shape):
                raise ValueError(f"{self._name}: component shape {shape} is not compatible with {s}.")
            out.append(np.asarray(backend.to_numpy(t._value)))
        return out

    def _pack(self, comps: list) -> Any:
        tensors = [Tensor(c) for c in comps]
        if self._names is not None:
            return dict(zip(self._names, tensors, strict=True))
        return tensors[0] if len(tensors) == 1 else tensors

    def _put(self, element: tuple) -> None:
        self._items.append(element)

    def _take(self) -> tuple:
        return self._items.pop(0)

    def enqueue(self, vals: Any, name: Any = None) -> None:
        """Add one element (waits while the queue is full)."""
        self._enqueue([tuple(self._components(vals, False))])

    def enqueue_many(self, vals: Any, name: Any = None) -> None:
        """Add the slices along the first axis of each component as elements."""
        comps = self._components(vals, True)
        n = {c.shape[0] for c in comps}
        if len(n) != 1:
            raise ValueError(f"{self._name}: enqueue_many components must have the same first dimension, received "
                             f"{sorted(n)}.")
        self._enqueue([tuple(c[i] for c in comps) for i in range(n.pop())])

    def _enqueue(self, elements: list) -> None:
        with self._cond:
            for e in elements:
                while not self._closed and self._capacity is not None and len(self._items) >= self._capacity:
                    self._cond.wait()
                if self._closed:
                    raise CancelledError(None, None, f"{self._name} is closed.")
                self._put(e)
                self._cond.notify_all()

    def _dequeue(self, n: int, up_to: bool) -> list:
        with self._cond:
            while len(self._items) < max(n, 1) and not self._closed:
                self._cond.wait()
            if len(self._items) < max(n, 1) and (not up_to or not self._items):
                raise OutOfRangeError(None, None, f"{self._name} is closed and has insufficient elements "
                                      f"(requested {max(n, 1)}, current size {len(self._items)})")
            got = [self._take() for _ in range(min(max(n, 1), len(self._items)))]
            self._cond.notify_all()
            return got

    def dequeue(self, name: Any = None) -> Any:
        """Remove and return one element."""
        return self._pack(list(self._dequeue(1, False)[0]))

    def dequeue_many(self, n: int, name: Any = None) -> Any:
        """Remove `n` elements, stacked along a new first axis."""
        got = self._dequeue(int(n), False)
        return self._pack(self._stack(got))

    def dequeue_up_to(self, n: int, name: Any = None) -> Any:
        """Like dequeue_many, but a closed queue gives what is left (at least one element)."""
        got = self._dequeue(int(n), True)
        return self._pack(self._stack(got))

    def _stack(self, elements: list) -> list:
        return [np.stack([e[i] for e in elements]) for i in range(len(self._dtypes))]

    def close(self, cancel_pending_enqueues: bool = False, name: Any = None) -> None:
        """No more enqueues; pending dequeues finish with what is left."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def is_closed(self, name: Any = None) -> Tensor:
        return convert_to_tensor(self._closed)

    def size(self, name: Any = None) -> Tensor:
        return convert_to_tensor(np.int32(len(self._items)))


class FIFOQueue(QueueBase):
    """First in, first out."""

    def __init__(self, capacity: int, dtypes: Any, shapes: Any = None, names: Any = None, shared_name: Any = None,
                 name: str = "fifo_queue") -> None:
        super().__init__(dtypes, shapes, names, capacity, name)


class PaddingFIFOQueue(QueueBase):
    """FIFO whose dequeue_many pads components of unknown (None) dimensions to the longest."""

    def __init__(self, capacity: int, dtypes: Any, shapes: Any, names: Any = None, shared_name: Any = None,
                 name: str = "padding_fifo_queue") -> None:
        super().__init__(dtypes, shapes, names, capacity, name)
        if any(s.rank is None for s in self._shapes):
            raise ValueError("PaddingFIFOQueue: every component needs a shape of known rank.")

    def _stack(self, elements: list) -> list:
        out = []
        for i, d in enumerate(self._dtypes):
            parts = [e[i] for e in elements]
            shape = np.max([p.shape for p in parts], axis=0) if parts[0].ndim else ()
            fill = b"" if d == _dt.string else 0
            padded = np.full((len(parts),) + tuple(shape), fill, dtype=parts[0].dtype)
            for j, p in enumerate(parts):
                padded[(j,) + tuple(slice(0, k) for k in p.shape)] = p
            out.append(padded)
        return out


class RandomShuffleQueue(QueueBase):
    """Dequeues a random element, keeping at least `min_after_dequeue` until closed."""

    def __init__(self, capacity: int, min_after_dequeue: int, dtypes: Any, shapes: Any = None, names: Any = None,
                 seed: Any = None, shared_name: Any = None, name: str = "random_shuffle_queue") -> None:
        from tapeflow.ops.random import _host_rng

        super().__init__(dtypes, shapes, names, capacity, name)
        self._min_after = int(min_after_dequeue)
        self._rng = _host_rng(seed)

    def _dequeue(self, n: int, up_to: bool) -> list:
        with self._cond:
            while not self._closed and len(self._items) < max(n, 1) + self._min_after:
                self._cond.wait()
        return super()._dequeue(n, up_to)

    def _take(self) -> tuple:
        return self._items.pop(int(self._rng.integers(len(self._items))))


class PriorityQueue(QueueBase):
    """Dequeues the element with the smallest int64 priority (its first component)."""

    def __init__(self, capacity: int, types: Any, shapes: Any = None, names: Any = None, shared_name: Any = None,
                 name: str = "priority_queue") -> None:
        types = list(types) if isinstance(types, (list, tuple)) else [types]
        shapes = None if shapes is None else [()] + list(shapes)
        super().__init__([_dt.int64] + types, shapes, names, capacity, name)
        self._counter = 0

    def _put(self, element: tuple) -> None:
        self._counter += 1
        heapq.heappush(self._items, (int(element[0]), self._counter, element))

    def _take(self) -> tuple:
        return heapq.heappop(self._items)[2]

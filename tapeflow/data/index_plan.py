"""Index plans: pipelines over rows of arrays, shuffled and batched by index instead of by element.

`from_tensor_slices(arrays)` and `range` hand out rows of arrays. While only `shuffle`,
`repeat`, `take`, `skip` and `shard` follow, the pipeline is a stream of row indices; `batch`
then gathers each batch with one index (or one slice, a view) per component instead of
stacking `batch_size` separate rows. Each pass of the stream is a sequence of chunks, each a
`slice` (consecutive rows) or an int64 index array.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tapeflow import nest

# Rows taken at once when a plan is iterated element by element.
_BLOCK = 256


class IndexPlan:
    """Rows picked by index.

    Args:
        take: `take(index)` gives one element for an int, a batch for a slice or index array.
        chunks: `chunks()` yields one pass of the stream as `slice`s / int64 index arrays.
    """

    def __init__(self, take: Callable[[Any], Any], chunks: Callable[[], Iterator]) -> None:
        self.take = take
        self.chunks = chunks

    def with_chunks(self, chunks: Callable[[], Iterator]) -> IndexPlan:
        return IndexPlan(self.take, chunks)

    def elements(self) -> Iterator:
        """One pass, element by element: blocks of rows taken at once, then split into rows."""
        take = self.take
        for chunk in self.chunks():
            lo, hi = _bounds(chunk)
            for start in range(lo, hi, _BLOCK):
                stop = min(start + _BLOCK, hi)
                block = take(_sub(chunk, start if isinstance(chunk, slice) else start - lo,
                                  stop if isinstance(chunk, slice) else stop - lo))
                if type(block) is np.ndarray:
                    yield from (block[i, ...] for i in range(stop - start))
                    continue
                leaves = nest.flatten(block)
                for i in range(stop - start):
                    yield nest.pack_sequence_as(block, [a[i, ...] for a in leaves])

    def batches(self, batch_size: int, drop_remainder: bool) -> Iterator:
        """One pass in batches: a slice when the batch lies in one run of rows, else a gather."""
        take = self.take
        pieces: list = []
        have = 0
        for chunk in self.chunks():
            pos, end = _bounds(chunk)
            while pos < end:
                if not pieces and isinstance(chunk, slice) and end - pos >= batch_size:
                    yield take(slice(pos, pos + batch_size))
                    pos += batch_size
                    continue
                n = min(batch_size - have, end - pos)
                pieces.append(_part(chunk, pos, pos + n))
                have += n
                pos += n
                if have == batch_size:
                    yield take(np.concatenate(pieces) if len(pieces) > 1 else pieces[0])
                    pieces, have = [], 0
        if pieces and not drop_remainder:
            yield take(np.concatenate(pieces) if len(pieces) > 1 else pieces[0])


def one_pass(plan: IndexPlan) -> np.ndarray:
    """All indices of one pass as one int64 array."""
    parts = [_part(c, *_bounds(c)) for c in plan.chunks()]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def slice_stream(chunks: Iterator, start: int, stop: int | None) -> Iterator:
    """The chunks restricted to stream positions [start, stop) (stop None: to the end)."""
    seen = 0
    for chunk in chunks:
        lo, hi = _bounds(chunk)
        n = hi - lo
        a = max(start - seen, 0)
        b = n if stop is None else min(stop - seen, n)
        if a < b:
            yield _sub(chunk, lo + a, lo + b)
        seen += n
        if stop is not None and seen >= stop:
            return


def buffer_shuffle(indices: np.ndarray, buffer_size: int, rng: np.random.Generator) -> np.ndarray:
    """The order in which a shuffle buffer of `buffer_size` emits `indices`.

    # NOTE: the buffer starts with the first `buffer_size` indices; each output is a uniformly
    # drawn buffer slot, refilled with the next index; at the end the buffer drains in random
    # order. With a buffer at least as large as the data this is a uniform permutation.
    """
    n = len(indices)
    if buffer_size >= n:
        return indices[rng.permutation(n)]
    buf = indices[:buffer_size].tolist()
    out = np.empty(n, np.int64)
    slots = rng.integers(0, buffer_size, size=n - buffer_size).tolist()
    for k, new in enumerate(indices[buffer_size:].tolist()):
        j = slots[k]
        out[k] = buf[j]
        buf[j] = new
    rest = np.asarray(buf, np.int64)
    out[n - buffer_size:] = rest[rng.permutation(buffer_size)]
    return out


def _bounds(chunk: Any) -> tuple[int, int]:
    if isinstance(chunk, slice):
        return chunk.start, chunk.stop
    return 0, len(chunk)


def _part(chunk: Any, lo: int, hi: int) -> np.ndarray:
    """Positions [lo, hi) of a chunk as an index array (positions are rows for a slice chunk)."""
    if isinstance(chunk, slice):
        return np.arange(lo, hi, dtype=np.int64)
    return chunk[lo:hi]


def _sub(chunk: Any, lo: int, hi: int) -> Any:
    return slice(lo, hi) if isinstance(chunk, slice) else chunk[lo:hi]

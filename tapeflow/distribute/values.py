"""Distributed values and input: `PerReplica`, `DistributedDataset` (this worker's batches).

Each worker holds one replica, so a distributed batch on a worker is simply that worker's
local batch. `DistributedDataset` is a `tf.data.Dataset` (so `for x in dist_dataset` inside
`tf.function` reads it as the graph runs, and `fit` takes it) whose elements are this
worker's share of each element of the source dataset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tapeflow import nest
from tapeflow.data.dataset import Dataset
from tapeflow.data.iterator import OwnedIterator


class PerReplica:
    """One value per local replica (`tf.distribute.DistributedValues`)."""

    def __init__(self, values: tuple) -> None:
        self._values = tuple(values)

    @property
    def values(self) -> tuple:
        return self._values

    def __repr__(self) -> str:
        return f"PerReplica:{{{', '.join(f'{i}: {v!r}' for i, v in enumerate(self._values))}}}"


DistributedValues = PerReplica


def split_rows(n: int, parts: int, index: int) -> tuple[int, int]:
    """Rows [start, stop) of block `index` when `n` rows are split in `parts` blocks as evenly
    as possible (the first `n % parts` blocks get one row more), like `numpy.array_split`."""
    base, extra = divmod(n, parts)
    start = index * base + min(index, extra)
    return start, start + base + (1 if index < extra else 0)


def local_part(batch: Any, parts: int, index: int, what: str = "the distributed dataset") -> Any:
    """This replica's block of rows of every tensor in `batch` (all leaves share the batch size)."""
    leaves = nest.flatten(batch)
    sizes = {int(leaf.shape[0]) for leaf in leaves if hasattr(leaf, "shape") and len(leaf.shape)}
    if len(sizes) != 1:
        raise ValueError(f"{what}: every component of a batch needs the same leading (batch) dimension to be "
                         f"split across {parts} replicas; received sizes {sorted(sizes)}.")
    n = sizes.pop()
    if n < parts:
        raise ValueError(f"{what}: a batch of {n} rows cannot be split across {parts} replicas; use a global "
                         f"batch size of at least {parts} (or drop_remainder=True).")
    start, stop = split_rows(n, parts, index)
    return nest.map_structure(lambda t: t[start:stop] if hasattr(t, "shape") and len(t.shape) else t, batch)


class DistributedDataset(Dataset):
    """This worker's part of `dataset`: with `split`, each (global) batch is cut into
    `num_replicas_in_sync` blocks and this worker gets its own; without, the elements pass
    through (they are already per-replica batches, from `distribute_datasets_from_function`)."""

    def __init__(self, dataset: Any, strategy: Any, split: bool) -> None:
        if not isinstance(dataset, Dataset):
            raise ValueError(f"tf.distribute: expected a tf.data.Dataset, received {type(dataset).__name__}.")
        super().__init__((dataset,))
        coll = strategy.extended._collective
        self._parts = coll.size if split else 1
        self._index = coll.rank if split else 0
        self._strategy = strategy

    def __iter__(self) -> DistributedIterator:
        return DistributedIterator(self)

    def _compute_element_spec(self) -> Any:
        spec = self._inputs[0].element_spec
        if self._parts == 1:
            return spec
        from tapeflow.tracing.spec import TensorSpec

        def unknown_batch(s: Any) -> Any:
            if isinstance(s, TensorSpec) and s.shape is not None and len(s.shape):
                return TensorSpec([None] + list(s.shape)[1:], s.dtype, s.name)
            return s

        return nest.map_structure(unknown_batch, spec)

    def _compute_cardinality(self) -> int:
        return self._inputs[0]._compute_cardinality()

    def _iter_elements(self) -> Iterator:
        if self._parts == 1:
            yield from self._inputs[0]._iter_elements()
            return
        for element in self._inputs[0]._iter_elements():
            yield local_part(element, self._parts, self._index)


class DistributedIterator(OwnedIterator):
    """The iterator of a distributed dataset (`iter(dist_dataset)`): this worker's batches
    (`next`, `get_next()`, `get_next_as_optional()`, `element_spec`)."""

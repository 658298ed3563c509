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


class PerReplica(tuple):
    """One value per local replica (`tf.distribute.DistributedValues`), in replica order.

    A tuple underneath, so that `tf.nest` and `tf.function` arguments and results flatten it
    into its replicas' tensors and rebuild it (TF's composite-tensor behaviour).
    """

    def __new__(cls, values: Any) -> PerReplica:
        return super().__new__(cls, values)

    @property
    def values(self) -> tuple:
        return tuple(self)

    def _format(self, show: Any) -> str:
        body = ",\n".join(f"  {i}: {show(v)}" for i, v in enumerate(self))
        return f"{type(self).__name__}:{{\n{body}\n}}"

    def __repr__(self) -> str:
        return self._format(repr)

    def __str__(self) -> str:
        return self._format(str)


DistributedValues = PerReplica


def split_rows(n: int, parts: int, index: int) -> tuple[int, int]:
    """Rows [start, stop) of block `index` when `n` rows are split in `parts` blocks as evenly
    as possible (the first `n % parts` blocks get one row more), like `numpy.array_split`."""
    base, extra = divmod(n, parts)
    start = index * base + min(index, extra)
    return start, start + base + (1 if index < extra else 0)


def replica_value(structure: Any, index: int) -> Any:
    """`structure` with each `PerReplica` in it replaced by its value for replica `index`."""
    if isinstance(structure, PerReplica):
        return structure[index]
    if isinstance(structure, dict):
        return type(structure)((k, replica_value(v, index)) for k, v in structure.items())
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):
        return type(structure)(*[replica_value(v, index) for v in structure])
    if isinstance(structure, (list, tuple)):
        return type(structure)(replica_value(v, index) for v in structure)
    return structure


def regroup(values: list) -> Any:
    """The results of the replicas of one `run` as one structure: a `PerReplica` where the
    replicas' values differ, the value itself where every replica returned the same object."""
    first = values[0]
    if len(values) == 1:
        return first
    if isinstance(first, dict) and all(isinstance(v, dict) and v.keys() == first.keys() for v in values):
        return type(first)((k, regroup([v[k] for v in values])) for k in first)
    if (isinstance(first, (list, tuple)) and not isinstance(first, PerReplica)
            and all(type(v) is type(first) and len(v) == len(first) for v in values)):
        items = [regroup([v[i] for v in values]) for i in range(len(first))]
        return type(first)(*items) if hasattr(first, "_fields") else type(first)(items)
    if all(v is first for v in values):
        return first
    return PerReplica(values)


def local_part(batch: Any, parts: int, index: int, what: str = "the distributed dataset",
               allow_empty: bool = False) -> Any:
    """This replica's block of rows of every tensor in `batch` (all leaves share the batch size);
    with `allow_empty`, a batch with fewer rows than replicas leaves the last ones empty (TF's
    in-process split) instead of raising."""
    leaves = nest.flatten(batch)
    sizes = {int(leaf.shape[0]) for leaf in leaves if hasattr(leaf, "shape") and len(leaf.shape)}
    if len(sizes) != 1:
        raise ValueError(f"{what}: every component of a batch needs the same leading (batch) dimension to be "
                         f"split across {parts} replicas; received sizes {sorted(sizes)}.")
    n = sizes.pop()
    if n < parts and not allow_empty:
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
        # Several replicas in this process (MirroredStrategy over several devices): each
        # element is one PerReplica of `_local` blocks (split) or `_local` consecutive elements.
        self._local = strategy._num_local
        self._split_local = split

    def __iter__(self) -> DistributedIterator:
        return DistributedIterator(self)

    def _compute_element_spec(self) -> Any:
        spec = self._inputs[0].element_spec
        if self._parts == 1:
            return spec
        from tapeflow.tracing.spec import TensorSpec

        def unknown_batch(s: Any) -> Any:
            if isinstance(s, TensorSpec) and s.shape.rank:
                return TensorSpec([None] + list(s.shape)[1:], s.dtype, s.name)
            return s

        return nest.map_structure(unknown_batch, spec)

    def _compute_cardinality(self) -> int:
        return self._inputs[0]._compute_cardinality()

    def _iter_elements(self) -> Iterator:
        if self._local > 1:
            yield from self._local_elements()
            return
        if self._parts == 1:
            yield from self._inputs[0]._iter_elements()
            return
        for element in self._inputs[0]._iter_elements():
            yield local_part(element, self._parts, self._index)


    def _local_elements(self) -> Iterator:
        n = self._local
        source = self._inputs[0]._iter_elements()
        if self._split_local:
            for element in source:
                yield PerReplica(local_part(element, n, r, allow_empty=True) for r in range(n))
            return
        while True:  # one element per replica; a last incomplete group is left out
            group = []
            for element in source:
                group.append(element)
                if len(group) == n:
                    break
            if len(group) < n:
                return
            yield PerReplica(group)


class GlobalBatches(Dataset):
    """The global batches of a distributed dataset over several replicas of this process (its
    per-replica batches concatenated in replica order): what Keras `fit` / `evaluate` /
    `predict` read when given such a dataset (fit splits each batch across the replicas again)."""

    def __init__(self, distributed: DistributedDataset) -> None:
        super().__init__((distributed,))

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _compute_cardinality(self) -> int:
        dist = self._inputs[0]
        n = dist._compute_cardinality()
        return n if dist._split_local or n < 0 else n // dist._local

    def _iter_elements(self) -> Iterator:
        import numpy as np

        from tapeflow import backend

        def host(t: Any) -> Any:
            return backend.to_numpy(t._value) if hasattr(t, "_value") else np.asarray(t)

        for group in self._inputs[0]._iter_elements():
            yield nest.map_structure(lambda *parts: np.concatenate([host(p) for p in parts], axis=0), *group)


class DistributedIterator(OwnedIterator):
    """The iterator of a distributed dataset (`iter(dist_dataset)`): this worker's batches
    (`next`, `get_next()`, `get_next_as_optional()`, `element_spec`); with several replicas in
    the process, a `PerReplica` of their batches."""

    def __next__(self) -> Any:
        from tapeflow.data import structure

        element = next(self._elements)
        self._position += 1
        if isinstance(element, PerReplica):
            return PerReplica(structure.to_tensors(e) for e in element)
        return structure.to_tensors(element)

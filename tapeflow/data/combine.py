"""Several datasets into one: zip, concatenate, sample / choose from datasets, interleave / flat_map."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow.data import structure
from tapeflow.data.dataset import (
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    Dataset,
    check_count,
    check_dataset,
)
from tapeflow.data.functions import UserFunction
from tapeflow.data.order import seeded_rng_factory


def _closing(iterators: list) -> None:
    for it in iterators:
        if it is not None and hasattr(it, "close"):
            it.close()


class ZipDataset(Dataset):
    """`Dataset.zip`: one element from each dataset, in the datasets' structure."""

    def __init__(self, datasets: Any, name: str | None = None) -> None:
        if isinstance(datasets, list):
            datasets = tuple(datasets)
        leaves = structure.flatten(datasets) if isinstance(datasets, (tuple, dict)) else [datasets]
        if not leaves:
            raise ValueError("Dataset.zip: expected at least one dataset.")
        for d in leaves:
            check_dataset(d, "Dataset.zip")
        super().__init__(tuple(leaves), name)
        self._structure = datasets

    def _compute_element_spec(self) -> Any:
        return structure.pack(self._structure, [d.element_spec for d in self._inputs])

    def _compute_cardinality(self) -> int:
        sizes = [d._compute_cardinality() for d in self._inputs]
        finite = [n for n in sizes if n >= 0]
        if finite and (min(finite) == 0 or UNKNOWN_CARDINALITY not in sizes):
            return min(finite)
        if UNKNOWN_CARDINALITY in sizes:
            return UNKNOWN_CARDINALITY
        return INFINITE_CARDINALITY

    def _iter_elements(self) -> Iterator:
        yield from self._zipped([d._iter_elements() for d in self._inputs])

    def _iter_elements_from(self, position: int) -> Iterator | None:
        iterators = [d._iter_elements_from(position) for d in self._inputs]
        if any(it is None for it in iterators):
            _closing([it for it in iterators if it is not None])
            return None
        return self._zipped(iterators)

    def _zipped(self, iterators: list) -> Iterator:
        try:
            while True:
                parts = []
                for it in iterators:
                    try:
                        parts.append(next(it))
                    except StopIteration:
                        return
                yield structure.pack(self._structure, parts)
        finally:
            _closing(iterators)


class ConcatenateDataset(Dataset):
    """`concatenate`: the first dataset's elements, then the second's."""

    def __init__(self, first: Dataset, second: Dataset, name: str | None = None) -> None:
        check_dataset(second, "Dataset.concatenate")
        super().__init__((first, second), name)
        self._compute_element_spec()  # checks the structures and dtypes now

    def _compute_element_spec(self) -> Any:
        return structure.merge_specs([d.element_spec for d in self._inputs], "Dataset.concatenate")

    def _compute_cardinality(self) -> int:
        a, b = (d._compute_cardinality() for d in self._inputs)
        if INFINITE_CARDINALITY in (a, b):
            return INFINITE_CARDINALITY
        if UNKNOWN_CARDINALITY in (a, b):
            return UNKNOWN_CARDINALITY
        return a + b

    def _iter_elements(self) -> Iterator:
        for d in self._inputs:
            yield from d._iter_elements()

    def _iter_elements_from(self, position: int) -> Iterator | None:
        first, second = self._inputs
        n = first._compute_cardinality()
        if n < 0:
            return None
        if position >= n:
            return second._iter_elements_from(position - n)
        head = first._iter_elements_from(position)
        if head is None:
            return None

        def elements() -> Iterator:
            yield from head
            yield from second._iter_elements()
        return elements()


class SampleDataset(Dataset):
    """`sample_from_datasets`: each element from a dataset drawn with probability `weights[i]`."""

    _tf_repr = "_DirectedInterleaveDataset"  # as TF's repr names it

    def __init__(self, datasets: list, weights: Any, seed: int | None, stop_on_empty_dataset: bool,
                 rerandomize_each_iteration: bool | None) -> None:
        what = "Dataset.sample_from_datasets"
        datasets = list(datasets)
        if not datasets:
            raise ValueError(f"{what}: expected a non-empty list of datasets.")
        for d in datasets:
            check_dataset(d, what)
        self._weights_ds = None
        if isinstance(weights, Dataset):  # one weight vector per draw (rejection_resample's mixing)
            spec = weights.element_spec
            leaves = structure.flatten(spec)  # a vector, or (as TF takes it) nested scalars like ((p, 1 - p),)
            sizes = [getattr(leaf, "shape", None) for leaf in leaves]
            known = None not in sizes and None not in [s.num_elements() for s in sizes]
            if any(getattr(leaf, "dtype", None) is None or leaf.dtype.name not in ("float16", "float32", "float64")
                   for leaf in leaves) or (known and sum(s.num_elements() for s in sizes) != len(datasets)):
                raise TypeError(f"{what}: `weights` given as a Dataset must hold float vectors of "
                                f"{len(datasets)} weights, received element_spec {spec}.")
            self._weights_ds = weights
            weights = np.full(len(datasets), 1.0 / len(datasets))
        super().__init__(tuple(datasets) + ((self._weights_ds,) if self._weights_ds is not None else ()))
        if weights is None:
            weights = np.full(len(datasets), 1.0 / len(datasets))
        weights = np.asarray(structure.component(weights, f"{what}: `weights`"), np.float64)
        if weights.shape != (len(datasets),) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(f"{what}: `weights` must hold {len(datasets)} non-negative numbers "
                             f"with a positive sum, received {weights.tolist()}.")
        self._weights = weights
        self._count = len(datasets)
        self._stop = bool(stop_on_empty_dataset)
        self._rng = seeded_rng_factory(seed, rerandomize_each_iteration is not False)
        structure.merge_specs([d.element_spec for d in datasets], what)

    def _compute_element_spec(self) -> Any:
        return structure.merge_specs([d.element_spec for d in self._inputs[:self._count]],
                                     "Dataset.sample_from_datasets")

    def _compute_cardinality(self) -> int:
        sizes = [d._compute_cardinality() for d in self._inputs]
        return INFINITE_CARDINALITY if all(n == INFINITE_CARDINALITY for n in sizes) else UNKNOWN_CARDINALITY

    def _iter_elements(self) -> Iterator:
        rng = self._rng()
        iterators: list = [d._iter_elements() for d in self._inputs[:self._count]]
        per_draw = self._weights_ds._iter_elements() if self._weights_ds is not None else None
        if per_draw is not None:
            iterators.append(per_draw)  # (closed with the others)
        weights = self._weights.copy()
        live = np.ones(self._count)
        try:
            while weights.sum() > 0:
                if per_draw is not None:  # this draw's weights; the draws end with the weights
                    w = next(per_draw, None)
                    if w is None:
                        return
                    w = np.concatenate([np.asarray(leaf, np.float64).reshape(-1) for leaf in structure.flatten(w)])
                    weights = np.maximum(w, 0.0) * live
                    if weights.sum() <= 0:
                        return
                i = int(rng.choice(len(weights), p=weights / weights.sum()))
                try:
                    yield next(iterators[i])
                except StopIteration:
                    if self._stop:
                        return
                    weights[i] = 0.0
                    live[i] = 0.0
        finally:
            _closing(iterators)


class ChooseDataset(Dataset):
    """`choose_from_datasets`: the next element of `datasets[i]` for each `i` of the choices."""

    def __init__(self, datasets: list, choice_dataset: Dataset, stop_on_empty_dataset: bool) -> None:
        what = "Dataset.choose_from_datasets"
        datasets = list(datasets)
        if not datasets:
            raise ValueError(f"{what}: expected a non-empty list of datasets.")
        for d in datasets:
            check_dataset(d, what)
        check_dataset(choice_dataset, f"{what}: `choice_dataset`")
        spec = choice_dataset.element_spec
        if isinstance(spec, (tuple, dict)) or spec.shape != () or spec.dtype.name != "int64":
            raise TypeError(f"{what}: `choice_dataset` must be a dataset of scalar tf.int64 "
                            f"tensors, received element_spec {spec}.")
        super().__init__(tuple(datasets) + (choice_dataset,))
        self._stop = bool(stop_on_empty_dataset)
        structure.merge_specs([d.element_spec for d in datasets], what)

    def _compute_element_spec(self) -> Any:
        return structure.merge_specs([d.element_spec for d in self._inputs[:-1]],
                                     "Dataset.choose_from_datasets")

    def _iter_elements(self) -> Iterator:
        iterators: list = [d._iter_elements() for d in self._inputs[:-1]]
        choices = self._inputs[-1]._iter_elements()
        done = [False] * len(iterators)
        try:
            for choice in choices:
                i = int(choice)
                if not 0 <= i < len(iterators):
                    raise ValueError(f"Dataset.choose_from_datasets: choice {i} is out of range for "
                                     f"{len(iterators)} datasets.")
                if done[i]:
                    continue
                try:
                    yield next(iterators[i])
                except StopIteration:
                    if self._stop:
                        return
                    done[i] = True
                    if all(done):
                        return
        finally:
            _closing(iterators + [choices])


class InterleaveDataset(Dataset):
    """`interleave` / `flat_map`: elements of the datasets `map_func` returns, `block_length` at
    a time from `cycle_length` open datasets in turn."""

    def __init__(self, input_ds: Dataset, map_func: Any, cycle_length: int | None,
                 block_length: int | None, name: str | None = None,
                 what: str = "Dataset.interleave") -> None:
        super().__init__((input_ds,), name)
        self._fn = UserFunction(map_func, what)
        cycle = -1 if cycle_length is None else check_count(cycle_length, f"{what}: `cycle_length`", -1)
        if cycle == 0:
            raise ValueError(f"{what}: `cycle_length` must be positive or AUTOTUNE, received 0.")
        self._cycle = max(os.cpu_count() or 1, 1) if cycle == -1 else cycle
        self._block = 1 if block_length is None else check_count(block_length, f"{what}: `block_length`", 1)
        self._read_ahead = 0  # set by `parallel_interleave`: open inputs read by threads
        self._what = what

    def _open(self, element: Any) -> Dataset:
        out = self._fn.raw(element)
        if not isinstance(out, Dataset):
            raise TypeError(f"{self._what}: the function `{self._fn.name}` must return a "
                            f"tf.data.Dataset, returned {type(out).__name__}.")
        return out

    def _compute_element_spec(self) -> Any:
        it = self._inputs[0]._iter_elements()
        try:
            first = next(it)
        except StopIteration:
            first = None
        finally:
            it.close()
        if first is None:
            stand_in = self._fn.stand_in(self._inputs[0].element_spec)
            return self._open(stand_in).element_spec
        return self._open(first).element_spec

    def _iter_elements(self) -> Iterator:
        from tapeflow.data.parallel import run_ahead

        source = self._inputs[0]._iter_elements()
        slots: list = [None] * self._cycle
        source_done = False
        index = 0
        try:
            while True:
                if slots[index] is None and not source_done:
                    try:
                        ds = self._open(next(source))
                        if index < self._read_ahead:
                            slots[index] = run_ahead(ds._iter_elements, 2 * self._block)
                        else:
                            slots[index] = ds._iter_elements()
                    except StopIteration:
                        source_done = True
                if slots[index] is None:
                    if source_done and all(s is None for s in slots):
                        return
                    index = (index + 1) % self._cycle
                    continue
                it = slots[index]
                for _ in range(self._block):
                    try:
                        element = next(it)
                    except StopIteration:
                        slots[index] = None
                        break
                    yield element
                index = (index + 1) % self._cycle
        finally:
            _closing(slots + [source])

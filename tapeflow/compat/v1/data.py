"""`tf.compat.v1.data`: TF 1's graph iterators over `tf.data` datasets.

It holds `tf.data`'s names (`tf.data.Dataset` under `import tapeflow.compat.v1 as tf`; the
datasets are TF 2's, without DatasetV1's `make_one_shot_iterator()` method) and TF 1's iterators:
`make_one_shot_iterator(dataset)` / `make_initializable_iterator(dataset)` give an `Iterator`
whose `get_next()` is a graph node: each `Session.run` that needs it pulls the next element
(once per run, however many of its outputs are fetched), `tf.errors.OutOfRangeError` at the end.
`tf.data.experimental.make_saveable_from_iterator(iterator)` makes a `Saver` saveable of it:
added to the `SAVEABLE_OBJECTS` collection (or given in `var_list`), `Saver.save` / `restore`
keep the iterator's position (the state of `tf.train.Checkpoint(iterator=...)`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import errors, graph, nest
from tapeflow.compat.v1.graph import get_default_graph
from tapeflow.compat.v1.operations import Operation
from tapeflow.data import (  # noqa: F401 - tf.compat.v1.data holds tf.data's names too
    AUTOTUNE,
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    DatasetSpec,
    Options,
    TextLineDataset,
    TFRecordDataset,
    ThreadingOptions,
    experimental,
)
from tapeflow.data.dataset import Dataset
from tapeflow.data.iterator import STATE_NAME
from tapeflow.tensor import Tensor

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset", "DatasetSpec", "Iterator",
           "Options", "TextLineDataset", "TFRecordDataset", "ThreadingOptions", "experimental",
           "make_one_shot_iterator", "make_initializable_iterator", "get_output_types", "get_output_shapes",
           "get_output_classes"]


class Iterator:
    """A TF 1 graph iterator (`tf.compat.v1.data.Iterator`); read it with `get_next()`.

    Example:
        >>> it = tf.compat.v1.data.make_initializable_iterator(dataset)
        >>> x = it.get_next()
        >>> sess.run(it.initializer)
        >>> sess.run(x)
    """

    def __init__(self, dataset: Dataset, initializable: bool, name: str) -> None:
        if not isinstance(dataset, Dataset):
            raise TypeError(f"{name}: expected a tf.data.Dataset, received {type(dataset).__name__}.")
        self._dataset = dataset
        self._graph = get_default_graph()
        self.name = self._graph.unique_name(name)
        self._current = None if initializable else iter(dataset)
        self._initializer = _Initialize(self) if initializable else None

    @property
    def element_spec(self) -> Any:
        """The structure of `tf.TensorSpec`s of the elements."""
        return self._dataset.element_spec

    @property
    def output_types(self) -> Any:
        return nest.map_structure(lambda s: s.dtype, self.element_spec)

    @property
    def output_shapes(self) -> Any:
        return nest.map_structure(lambda s: s.shape, self.element_spec)

    @property
    def output_classes(self) -> Any:
        return nest.map_structure(lambda s: Tensor, self.element_spec)

    @property
    def initializer(self) -> Operation:
        """The operation that (re)starts the iteration (initializable iterators only)."""
        if self._initializer is None:
            raise ValueError(
                "The iterator does not have an initializer. This means it was likely created using "
                "`tf.data.Dataset.make_one_shot_iterator()`. For an initializable iterator, use "
                "`tf.data.Dataset.make_initializable_iterator()` instead.")
        return self._initializer

    def get_next(self, name: str | None = None) -> Any:
        """The next element as graph tensors: each session run that needs them pulls one."""
        spec = self.element_spec
        leaves = nest.flatten(spec)
        node = graph.Node(self._pull, [], name=name or "IteratorGetNext")
        node.stateful = True
        node.outputs = [graph.SymbolicTensor(s.shape, s.dtype, node, i, name=f"{node.name}:{i}")
                        for i, s in enumerate(leaves)]
        return nest.pack_sequence_as(spec, node.outputs)

    def make_initializer(self, dataset: Dataset, name: str | None = None) -> Operation:
        """An operation that restarts this iterator on `dataset` (of the same element spec)."""
        if dataset.element_spec != self.element_spec:
            raise TypeError(f"Expected output types and shapes {self.element_spec} but got dataset with "
                            f"{dataset.element_spec}.")
        return _Initialize(self, dataset)

    def _pull(self) -> list:
        if self._current is None:
            raise errors.FailedPreconditionError(
                "GetNext() failed because the iterator has not been initialized. Ensure that you have "
                "run the initializer operation for this iterator before getting the next element.")
        return nest.flatten(self._current.get_next())

    # -- the state a Saver keeps (the position of tf.train.Checkpoint(iterator=...)) -------------
    def _make_saveable(self, external_state_policy: Any) -> IteratorSaveable:
        """`tf.data.experimental.make_saveable_from_iterator(self)`."""
        return IteratorSaveable(self, f"{self.name}:0", external_state_policy)

    def _state(self, external_state_policy: Any = None) -> np.ndarray:
        if self._current is None:
            raise errors.FailedPreconditionError(f"Iterator {self.name}: not initialized, nothing to save.")
        return self._current._serialize_to_tensors(external_state_policy)[STATE_NAME]

    def _restore(self, state: np.ndarray) -> None:
        if self._current is None:
            self._current = iter(self._dataset)
        self._current._restore_from_tensors({STATE_NAME: np.asarray(state)})


class _Initialize(Operation):
    type = "MakeIterator"

    def __init__(self, iterator: Iterator, dataset: Dataset | None = None) -> None:
        super().__init__("MakeIterator")
        self._iterator = iterator
        self._dataset = dataset

    def _execute(self, values: dict) -> None:
        it = self._iterator
        if self._dataset is not None:
            it._dataset = self._dataset
        if it._current is not None:
            it._current.close()
        it._current = iter(it._dataset)


class IteratorSaveable:
    """What `make_saveable_from_iterator` returns: a `Saver` entry for a graph iterator's state
    (TF's spec name `<iterator>:0_STATE`)."""

    def __init__(self, iterator: Iterator, name: str, external_state_policy: Any) -> None:
        self.iterator = iterator
        self.name = name
        self.key = f"{name}_STATE"
        self.external_state_policy = external_state_policy

    def save_value(self) -> np.ndarray:
        return self.iterator._state(self.external_state_policy)

    def restore_value(self, value: np.ndarray) -> None:
        self.iterator._restore(value)


def make_one_shot_iterator(dataset: Dataset) -> Iterator:
    """An iterator that starts at once and cannot be restarted."""
    return Iterator(dataset, initializable=False, name="OneShotIterator")


def make_initializable_iterator(dataset: Dataset, shared_name: str | None = None) -> Iterator:
    """An iterator that starts when its `initializer` runs (again for each run of it)."""
    return Iterator(dataset, initializable=True, name="Iterator")


def get_output_types(dataset_or_iterator: Any) -> Any:
    return nest.map_structure(lambda s: s.dtype, dataset_or_iterator.element_spec)


def get_output_shapes(dataset_or_iterator: Any) -> Any:
    return nest.map_structure(lambda s: s.shape, dataset_or_iterator.element_spec)


def get_output_classes(dataset_or_iterator: Any) -> Any:
    return nest.map_structure(lambda s: Tensor, dataset_or_iterator.element_spec)


def __getattr__(name: str) -> object:
    # TF 1 names that are TF 2 objects (the generated table compat/v1/v2_names.py), on first use.
    from tapeflow.compat.v1.v2_alias import lookup

    return lookup("data", name)

"""`tf.data.Iterator`: what `iter(dataset)` returns, and how `tf.train.Checkpoint` saves its place.

An iterator runs the pipeline's element generators and counts the elements it has handed out.
A checkpoint stores that count, the state of every random seed stream in the pipeline (shuffle,
`sample_from_datasets`) as it was when the iteration began, and the pipeline's node names
(under TF's key `.../.ATTRIBUTES/ITERATOR_STATE`, as JSON bytes). Restoring rewinds the seed
streams and starts the iteration at the counted position, so the iterator continues with
exactly the elements the saved one would have produced. Where each node can compute where its
input must start (`Dataset._iter_elements_from`: rows of arrays, whose shuffle order is an
index permutation; map, batch, prefetch, take / skip / shard, zip, concatenate, cache, repeat of
an input without seeds) the skipped elements are never produced; otherwise the pipeline is
replayed and the counted elements dropped (functions given to `map` then run again on them).
Nodes whose elements cannot be replayed (a Python generator, a `map` in completion order) refuse
to be saved with TF's `FailedPreconditionError`, as do functions holding stateful ops unless the
pipeline's `experimental_external_state_policy` allows them.
"""

from __future__ import annotations

import abc
import collections.abc
import itertools
import json
import warnings
from typing import Any

import numpy as np

from tapeflow import errors
from tapeflow.data import structure
from tapeflow.data.optional import Optional

__all__ = ["Iterator", "OwnedIterator"]

STATE_NAME = "ITERATOR_STATE"
_FORMAT = "tapeflow-iterator"
_MAX_STATE_BYTES = 1 << 20


class Iterator(collections.abc.Iterator, abc.ABC):
    """An iterator over a `tf.data.Dataset` (`tf.data.Iterator`); abstract, as in TF.

    `iter(dataset)` gives one: `get_next()` returns the next element and raises
    `tf.errors.OutOfRangeError` at the end; `next(it)` raises StopIteration instead;
    `get_next_as_optional()` returns a `tf.experimental.Optional`.
    """

    @property
    @abc.abstractmethod
    def element_spec(self) -> Any:
        """The structure of `tf.TensorSpec`s of the elements."""

    @abc.abstractmethod
    def get_next(self) -> Any:
        """The next element; `tf.errors.OutOfRangeError` when the dataset is exhausted."""

    @abc.abstractmethod
    def get_next_as_optional(self) -> Optional:
        """The next element as a `tf.experimental.Optional` (empty at the end)."""

    @abc.abstractmethod
    def _type_spec(self) -> Any:
        """The spec of the iterator itself."""


class OwnedIterator(Iterator):
    """The iterator `iter(dataset)` returns: elements as Tensors; dropping it stops its threads.

    It can be saved in a `tf.train.Checkpoint` (`Checkpoint(iterator=it)`); see the module doc.
    """

    def __init__(self, dataset: Any) -> None:
        self._dataset = dataset
        self._streams = _seed_streams(dataset)
        self._seed_states = [s.get_state() for s in self._streams]
        self._position = 0
        self._elements = dataset._iter_elements()

    @property
    def element_spec(self) -> Any:
        return self._dataset.element_spec

    def _type_spec(self) -> Any:
        return self._dataset.element_spec

    def __iter__(self) -> OwnedIterator:
        return self

    def __next__(self) -> Any:
        element = next(self._elements)
        self._position += 1
        return structure.to_tensors(element)

    def next(self) -> Any:
        """`next(iterator)`: the next element, StopIteration at the end."""
        return self.__next__()

    def get_next(self) -> Any:
        try:
            return self.__next__()
        except StopIteration:
            raise errors.OutOfRangeError("End of sequence") from None

    def get_next_as_optional(self) -> Optional:
        try:
            return Optional.from_value(self.__next__())
        except StopIteration:
            return Optional.empty(self.element_spec)

    def close(self) -> None:
        """Stop the pipeline's background threads now (also done when the iterator is dropped)."""
        self._elements.close()

    # -- tf.train.Checkpoint ---------------------------------------------------------------
    def _checkpoint_children(self) -> list:
        return []

    def _serialize_to_tensors(self, external_state_policy: Any = None) -> dict:
        """{"ITERATOR_STATE": uint8 array of the JSON state}; FailedPreconditionError for a
        pipeline whose position cannot be replayed. `external_state_policy` (a TF 1 saveable's)
        takes the place of the pipeline option's."""
        policy = external_state_policy or self._dataset.options().experimental_external_state_policy
        for node in _nodes(self._dataset):
            reason = node._checkpoint_blocker()
            if reason is not None:
                raise errors.FailedPreconditionError(
                    f"Failed to checkpoint the tf.data iterator: {reason}")
            _check_external_state(node, policy)
        state = {"format": _FORMAT, "version": 1, "pipeline": _describe(self._dataset),
                 "position": self._position, "seeds": self._seed_states}
        return {STATE_NAME: np.frombuffer(json.dumps(state).encode("utf-8"), np.uint8).copy()}

    def _restore_from_tensors(self, tensors: dict) -> None:
        """Continue where the saved iterator was: rewind the seed streams, replay, skip."""
        state = _parse_state(tensors.get(STATE_NAME))
        pipeline = _describe(self._dataset)
        if state["pipeline"] != pipeline or len(state["seeds"]) != len(self._streams):
            raise errors.NotFoundError(
                f"Failed to restore dataset iterator from checkpoint: {pipeline}. Make sure the "
                "dataset definition has not changed between the process that saved the checkpoint "
                f"and the process that is restoring it (the checkpoint holds {state['pipeline']}).")
        position = state["position"]
        cardinality = self._dataset._compute_cardinality()
        if 0 <= cardinality < position:
            raise errors.DataLossError(
                f"The checkpointed tf.data iterator state is corrupt: position {position} is past the "
                f"end of its dataset of {cardinality} elements.")
        self._elements.close()
        for stream, seed_state in zip(self._streams, state["seeds"], strict=True):
            stream.set_state(seed_state)
        self._seed_states = [list(s) for s in state["seeds"]]
        self._elements = self._resumed(position)
        self._position = position

    def _resumed(self, position: int) -> Any:
        """The elements from `position` on: positioned directly where the pipeline allows it
        (see the module doc), else by replaying the pipeline and dropping the first `position`
        elements."""
        if position:
            resumed = self._dataset._iter_elements_from(position)
            if resumed is not None:
                return resumed
        elements = self._dataset._iter_elements()
        collections.deque(itertools.islice(elements, position), maxlen=0)
        return elements


def _check_external_state(node: Any, policy: Any) -> None:
    """TF's rule for functions holding stateful ops (a py_function, random sampling): their
    state is outside the checkpoint, so saving fails unless the pipeline's
    `experimental_external_state_policy` is WARN (a warning) or IGNORE."""
    from tapeflow.data.functions import UserFunction
    from tapeflow.data.options import ExternalStatePolicy

    if policy is ExternalStatePolicy.IGNORE:
        return
    for value in vars(node).values():
        if not isinstance(value, UserFunction):
            continue
        op = value.stateful_op(node._inputs[0].element_spec if len(node._inputs) == 1 else None)
        if op is None:
            continue
        message = (f"{op} is stateful. (a function given to {value.what}, `{value.name}`, holds state outside "
                   "the checkpoint; set tf.data.Options().experimental_external_state_policy to "
                   "tf.data.experimental.ExternalStatePolicy.IGNORE or WARN to save the iterator anyway)")
        if policy is ExternalStatePolicy.WARN:
            warnings.warn(message, stacklevel=4)
            return
        raise errors.FailedPreconditionError(message)


def _nodes(dataset: Any) -> list:
    """Every node of the pipeline, inputs first."""
    out: list = []
    for d in dataset._inputs:
        out.extend(_nodes(d))
    out.append(dataset)
    return out


def _seed_streams(dataset: Any) -> list:
    from tapeflow.data.order import SeedStream

    return [v for node in _nodes(dataset) for v in vars(node).values() if isinstance(v, SeedStream)]


def _describe(dataset: Any) -> str:
    """TF's way of naming an iterator's pipeline: `Iterator::Root::Batch::Map::Range`
    (inputs of several-input nodes in brackets)."""
    def name(d: Any) -> str:
        own = type(d).__name__.removesuffix("Dataset").lstrip("_") or type(d).__name__
        if len(d._inputs) == 1:
            return f"{own}::{name(d._inputs[0])}"
        if d._inputs:
            return f"{own}[{', '.join(name(i) for i in d._inputs)}]"
        return own
    return f"Iterator::Root::{name(dataset)}"


def _parse_state(value: Any) -> dict:
    """The JSON iterator state, checked field by field (a corrupt entry is a DataLossError)."""
    def bad(why: str) -> errors.DataLossError:
        return errors.DataLossError(f"The checkpointed tf.data iterator state is corrupt: {why}.")

    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 1:
        raise bad("expected a 1-D uint8 tensor")
    if value.size > _MAX_STATE_BYTES:
        raise bad(f"{value.size} bytes, more than {_MAX_STATE_BYTES}")
    try:
        state = json.loads(value.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise bad(f"not JSON ({e})") from None
    if not isinstance(state, dict) or state.get("format") != _FORMAT or state.get("version") != 1:
        raise bad("not a Tapeflow iterator state of version 1")
    position, seeds, pipeline = state.get("position"), state.get("seeds"), state.get("pipeline")
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise bad(f"position {position!r} is not a non-negative integer")
    if not isinstance(pipeline, str):
        raise bad("the pipeline description is not a string")
    if not isinstance(seeds, list) or not all(
            isinstance(s, list) and len(s) >= 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in s) for s in seeds):
        raise bad("the seed states are not lists of non-negative integers")
    return state

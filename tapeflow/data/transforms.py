"""Per-element transformations: map, filter, take_while, scan, reduce, unique, ignore_errors."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from typing import Any

from tapeflow.data import structure
from tapeflow.data.dataset import UNKNOWN_CARDINALITY, Dataset
from tapeflow.data.functions import UserFunction, spec_from_real
from tapeflow.data.index_plan import IndexPlan

# Set while `ignore_errors()` pulls from its input: nodes that start iterating then drop the
# elements whose production fails instead of raising. (None, or the `log_warning` flag.)
IGNORING_ERRORS: contextvars.ContextVar = contextvars.ContextVar("tapeflow_data_ignoring", default=None)
_log = logging.getLogger("tapeflow.data")


def dropped(error: BaseException, policy: Any) -> bool:
    """Whether `error` is to be dropped under `policy` (logging it if asked); else re-raise."""
    if policy is None or not isinstance(error, Exception):
        return False
    if policy:
        _log.warning("Dataset.ignore_errors: dropping an element after %s: %s",
                     type(error).__name__, error)
    return True


def infer_map_spec(fn: UserFunction, input_ds: Dataset) -> Any:
    """The spec of `fn`'s results: from stand-ins, else from the first real element."""
    spec = fn.output_spec(input_ds.element_spec)
    if spec is not None:
        return spec
    it = input_ds._iter_elements()
    try:
        first = next(it)
    except StopIteration:
        raise ValueError(f"{fn.what}: cannot infer the element spec of `{fn.name}`: it fails on "
                         "stand-in values and the input dataset is empty.") from None
    finally:
        it.close()
    return spec_from_real(fn(first), input_ds.element_spec)


class MapDataset(Dataset):
    """`map` run in the consumer's thread (one call per element; per batch after `batch`)."""

    def __init__(self, input_ds: Dataset, map_func: Any, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        self._fn = UserFunction(map_func, "Dataset.map")

    def _compute_element_spec(self) -> Any:
        return infer_map_spec(self._fn, self._inputs[0])

    def _compute_cardinality(self) -> int:
        return self._inputs[0]._compute_cardinality()

    def _index_plan(self) -> Any:
        """Over rows of arrays, an elementwise function is applied to whole blocks / batches."""
        from tapeflow.tracing.func_graph import tracing

        inner = self._inputs[0]._index_plan()
        if inner is None or tracing() or not self._fn.elementwise(self._inputs[0].element_spec):
            return None  # (inside another trace, a replay would give graph tensors, not values)
        fn, take, spec = self._fn, inner.take, self._inputs[0].element_spec

        def mapped(index: Any) -> Any:
            if isinstance(index, int):
                return fn(take(index))
            return fn.on_stack(spec, take(index))
        return IndexPlan(mapped, inner.chunks)

    def _iter_elements(self) -> Iterator:
        plan = self._index_plan()
        if plan is not None:
            yield from plan.elements()
            return
        yield from self._mapped(self._inputs[0]._iter_elements())

    def _iter_elements_from(self, position: int) -> Iterator | None:
        if self._index_plan() is not None:
            return Dataset._iter_elements_from(self, position)
        upstream = self._inputs[0]._iter_elements_from(position)
        return None if upstream is None else self._mapped(upstream)

    def _mapped(self, upstream: Iterator) -> Iterator:
        fn = self._fn
        policy = IGNORING_ERRORS.get()
        if policy is None:
            for element in upstream:
                yield fn(element)
            return
        for element in upstream:
            try:
                out = fn(element)
            except Exception as e:  # noqa: BLE001 - dropped under ignore_errors
                if dropped(e, policy):
                    continue
                raise
            yield out


class FilterDataset(Dataset):
    """`filter`: the elements for which the predicate returns True."""

    def __init__(self, input_ds: Dataset, predicate: Any, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        self._fn = UserFunction(predicate, "Dataset.filter")

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _iter_elements(self) -> Iterator:
        keep = self._fn.predicate
        policy = IGNORING_ERRORS.get()
        for element in self._inputs[0]._iter_elements():
            try:
                ok = keep(element)
            except Exception as e:  # noqa: BLE001 - dropped under ignore_errors
                if dropped(e, policy):
                    continue
                raise
            if ok:
                yield element


class TakeWhileDataset(Dataset):
    """`take_while`: the elements before the first one the predicate rejects."""

    def __init__(self, input_ds: Dataset, predicate: Any, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        self._fn = UserFunction(predicate, "Dataset.take_while")

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _iter_elements(self) -> Iterator:
        keep = self._fn.predicate
        for element in self._inputs[0]._iter_elements():
            if not keep(element):
                return
            yield element


class ScanDataset(Dataset):
    """`scan`: `scan_func(state, element) -> (new_state, output)`, yielding the outputs."""

    def __init__(self, input_ds: Dataset, initial_state: Any, scan_func: Any, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        self._state = structure.normalize(initial_state, "Dataset.scan initial_state")
        self._fn = UserFunction(scan_func, "Dataset.scan")

    def _step(self, state: Any, element: Any) -> tuple:
        out = self._fn((state, element))
        if not isinstance(out, tuple) or len(out) != 2:
            raise TypeError(f"Dataset.scan: `{self._fn.name}` must return a pair (new_state, "
                            f"output), returned {structure.spec_of(out)}.")
        new_state, output = out
        if not structure.same_structure(new_state, self._state) or any(
                a.dtype != b.dtype for a, b in zip(structure.flatten(new_state),
                                                   structure.flatten(self._state), strict=True)):
            raise TypeError(f"Dataset.scan: the new state {structure.spec_of(new_state)} must have "
                            f"the structure and dtypes of the initial state "
                            f"{structure.spec_of(self._state)}.")
        return new_state, output

    def _compute_element_spec(self) -> Any:
        input_spec = (structure.spec_of(self._state), self._inputs[0].element_spec)
        spec = self._fn.output_spec(input_spec)
        if spec is not None and isinstance(spec, tuple) and len(spec) == 2:
            return spec[1]
        it = self._inputs[0]._iter_elements()
        try:
            first = next(it)
        except StopIteration:
            raise ValueError("Dataset.scan: cannot infer the output spec: the function fails on "
                             "stand-in values and the dataset is empty.") from None
        finally:
            it.close()
        return spec_from_real(self._step(self._state, first)[1], input_spec)

    def _compute_cardinality(self) -> int:
        return self._inputs[0]._compute_cardinality()

    def _iter_elements(self) -> Iterator:
        state = self._state
        for element in self._inputs[0]._iter_elements():
            state, output = self._step(state, element)
            yield output


def reduce(dataset: Dataset, initial_state: Any, reduce_func: Any) -> Any:
    """`Dataset.reduce`: fold every element into the state; the final state as tensors."""
    state = structure.normalize(initial_state, "Dataset.reduce initial_state")
    fn = UserFunction(reduce_func, "Dataset.reduce")
    for element in dataset._iter_elements():
        new_state = fn((state, element))
        if not structure.same_structure(new_state, state) or any(
                a.dtype != b.dtype for a, b in zip(structure.flatten(new_state),
                                                   structure.flatten(state), strict=True)):
            raise TypeError(f"Dataset.reduce: `{fn.name}` must return a state with the structure "
                            f"and dtypes of the initial state {structure.spec_of(state)}, returned "
                            f"{structure.spec_of(new_state)}.")
        state = new_state
    return structure.to_tensors(state)


class UniqueDataset(Dataset):
    """`unique`: scalar integer elements without repeats, in first-seen order."""

    def __init__(self, input_ds: Dataset, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        spec = input_ds.element_spec
        if isinstance(spec, (tuple, dict)) or spec.shape != () or spec.dtype.name not in (
                "int32", "int64"):
            raise TypeError("Dataset.unique: only datasets of scalar tf.int32 or tf.int64 "
                            f"elements are supported, received element_spec {spec}.")

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _iter_elements(self) -> Iterator:
        seen: set = set()
        for element in self._inputs[0]._iter_elements():
            key = int(element)
            if key not in seen:
                seen.add(key)
                yield element


class IgnoreErrorsDataset(Dataset):
    """`ignore_errors`: elements whose production raised (in a map, filter, batch, ...) are dropped."""

    def __init__(self, input_ds: Dataset, log_warning: bool = False, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        self._log_warning = bool(log_warning)

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _iter_elements(self) -> Iterator:
        token = IGNORING_ERRORS.set(self._log_warning)
        try:
            it = self._inputs[0]._iter_elements()
        finally:
            IGNORING_ERRORS.reset(token)
        while True:
            token = IGNORING_ERRORS.set(self._log_warning)
            try:
                element = next(it)
            except StopIteration:
                return
            finally:
                IGNORING_ERRORS.reset(token)
            yield element


__all__ = ["MapDataset", "FilterDataset", "TakeWhileDataset", "ScanDataset", "reduce",
           "UniqueDataset", "IgnoreErrorsDataset", "UNKNOWN_CARDINALITY"]

"""Small datasets of `tf.data.experimental`: `Counter` and `assert_cardinality`."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.data.dataset import INFINITE_CARDINALITY, Dataset, check_count
from tapeflow.tracing.spec import TensorSpec


class CounterDataset(Dataset):
    """`tf.data.experimental.Counter`: start, start + step, ... forever."""

    _tf_repr = "_ScanDataset"  # as TF's repr names it

    def __init__(self, start: int, step: int, dtype: Any, name: str | None = None) -> None:
        super().__init__((), name)
        self._start = check_count(start, "Counter: `start`", -(2**63))
        self._step = check_count(step, "Counter: `step`", -(2**63))
        self._dtype = _dt.as_dtype(dtype)

    def _compute_element_spec(self) -> Any:
        return TensorSpec((), self._dtype)

    def _compute_cardinality(self) -> int:
        return INFINITE_CARDINALITY

    def _iter_elements(self) -> Iterator:
        yield from self._counting(self._start)

    def _iter_elements_from(self, position: int) -> Iterator | None:
        return self._counting(self._start + position * self._step)

    def _counting(self, start: int) -> Iterator:
        np_dtype = self._dtype._np
        for v in itertools.count(start, self._step):
            yield np.array(v, np_dtype)


class AssertCardinalityDataset(Dataset):
    """The input, checked while iterating to have exactly `expected` elements."""

    def __init__(self, input_ds: Dataset, expected: int) -> None:
        super().__init__((input_ds,))
        self._expected = check_count(expected, "assert_cardinality: `expected_cardinality`", -1)

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _compute_cardinality(self) -> int:
        return self._expected

    def _iter_elements(self) -> Iterator:
        count = 0
        for element in self._inputs[0]._iter_elements():
            count += 1
            if self._expected != INFINITE_CARDINALITY and count > self._expected:
                raise ValueError(f"Input dataset was expected to contain {self._expected} "
                                 f"elements but contained at least {count} elements.")
            yield element
        if self._expected == INFINITE_CARDINALITY or count < self._expected:
            raise ValueError(f"Input dataset was expected to contain {self._expected} elements "
                             f"but contained only {count} elements.")

"""Datasets of datasets: window, group_by_window, and bucket_by_sequence_length built on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow.data import structure
from tapeflow.data.dataset import UNKNOWN_CARDINALITY, Dataset, check_count
from tapeflow.data.functions import UserFunction
from tapeflow.tensor import TensorShape


class DatasetSpec:
    """The spec of an element that is itself a dataset (as `window` produces)."""

    def __init__(self, element_spec: Any, dataset_shape: Any = ()) -> None:
        self.element_spec = element_spec
        self.dataset_shape = TensorShape(dataset_shape)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, DatasetSpec) and other.element_spec == self.element_spec
                and other.dataset_shape == self.dataset_shape)

    def __hash__(self) -> int:
        return hash((repr(self.element_spec), tuple(self.dataset_shape)))

    def __repr__(self) -> str:
        return f"DatasetSpec({self.element_spec}, {self.dataset_shape!r})"


class ListDataset(Dataset):
    """A dataset over a list of elements already in memory (windows, groups, caches)."""

    _tf_repr = "_VariantDataset"  # as TF's repr names it

    def __init__(self, elements: list, element_spec: Any, name: str | None = None) -> None:
        super().__init__((), name)
        self._elements = elements
        self._spec = element_spec

    def _compute_element_spec(self) -> Any:
        return self._spec

    def _compute_cardinality(self) -> int:
        return len(self._elements)

    def _iter_elements(self) -> Iterator:
        yield from self._elements


class WindowDataset(Dataset):
    """`window(size, shift, stride)`: element k is a dataset of input elements
    k*shift, k*shift + stride, ... (`size` of them; fewer at the end unless `drop_remainder`)."""

    def __init__(self, input_ds: Dataset, size: int, shift: int | None, stride: int,
                 drop_remainder: bool, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        self._size = check_count(size, "Dataset.window: `size`", 1)
        self._shift = self._size if shift is None else check_count(shift, "Dataset.window: `shift`", 1)
        self._stride = check_count(stride, "Dataset.window: `stride`", 1)
        self._drop = bool(drop_remainder)

    def _compute_element_spec(self) -> Any:
        return structure.map_leaves(lambda s: DatasetSpec(s), self._inputs[0].element_spec)

    def _compute_cardinality(self) -> int:
        n = self._inputs[0]._compute_cardinality()
        if n < 0:
            return n
        if not self._drop:
            return -(-n // self._shift)
        span = (self._size - 1) * self._stride + 1
        return 0 if n < span else (n - span) // self._shift + 1

    def _window(self, elements: list) -> Any:
        spec = self._inputs[0].element_spec
        if not isinstance(spec, (tuple, dict)):
            return ListDataset(elements, spec)
        columns = list(zip(*[structure.flatten(e) for e in elements], strict=True))
        datasets = [ListDataset(list(col), s) for col, s in zip(columns, structure.flatten(spec), strict=True)]
        return structure.pack(spec, datasets)

    def _iter_elements(self) -> Iterator:
        size, shift, stride = self._size, self._shift, self._stride
        span = (size - 1) * stride + 1
        buffer: list = []
        offset = 0  # input index of buffer[0]
        start = 0  # input index where the next window starts
        for element in self._inputs[0]._iter_elements():
            buffer.append(element)
            while offset + len(buffer) >= start + span:
                yield self._window(buffer[start - offset:start - offset + span:stride])
                start += shift
                drop = min(start - offset, len(buffer))
                del buffer[:drop]
                offset += drop
        if self._drop:
            return
        while start < offset + len(buffer):
            yield self._window(buffer[start - offset::stride][:size])
            start += shift


class GroupByWindowDataset(Dataset):
    """`group_by_window`: elements grouped by `key_func`; each full window (and each partial
    one at the end) becomes `reduce_func(key, window_dataset)`, whose elements are emitted."""

    def __init__(self, input_ds: Dataset, key_func: Any, reduce_func: Any, window_size: int | None,
                 window_size_func: Any, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        what = "Dataset.group_by_window"
        if (window_size is None) == (window_size_func is None):
            raise ValueError(f"{what}: give exactly one of `window_size` and `window_size_func`.")
        self._key = UserFunction(key_func, f"{what} key_func")
        self._reduce = UserFunction(reduce_func, f"{what} reduce_func")
        self._size_fn = None if window_size_func is None else UserFunction(
            window_size_func, f"{what} window_size_func")
        self._size = None if window_size is None else check_count(window_size, f"{what}: `window_size`", 1)

    def _key_of(self, element: Any) -> int:
        key = np.asarray(self._key(element))
        if key.shape != () or key.dtype != np.int64:
            raise ValueError(f"Dataset.group_by_window: `key_func` must return a scalar tf.int64, "
                             f"returned shape {key.shape} dtype {key.dtype}.")
        return int(key)

    def _window_size(self, key: int) -> int:
        if self._size is not None:
            return self._size
        size = int(np.asarray(self._size_fn(np.array(key, np.int64))))
        if size < 1:
            raise ValueError(f"Dataset.group_by_window: `window_size_func` returned {size} for key "
                             f"{key}; window sizes must be >= 1.")
        return size

    def _reduced(self, key: int, elements: list) -> Dataset:
        window = ListDataset(elements, self._inputs[0].element_spec)
        out = self._reduce.raw((np.array(key, np.int64), window))
        if not isinstance(out, Dataset):
            raise TypeError(f"Dataset.group_by_window: `reduce_func` must return a Dataset, "
                            f"returned {type(out).__name__}.")
        return out

    def _compute_element_spec(self) -> Any:
        stand_in = self._reduce.stand_in(self._inputs[0].element_spec)
        return self._reduced(0, [stand_in]).element_spec

    def _compute_cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _iter_elements(self) -> Iterator:
        groups: dict = {}
        for element in self._inputs[0]._iter_elements():
            key = self._key_of(element)
            group = groups.setdefault(key, [])
            group.append(element)
            if len(group) >= self._window_size(key):
                del groups[key]
                yield from self._reduced(key, group)._iter_elements()
        for key, group in groups.items():
            yield from self._reduced(key, group)._iter_elements()


def bucket_by_sequence_length(dataset: Dataset, element_length_func: Any, bucket_boundaries: list,
                              bucket_batch_sizes: list, padded_shapes: Any, padding_values: Any,
                              pad_to_bucket_boundary: bool, no_padding: bool,
                              drop_remainder: bool) -> Dataset:
    """Group elements into buckets by length and batch each bucket (padded unless `no_padding`)."""
    what = "Dataset.bucket_by_sequence_length"
    boundaries = [int(b) for b in bucket_boundaries]
    if any(b >= c for b, c in zip(boundaries, boundaries[1:], strict=False)):
        raise ValueError(f"{what}: `bucket_boundaries` must be increasing, received {boundaries}.")
    sizes = [int(b) for b in bucket_batch_sizes]
    if len(sizes) != len(boundaries) + 1:
        raise ValueError(f"{what}: `bucket_batch_sizes` must have len(bucket_boundaries) + 1 = "
                         f"{len(boundaries) + 1} entries, received {len(sizes)}.")
    length_fn = UserFunction(element_length_func, f"{what} element_length_func")
    edges = np.asarray(boundaries, np.int64)

    def key_func(*element: Any) -> Any:
        length = int(np.asarray(length_fn(structure.normalize(
            element if len(element) > 1 else element[0], what))))
        return np.array(np.searchsorted(edges, length, side="right"), np.int64)

    def reduce_func(key: Any, window: Dataset) -> Dataset:
        k = int(key)
        if no_padding:
            return window.batch(sizes[k], drop_remainder=drop_remainder)
        shapes = padded_shapes
        if pad_to_bucket_boundary:
            if k == len(boundaries):
                raise ValueError(f"{what}: with `pad_to_bucket_boundary=True` every element must be "
                                 "shorter than the last bucket boundary.")
            spec = window.element_spec
            shapes = structure.map_leaves(
                lambda s: [boundaries[k] - 1 if d is None else d for d in s.shape], spec)
        return window.padded_batch(sizes[k], shapes, padding_values, drop_remainder=drop_remainder)

    return GroupByWindowDataset(dataset, key_func, reduce_func, None, lambda key: sizes[int(key)])

"""Batching: batch, padded_batch, unbatch, rebatch.

`batch` over rows of arrays (an index plan) gathers each batch with one index per component;
otherwise it stacks the elements it collected, one `np.stack` per component.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow.data import structure
from tapeflow.data.dataset import UNKNOWN_CARDINALITY, Dataset, check_count
from tapeflow.data.index_plan import slice_stream
from tapeflow.data.transforms import IGNORING_ERRORS, dropped
from tapeflow.string_values import empty_strings
from tapeflow.tracing.spec import TensorSpec


def batched_cardinality(n: int, batch_size: int, drop_remainder: bool) -> int:
    if n < 0:
        return n
    return n // batch_size if drop_remainder else -(-n // batch_size)


def stack_elements(elements: list, what: str) -> Any:
    """Elements (same structure) stacked along a new first axis, component by component."""
    first = elements[0]
    if type(first) is np.ndarray:
        columns = [elements]
    else:
        columns = list(zip(*[structure.flatten(e) for e in elements], strict=True))
    out = []
    for c, column in enumerate(columns):
        if type(column[0]).__name__ == "SparseTensor":
            out.append(_stack_sparse(column))
            continue
        try:
            out.append(np.stack(column))
        except ValueError:
            shape0 = column[0].shape
            k = next(i for i, a in enumerate(column) if a.shape != shape0)
            raise ValueError(
                f"{what}: cannot batch tensors with different shapes in component {c}: the first "
                f"element had shape {tuple(shape0)} and element {k} had shape "
                f"{tuple(column[k].shape)}. Use `Dataset.padded_batch` to pad elements to a common "
                "shape (or `map` them to one shape first)."
            ) from None
    return out[0] if type(first) is np.ndarray else structure.pack(first, out)


def _stack_sparse(column: list) -> Any:
    """SparseTensor elements as one SparseTensor with a leading batch dimension (TF's batch of
    sparse elements): row i's indices get i in front; the dense shape is the largest."""
    from tapeflow.sparse import SparseTensor
    from tapeflow.tensor import Tensor

    ranks = {len(sp.dense_shape._value) for sp in column}
    if len(ranks) != 1:
        raise ValueError(f"Dataset.batch: cannot batch SparseTensors of different ranks {sorted(ranks)}.")
    indices = [np.concatenate([np.full((len(sp.indices._value), 1), i, np.int64), sp.indices._value], axis=1)
               for i, sp in enumerate(column)]
    shape = np.max(np.stack([sp.dense_shape._value for sp in column]), axis=0)
    return SparseTensor(np.concatenate(indices), Tensor(np.concatenate([sp.values._value for sp in column])),
                        np.concatenate([[len(column)], shape]).astype(np.int64))


class BatchDataset(Dataset):
    """`batch(batch_size, drop_remainder)`."""

    def __init__(self, input_ds: Dataset, batch_size: int, drop_remainder: bool, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        self._batch_size = check_count(batch_size, "Dataset.batch: `batch_size`", 1)
        self._drop = bool(drop_remainder)

    def _compute_element_spec(self) -> Any:
        return structure.batch_spec(self._inputs[0].element_spec, self._batch_size if self._drop else None)

    def _compute_cardinality(self) -> int:
        return batched_cardinality(self._inputs[0]._compute_cardinality(), self._batch_size, self._drop)

    def _iter_elements(self) -> Iterator:
        plan = self._inputs[0]._index_plan()
        if plan is not None:
            yield from plan.batches(self._batch_size, self._drop)
            return
        yield from self._stacked(self._inputs[0]._iter_elements())

    def _iter_elements_from(self, position: int) -> Iterator | None:
        start = position * self._batch_size
        plan = self._inputs[0]._index_plan()
        if plan is not None:
            chunks = plan.chunks
            return plan.with_chunks(lambda: slice_stream(chunks(), start, None)).batches(
                self._batch_size, self._drop)
        upstream = self._inputs[0]._iter_elements_from(start)
        return None if upstream is None else self._stacked(upstream)

    def _stacked(self, elements: Iterator) -> Iterator:
        size, policy = self._batch_size, IGNORING_ERRORS.get()
        pending: list = []
        for element in elements:
            pending.append(element)
            if len(pending) == size:
                batch = self._stack(pending, policy)
                pending = []
                if batch is not None:
                    yield batch
        if pending and not self._drop:
            batch = self._stack(pending, policy)
            if batch is not None:
                yield batch

    def _stack(self, pending: list, policy: Any) -> Any:
        try:
            return stack_elements(pending, "Dataset.batch")
        except ValueError as e:
            if dropped(e, policy):
                return None
            raise


class PaddedBatchDataset(Dataset):
    """`padded_batch`: batches padded to `padded_shapes` (None / -1 dims: the batch's longest)."""

    def __init__(self, input_ds: Dataset, batch_size: int, padded_shapes: Any, padding_values: Any,
                 drop_remainder: bool, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        what = "Dataset.padded_batch"
        self._batch_size = check_count(batch_size, f"{what}: `batch_size`", 1)
        self._drop = bool(drop_remainder)
        spec = input_ds.element_spec
        leaf_specs = structure.flatten(spec)
        if padded_shapes is None:
            shapes = [s.shape for s in leaf_specs]
            if any(sh is None for sh in shapes):
                raise ValueError(f"{what}: `padded_shapes` must be given for components of "
                                 "unknown rank.")
        else:
            shapes = _leaves_like(padded_shapes, spec, f"{what}: `padded_shapes`", is_shape=True)
            shapes = [tuple(None if d is None or int(d) == -1 else int(d) for d in _dims(sh))
                      for sh in shapes]
            for sh, s in zip(shapes, leaf_specs, strict=True):
                if s.shape.rank is not None and len(sh) != len(s.shape):
                    raise ValueError(f"{what}: padded shape {sh} has rank {len(sh)}, the component "
                                     f"{s} has rank {len(s.shape)}.")
        self._shapes = [tuple(sh) for sh in shapes]
        if padding_values is None:
            # Strings pad with b"" (TF's zero for tf.string).
            values = [empty_strings(()) if s.dtype._np.kind == "O" else np.zeros((), s.dtype._np)
                      for s in leaf_specs]
        else:
            raw = _leaves_like(padding_values, spec, f"{what}: `padding_values`", is_shape=False)
            values = [np.asarray(structure.component(v, f"{what}: `padding_values`")).astype(
                s.dtype._np) for v, s in zip(raw, leaf_specs, strict=True)]
            for v in values:
                if v.shape != ():
                    raise ValueError(f"{what}: each padding value must be a scalar, received shape "
                                     f"{v.shape}.")
        self._values = values

    def _compute_element_spec(self) -> Any:
        leaf_specs = structure.flatten(self._inputs[0].element_spec)
        dim = self._batch_size if self._drop else None
        out = [TensorSpec((dim,) + sh, s.dtype) for sh, s in zip(self._shapes, leaf_specs, strict=True)]
        return structure.pack(self._inputs[0].element_spec, out)

    def _compute_cardinality(self) -> int:
        return batched_cardinality(self._inputs[0]._compute_cardinality(), self._batch_size, self._drop)

    def _iter_elements(self) -> Iterator:
        pending: list = []
        for element in self._inputs[0]._iter_elements():
            pending.append(element)
            if len(pending) == self._batch_size:
                yield self._pad(pending)
                pending = []
        if pending and not self._drop:
            yield self._pad(pending)

    def _pad(self, elements: list) -> Any:
        columns = list(zip(*[structure.flatten(e) for e in elements], strict=True))
        out = []
        for c, (column, shape, value) in enumerate(zip(columns, self._shapes, self._values, strict=True)):
            longest = np.max([a.shape for a in column], axis=0) if column[0].ndim else ()
            target = tuple(int(m) if d is None else d for d, m in zip(shape, longest, strict=True))
            batch = np.full((len(column),) + target, value, dtype=column[0].dtype)
            for i, a in enumerate(column):
                if any(s > t for s, t in zip(a.shape, target, strict=True)):
                    raise ValueError(f"Dataset.padded_batch: component {c} of an element has shape "
                                     f"{a.shape}, larger than the padded shape {target}.")
                # (the Ellipsis keeps a rank-0 string a value, not an array stored in a cell)
                batch[(i,) + tuple(slice(0, s) for s in a.shape) + (Ellipsis,)] = a
            out.append(batch)
        return structure.pack(elements[0], out)


class UnbatchDataset(Dataset):
    """`unbatch`: every row of every element."""

    def __init__(self, input_ds: Dataset, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        structure.unbatch_spec(input_ds.element_spec, "Dataset.unbatch")

    def _compute_element_spec(self) -> Any:
        return structure.unbatch_spec(self._inputs[0].element_spec, "Dataset.unbatch")

    def _compute_cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _iter_elements(self) -> Iterator:
        for element in self._inputs[0]._iter_elements():
            if type(element) is np.ndarray and element.ndim >= 2:
                yield from element
                continue
            leaves = structure.flatten(element)
            sizes = {a.shape[0] for a in leaves}
            if len(sizes) > 1:
                raise ValueError(f"Dataset.unbatch: the components of an element have different "
                                 f"first dimensions {sorted(sizes)}.")
            from tapeflow.data.ragged import _row  # ragged leaves (a map's RaggedTensor results) too

            for i in range(sizes.pop()):
                yield structure.pack(element, [_row(a, i) for a in leaves])


class RebatchDataset(Dataset):
    """`rebatch(batch_size)`: the rows of a batched dataset regrouped into new batches."""

    def __init__(self, input_ds: Dataset, batch_size: int, drop_remainder: bool, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        if isinstance(batch_size, (list, tuple)):
            raise ValueError("Dataset.rebatch: per-replica lists of batch sizes need tf.distribute, "
                             f"which Tapeflow does not have yet; received {batch_size!r}.")
        self._batch_size = check_count(batch_size, "Dataset.rebatch: `batch_size`", 1)
        self._drop = bool(drop_remainder)
        structure.unbatch_spec(input_ds.element_spec, "Dataset.rebatch")

    def _compute_element_spec(self) -> Any:
        inner = structure.unbatch_spec(self._inputs[0].element_spec, "Dataset.rebatch")
        return structure.batch_spec(inner, self._batch_size if self._drop else None)

    def _compute_cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _iter_elements(self) -> Iterator:
        rows = UnbatchDataset(self._inputs[0])._iter_elements()
        yield from BatchDataset(self._inputs[0], self._batch_size, self._drop)._stacked(rows)


def _dims(shape: Any) -> tuple:
    if shape is None:
        return ()
    if hasattr(shape, "as_list"):
        return tuple(shape.as_list())
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(shape)


def _leaves_like(value: Any, spec: Any, what: str, is_shape: bool) -> list:
    """The leaves of `value` matched to the components of `spec` (a single value fits all)."""
    if not isinstance(spec, (tuple, dict)):
        return [value]
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            if is_shape:
                raise TypeError(f"{what} must have the element structure {spec}, received {value!r}.")
            return [value] * len(structure.flatten(spec))
        out = []
        for k in sorted(spec):
            out.extend(_leaves_like(value[k], spec[k], what, is_shape))
        return out
    if not isinstance(value, (tuple, list)):
        if is_shape:
            raise TypeError(f"{what} must have the element structure {spec}, received {value!r}.")
        return [value] * len(structure.flatten(spec))
    if len(value) != len(spec):
        raise ValueError(f"{what} has {len(value)} entries, the elements have {len(spec)} components.")
    out = []
    for v, s in zip(value, spec, strict=True):
        out.extend(_leaves_like(v, s, what, is_shape))
    return out

"""Dataset sources: rows of arrays, one element, a Python generator, a range of integers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow import nest
from tapeflow.data import structure
from tapeflow.data.dataset import INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, check_count
from tapeflow.data.index_plan import IndexPlan
from tapeflow.tracing import composites
from tapeflow.tracing.spec import TensorSpec


class TensorSliceDataset(Dataset):
    """`Dataset.from_tensor_slices`: element i is row i of every component."""

    def __init__(self, tensors: Any, name: str | None = None) -> None:
        super().__init__((), name)
        what = "Dataset.from_tensor_slices"
        if tensors is None:
            raise ValueError(f"{what}: expected tensors, received None.")
        self._arrays = structure.normalize(tensors, what)
        leaves = structure.flatten(self._arrays)
        if not leaves:
            raise ValueError(f"{what}: expected at least one component, received {tensors!r}.")
        for i, a in enumerate(leaves):
            if a.ndim == 0:
                raise ValueError(f"{what}: every component must have a first dimension to slice; "
                                 f"component {i} is a scalar {a!r}.")
        sizes = [int(a.shape[0]) for a in leaves]
        if len(set(sizes)) > 1:
            shapes = ", ".join(f"component {i}: shape {tuple(a.shape)}" for i, a in enumerate(leaves))
            raise ValueError(f"{what}: all components must have the same size in their first "
                             f"dimension, received sizes {sorted(set(sizes))} ({shapes}).")
        self._n = sizes[0]
        self._flat = leaves

    def _compute_element_spec(self) -> Any:
        return structure.map_leaves(lambda a: TensorSpec(a.shape[1:], a.dtype), self._arrays)

    def _compute_cardinality(self) -> int:
        return self._n

    def _take(self, index: Any) -> Any:
        return structure.pack(self._arrays, [a[index, ...] for a in self._flat])

    def _index_plan(self) -> IndexPlan:
        n = self._n
        return IndexPlan(self._take, lambda: iter([slice(0, n)]))

    def _iter_elements(self) -> Iterator:
        flat, arrays = self._flat, self._arrays
        if len(flat) == 1 and type(arrays) is np.ndarray and arrays.ndim >= 2:
            yield from flat[0]
            return
        for i in range(self._n):
            yield structure.pack(arrays, [a[i, ...] for a in flat])


class TensorDataset(Dataset):
    """`Dataset.from_tensors`: one element."""

    def __init__(self, tensors: Any, name: str | None = None) -> None:
        super().__init__((), name)
        if tensors is None:
            raise ValueError("Dataset.from_tensors: expected tensors, received None.")
        self._element = structure.normalize(tensors, "Dataset.from_tensors")

    def _compute_element_spec(self) -> Any:
        return structure.spec_of(self._element)

    def _compute_cardinality(self) -> int:
        return 1

    def _iter_elements(self) -> Iterator:
        yield self._element

    def _iter_elements_from(self, position: int) -> Iterator | None:
        return (e for e in ([self._element] if position == 0 else []))


class RangeDataset(Dataset):
    """`Dataset.range(stop)` / `range(start, stop[, step], dtype=tf.int64)`."""

    def __init__(self, *args: Any, dtype: Any = _dt.int64, name: str | None = None) -> None:
        super().__init__((), name)
        if not 1 <= len(args) <= 3:
            raise TypeError(f"Dataset.range takes 1 to 3 positional arguments (start, stop, step), "
                            f"received {len(args)}.")
        bounds = [check_count(a, "Dataset.range: each argument", -(2**63)) for a in args]
        if len(bounds) == 1:
            bounds = [0, bounds[0], 1]
        elif len(bounds) == 2:
            bounds.append(1)
        if bounds[2] == 0:
            raise ValueError("Dataset.range: `step` must not be 0.")
        self._start, self._stop, self._step = bounds
        self._dtype = _dt.as_dtype(dtype)
        self._n = len(range(*bounds))

    def _compute_element_spec(self) -> Any:
        return TensorSpec((), self._dtype)

    def _compute_cardinality(self) -> int:
        return self._n

    def _take(self, index: Any) -> np.ndarray:
        if isinstance(index, slice):
            index = np.arange(index.start, index.stop)
        return np.asarray(self._start + np.asarray(index, np.int64) * self._step, self._dtype._np)

    def _index_plan(self) -> IndexPlan:
        n = self._n
        return IndexPlan(self._take, lambda: iter([slice(0, n)]))

    def _iter_elements(self) -> Iterator:
        np_dtype = self._dtype._np
        for v in range(self._start, self._stop, self._step):
            yield np.array(v, np_dtype)


class GeneratorDataset(Dataset):
    """`Dataset.from_generator`: elements from a Python generator, checked against a signature."""

    _tf_repr = "_FlatMapDataset"  # as TF's repr names it

    def __init__(self, generator: Any, output_types: Any, output_shapes: Any, args: Any,
                 output_signature: Any, name: str | None) -> None:
        super().__init__((), name)
        what = "Dataset.from_generator"
        if not callable(generator):
            raise TypeError(f"{what}: `generator` must be a callable that returns an iterator, "
                            f"received {type(generator).__name__}.")
        if output_signature is not None:
            if output_types is not None or output_shapes is not None:
                raise TypeError(f"{what}: `output_types` and `output_shapes` cannot be used "
                                "together with `output_signature`.")
            output_signature = composites.as_elements(output_signature)  # extension-type specs
            bad = [s for s in structure.flatten(output_signature) if not isinstance(s, TensorSpec)]
            if bad:
                raise TypeError(f"{what}: `output_signature` must contain tf.TensorSpec objects, "
                                f"received {bad[0]!r}.")
            spec = _as_spec_structure(output_signature)
        else:
            if output_types is None:
                raise TypeError(f"{what}: give the elements' `output_signature` (a structure of "
                                "tf.TensorSpec), or `output_types` (and `output_shapes`).")
            spec = _spec_from_types(output_types, output_shapes, what)
        self._spec = spec
        self._generator = generator
        self._args = tuple(args) if args is not None else ()

    def _compute_element_spec(self) -> Any:
        return self._spec

    def _checkpoint_blocker(self) -> str | None:
        return ("Dataset.from_generator runs a Python generator, whose position cannot be saved "
                "(PyFunc is stateful).")

    def _iter_elements(self) -> Iterator:
        spec = self._spec
        leaf_specs = structure.flatten(spec)
        what = "Dataset.from_generator"
        # the generator gets NumPy values, as TF's ("evaluated and passed to generator as NumPy-array
        # arguments"): hashable scalars, bytes for strings
        args = [structure.to_numpy(structure.component(a, f"{what} args")) for a in self._args]
        for value in self._generator(*args):
            value = composites.as_elements(value)  # extension types: their components
            # A single-tensor signature takes a yielded tuple as the tensor's values, as TF's
            # flatten_up_to does (`yield (i,)` for TensorSpec((1,)): data_performance guide).
            if not isinstance(spec, (tuple, dict)) and isinstance(value, dict):
                raise TypeError(f"{what}: the generator yielded {value!r}, which does not match "
                                f"the expected structure {spec}.")
            leaves = _flatten_up_to(spec, value, what)
            arrays = []
            for v, s in zip(leaves, leaf_specs, strict=True):
                arr = np.asarray(structure.component(v, what))
                if arr.dtype != s.dtype._np:
                    if not np.can_cast(arr.dtype, s.dtype._np, "same_kind") and arr.dtype.kind != "b":
                        raise TypeError(f"{what}: the generator yielded a value of dtype "
                                        f"{arr.dtype.name}, which is not compatible with {s}.")
                    arr = arr.astype(s.dtype._np)
                if not s.shape.is_compatible_with(arr.shape):
                    raise ValueError(f"{what}: the generator yielded an element of shape "
                                     f"{tuple(arr.shape)} where an element compatible with "
                                     f"{tuple(s.shape)} was expected.")
                arrays.append(arr)
            yield structure.pack(spec, arrays)


def _flatten_up_to(spec: Any, value: Any, what: str) -> list:
    """The yielded value's components, one per leaf spec: the value is flattened only as deep
    as the signature (TF's flatten_up_to), so a list of tuples under one TensorSpec is one tensor."""
    if isinstance(spec, dict):
        if not isinstance(value, Mapping) or set(value) != set(spec):
            raise TypeError(f"{what}: the generator yielded {value!r}, which does not match the expected "
                            f"structure {spec}.")
        return [leaf for k in sorted(spec, key=nest._sort_key) for leaf in _flatten_up_to(spec[k], value[k], what)]
    if isinstance(spec, tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(spec):
            n = len(value) if isinstance(value, (tuple, list)) else 1
            raise TypeError(f"{what}: the generator yielded {n} components, the signature {spec} has "
                            f"{len(spec)}.")
        return [leaf for sp, v in zip(spec, value, strict=True) for leaf in _flatten_up_to(sp, v, what)]
    return [value]


def _as_spec_structure(signature: Any) -> Any:
    if isinstance(signature, list):
        return tuple(_as_spec_structure(s) for s in signature)
    if isinstance(signature, dict):
        return {k: _as_spec_structure(v) for k, v in signature.items()}
    if isinstance(signature, tuple) and not hasattr(signature, "_fields"):
        return tuple(_as_spec_structure(s) for s in signature)
    return signature


def _spec_from_types(types: Any, shapes: Any, what: str) -> Any:
    """The spec structure from the older `output_types` / `output_shapes` pair."""
    if isinstance(types, (tuple, list, dict)):
        if shapes is None:
            shapes = structure.map_leaves(lambda _: None, _as_spec_structure(types))
        types = _as_spec_structure(types)
        if isinstance(types, dict):
            return {k: _spec_from_types(v, shapes[k], what) for k, v in types.items()}
        if not isinstance(shapes, (tuple, list)) or len(shapes) != len(types):
            raise ValueError(f"{what}: `output_shapes` {shapes!r} does not match the structure of "
                             f"`output_types` {types!r}.")
        return tuple(_spec_from_types(t, s, what) for t, s in zip(types, shapes, strict=True))
    return TensorSpec(shapes, _dt.as_dtype(types))


__all__ = ["TensorSliceDataset", "TensorDataset", "RangeDataset", "GeneratorDataset",
           "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY"]

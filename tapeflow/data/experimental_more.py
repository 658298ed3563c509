"""More of `tf.data.experimental`: from_list, get_structure, at, pad_to_cardinality, SHARD_HINT,
Reducer / group_by_reducer and parse_example_dataset, as TF defines them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tapeflow.data import structure, windows
from tapeflow.data.dataset import Dataset
from tapeflow.data.functions import UserFunction, spec_from_real
from tapeflow.errors import OutOfRangeError

SHARD_HINT = -1  # a placeholder for the shard count in `shard` calls that auto-sharding fills in


class ListDataset(windows.ListDataset):
    """`from_list`: the given elements in order; one spec that fits them all."""

    _tf_repr = "_ListDataset"

    def __init__(self, elements: list, name: str | None = None) -> None:
        if not elements:
            raise ValueError("Invalid `elements`. `elements` should not be empty. If you want an empty dataset, "
                             "use `tf.data.Dataset.range(0)`.")
        if not isinstance(elements, list):
            raise ValueError("Invalid `elements`. `elements` must be a list.")
        normalized = [structure.normalize(e, f"from_list elements[{i}]") for i, e in enumerate(elements)]
        spec = structure.merge_specs([structure.spec_of(e) for e in normalized], "from_list")
        super().__init__(normalized, spec, name)


def from_list(elements: list, name: str | None = None) -> Dataset:
    """A dataset of the Python list `elements` (each a tensor or structure of them); unlike
    `from_tensor_slices` the elements may differ in shape.

    Example:
        >>> list(tf.data.experimental.from_list([(1, "a"), (2, "b")]).as_numpy_iterator())
        [(1, b'a'), (2, b'b')]
    """
    return ListDataset(elements, name)


def get_structure(dataset_or_iterator: Any) -> Any:
    """The element spec of a dataset or iterator."""
    spec = getattr(dataset_or_iterator, "element_spec", None)
    if spec is None:
        raise TypeError(f"get_structure: expected a tf.data.Dataset or Iterator, received "
                        f"{type(dataset_or_iterator).__name__}")
    return spec


def at(dataset: Dataset, index: int) -> Any:
    """The element at `index` (0-based) of `dataset`; OutOfRangeError past its end."""
    index = int(index)
    if index < 0:
        raise OutOfRangeError(None, None, f"at: index must be non-negative, received {index}")
    for i, element in enumerate(dataset._iter_elements()):  # noqa: B007
        if i == index:
            return structure.to_tensors(element)
    raise OutOfRangeError(None, None, f"at: index {index} is out of range (the dataset has fewer elements)")


def pad_to_cardinality(cardinality: int, mask_key: str = "valid") -> Any:
    """A transformation padding a dataset of dicts to `cardinality` elements with zero elements;
    `mask_key` is added to every element: True for the real ones, False for the padding."""

    def apply_fn(dataset: Dataset) -> Dataset:
        from tapeflow.data.dataset import UNKNOWN_CARDINALITY
        from tapeflow.ops.creation import zeros

        count = dataset._compute_cardinality()
        if count < 0 or count == UNKNOWN_CARDINALITY:
            raise ValueError(f"The dataset passed into `pad_to_cardinality` must have a known cardinalty, but has "
                             f"cardinality {count}")
        if count > cardinality:
            raise ValueError(f"The dataset passed into `pad_to_cardinality` must have a cardinalty less than the "
                             f"target cardinality ({cardinality}), but has cardinality {count}")
        if not isinstance(dataset.element_spec, Mapping):
            raise ValueError("`pad_to_cardinality` requires its input dataset to be a dictionary.")
        filler = {k: zeros(s.shape, s.dtype) for k, s in dataset.element_spec.items()}
        filler[mask_key] = False
        padding = Dataset.from_tensors(filler).repeat(cardinality - count)

        def with_mask(x: dict) -> dict:
            x = dict(x)
            x[mask_key] = True
            return x

        return dataset.map(with_mask).concatenate(padding)

    return apply_fn


class Reducer:
    """The three functions of `group_by_reducer`: init_func(key) -> state, reduce_func(state,
    element) -> state, finalize_func(state) -> output."""

    def __init__(self, init_func: Any, reduce_func: Any, finalize_func: Any) -> None:
        self._init_func = init_func
        self._reduce_func = reduce_func
        self._finalize_func = finalize_func

    @property
    def init_func(self) -> Any:
        return self._init_func

    @property
    def reduce_func(self) -> Any:
        return self._reduce_func

    @property
    def finalize_func(self) -> Any:
        return self._finalize_func


class GroupByReducerDataset(Dataset):
    """`group_by_reducer`: one output per key (int64 scalar of key_func), by increasing key as TF."""

    def __init__(self, input_ds: Dataset, key_func: Any, reducer: Reducer) -> None:
        super().__init__((input_ds,), None)
        self._key = UserFunction(key_func, "group_by_reducer key_func")
        self._init = UserFunction(reducer.init_func, "group_by_reducer init_func")
        self._reduce = UserFunction(reducer.reduce_func, "group_by_reducer reduce_func")
        self._finalize = UserFunction(reducer.finalize_func, "group_by_reducer finalize_func")

    def _groups(self) -> list:
        states: dict = {}
        for element in self._inputs[0]._iter_elements():
            key = self._key(element)
            if not hasattr(key, "dtype") or key.shape != () or str(key.dtype) != "int64":
                raise ValueError(f"Invalid `key_func`. Expected `key_func` to return a scalar tf.int64 tensor, but "
                                 f"instead it returned {structure.spec_of(key)}.")
            k = int(key)
            if k not in states:
                states[k] = self._init(key)
            states[k] = self._reduce((states[k], element))
        return [self._finalize(states[k]) for k in sorted(states)]  # TF's order: by key

    def _compute_element_spec(self) -> Any:
        outputs = self._groups()
        if not outputs:
            raise ValueError("group_by_reducer: cannot infer the output spec of an empty dataset")
        return structure.merge_specs([spec_from_real(o, self._inputs[0].element_spec) for o in outputs],
                                     "group_by_reducer")

    def _compute_cardinality(self) -> int:
        from tapeflow.data.dataset import UNKNOWN_CARDINALITY

        return UNKNOWN_CARDINALITY

    def _iter_elements(self) -> Iterator:
        yield from self._groups()


def group_by_reducer(key_func: Any, reducer: Reducer) -> Any:
    """A transformation grouping elements by `key_func` and folding each group with `reducer`."""
    return lambda dataset: GroupByReducerDataset(dataset, key_func, reducer)


def parse_example_dataset(features: Any, num_parallel_calls: int = 1, deterministic: Any = None) -> Any:
    """A transformation parsing a dataset of serialized `tf.train.Example` vectors with
    `tf.io.parse_example(..., features)` (dicts of dense, sparse or ragged features)."""
    if features is None:
        raise ValueError("Argument `features` is required, but not specified.")

    def apply_fn(dataset: Dataset) -> Dataset:
        from tapeflow.io import parse_example

        def parse(serialized: Any) -> Any:
            return parse_example(serialized, features)

        return dataset.map(parse, num_parallel_calls=num_parallel_calls, deterministic=deterministic)

    return apply_fn

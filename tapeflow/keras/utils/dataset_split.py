"""`keras.utils.split_dataset`: one dataset (or arrays) into a left and a right tf.data Dataset."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.data import Dataset
from tapeflow.data import structure as _structure


def split_dataset(dataset: Any, left_size: int | float | None = None, right_size: int | float | None = None,
                  shuffle: bool = False, seed: int | None = None,
                  preferred_backend: str | None = None) -> tuple:
    """Split `dataset` into two unbatched datasets of `left_size` and `right_size` elements.

    Args:
        dataset: a `tf.data.Dataset` (finite), a NumPy array, or a tuple / list / dict of arrays
            with the same first dimension.
        left_size, right_size: element counts (ints) or fractions of the whole (floats in
            (0, 1)); a missing one is the rest.
        shuffle: shuffle the elements (with `seed`) before splitting.
        preferred_backend: "tensorflow" or None (the datasets are always tf.data Datasets here).

    Returns:
        `(left_dataset, right_dataset)`.

    Example:
        >>> left, right = keras.utils.split_dataset(np.arange(10), left_size=0.8)
        >>> len(left), len(right)
        (8, 2)
    """
    if preferred_backend not in (None, "tensorflow"):
        raise ValueError(f"split_dataset: `preferred_backend` must be None or 'tensorflow' (Tapeflow "
                         f"returns tf.data Datasets), received {preferred_backend!r}.")
    columns, spec = _columns(dataset)
    total = len(columns[0]) if columns else 0
    left, right = _sizes(left_size, right_size, total)
    order = np.arange(total)
    if shuffle:
        order = np.random.default_rng(seed).permutation(total)

    def part(index: np.ndarray) -> Dataset:
        return Dataset.from_tensor_slices(_structure.pack(spec, [c[index] for c in columns]))

    return part(order[:left]), part(order[left:left + right])


def _columns(dataset: Any) -> tuple:
    """The data as one array per component, and the element structure to rebuild it."""
    if isinstance(dataset, Dataset):
        elements = list(dataset._iter_elements())
        spec = dataset.element_spec
        if not elements:
            return [], spec
        flat = [_structure.flatten(e) if isinstance(spec, (tuple, dict)) else [e] for e in elements]
        return [np.stack(col) for col in zip(*flat, strict=True)], spec
    if isinstance(dataset, list) and not all(isinstance(d, np.ndarray) for d in dataset):
        dataset = np.asarray(dataset)
    arrays = _structure.normalize(tuple(dataset) if isinstance(dataset, list) else dataset,
                                  "split_dataset: `dataset`")
    flat = _structure.flatten(arrays) if isinstance(arrays, (tuple, dict)) else [arrays]
    sizes = {len(a) for a in flat}
    if len(sizes) != 1:
        raise ValueError(f"split_dataset: all arrays must have the same length, received lengths "
                         f"{sorted(sizes)}.")
    return flat, arrays


def _sizes(left: Any, right: Any, total: int) -> tuple[int, int]:
    if left is None and right is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. "
                         f"Received: left_size={left} and right_size={right}")
    counts = []
    for name, size in (("left_size", left), ("right_size", right)):
        if size is None:
            counts.append(None)
            continue
        if isinstance(size, float) and 0 < size < 1:
            counts.append(round(size * total))
        elif isinstance(size, (int, np.integer)) and not isinstance(size, bool) and 0 < size < total:
            counts.append(int(size))
        else:
            raise ValueError(f"`{name}` should be either a positive integer smaller than {total}, or a "
                             f"float within the range `[0, 1]`. Received: {name}={size}")
    a, b = counts
    a = total - b if a is None else a
    b = total - a if b is None else b
    if a + b > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than the {total}. "
                         f"Received: left_size + right_size = {a + b} and total_length = {total}")
    if a == 0 or b == 0:
        raise ValueError(f"split_dataset: both parts must be non-empty; the sizes give {a} and {b} "
                         f"of {total} elements.")
    return a, b

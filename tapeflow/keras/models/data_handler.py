"""Batches for `fit` / `evaluate` / `predict`: arrays sliced per epoch, or a Python iterable.

Array data is converted once per call (floats to floatx, like Keras), checked for equal
lengths, and cut into batches that are views of the arrays when not shuffling and views of
one per-epoch gather (or one gather per batch, for large data) when shuffling.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow import nest
from tapeflow import string_values as _string_values
from tapeflow.keras import backend as _kbackend
from tapeflow.tensor import Tensor

# Shuffled data up to this size is gathered once per epoch and then sliced into views;
# above it each batch is gathered on its own (same memory traffic, better cache use).
_GATHER_ONCE_BYTES = 8 << 20


def unpack_x_y_sample_weight(data: Any) -> tuple:
    """Split a batch `(x,)`, `(x, y)` or `(x, y, sample_weight)` (or a bare `x`) into three parts.

    Args:
        data: a tuple (or list) of one to three entries, or the inputs alone.

    Returns:
        `(x, y, sample_weight)` with None for the missing parts.
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
        f"found a tuple of {len(data)} entries."
    )


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The inverse of `unpack_x_y_sample_weight`: the form `train_step(data)` receives."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def is_array_like(value: Any) -> bool:
    """Whether `value` is data `fit` slices itself (arrays, tensors, lists/dicts of them)."""
    if isinstance(value, (np.ndarray, Tensor, Mapping, list, tuple)) or _backend.is_gpu_array(value):
        return True
    return hasattr(value, "__array__") and not isinstance(value, (str, bytes))


def is_batch_list(value: Any) -> bool:
    """A list whose items are `(x, y[, sample_weight])` tuples: batches, not arrays."""
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, tuple) and 1 <= len(v) <= 3 for v in value)


def _is_array_container(value: Any) -> bool:
    """An array/tensor, or a list/dict whose leaves are all arrays/tensors."""
    if isinstance(value, (np.ndarray, Tensor)) or _backend.is_gpu_array(value):
        return True
    if isinstance(value, Mapping):
        return all(_is_array_container(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return bool(value) and all(_is_array_container(v) for v in value)
    return False


def _to_array(value: Any, what: str) -> Any:
    """One leaf as an array; floats become floatx (ints and bools are kept)."""
    if isinstance(value, Tensor):
        arr = value._value
        if arr is None:
            raise ValueError(f"`{what}` must hold real values, received a symbolic tensor {value!r}.")
    elif isinstance(value, np.ndarray) or _backend.is_gpu_array(value):
        arr = value
    else:
        arr = np.asarray(value)
        if arr.dtype == object and not _string_values.is_text(arr):
            raise ValueError(f"`{what}` could not be converted to an array: ragged or non-numeric values.")
    if _string_values.is_text(arr):
        arr = _string_values.to_bytes_array(arr)  # text inputs (e.g. for TextVectorization) as tf.string
    elif arr.dtype.kind == "f":
        floatx = np.dtype(_kbackend.floatx())
        if arr.dtype != floatx:
            arr = arr.astype(floatx)
    elif arr.dtype.kind not in "biuc":
        raise ValueError(f"`{what}` must hold numbers, received an array of dtype {arr.dtype}.")
    if arr.ndim == 0:
        raise ValueError(f"`{what}` must have a batch (first) axis, received a scalar {arr!r}.")
    return arr


def _convert_structure(value: Any, what: str) -> Any:
    """Arrays (or nested lists/dicts of arrays) converted leaf by leaf; nested numbers become one array."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {k: _convert_structure(v, f"{what}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)) and _is_array_container(value):
        return type(value)(_convert_structure(v, f"{what}[{i}]") for i, v in enumerate(value))
    return _to_array(value, what)


def class_weight_to_sample_weights(y: Any, class_weight: dict) -> Any:
    """Per-sample weights `class_weight[label]` (labels: argmax of one-hot rows, else rounded ints)."""
    labels = np.asarray(_backend.to_numpy(y))
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else np.squeeze(labels, axis=-1)
    labels = np.round(labels).astype("int64").reshape(-1)
    if labels.size == 0:
        return np.ones((0,), dtype=_kbackend.floatx())
    table_size = max(int(labels.max()), max((int(k) for k in class_weight), default=0)) + 1
    table = np.ones(table_size, dtype=_kbackend.floatx())
    for k, w in class_weight.items():
        table[int(k)] = w
    out = np.ones(labels.shape[0], dtype=_kbackend.floatx())
    ok = labels >= 0
    out[ok] = table[labels[ok]]
    return out


def train_validation_split(arrays: tuple, validation_split: float) -> tuple:
    """Split `(x, y, sample_weight)` into the first and the LAST `validation_split` of samples."""
    flat = [a for a in nest.flatten(arrays) if a is not None]
    if not flat:
        return arrays, arrays
    n = int(flat[0].shape[0])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into a "
            f"validation and training set as specified by `validation_split={validation_split}`. "
            "Either provide more data, or a different value for the `validation_split` argument."
        )

    def part(start: int, stop: int) -> Any:
        return tuple(None if s is None else nest.map_structure(lambda a: a[start:stop], s) for s in arrays)

    return part(0, split_at), part(split_at, n)


def _sizes(struct: Any) -> str:
    return ", ".join(str(int(a.shape[0])) for a in nest.flatten(struct) if a is not None)


class ArrayData:
    """Array data `(x, y, sample_weight)` cut into batches; one instance serves every epoch.

    Args:
        x, y, sample_weight: arrays or nested lists/dicts of arrays (same first dimension).
        batch_size: samples per batch (default 32; with `steps`, ceil(n / steps)).
        shuffle: True (new order every epoch), "batch" (shuffle inside each batch) or False.
        class_weight: optional {class: weight} turned into sample weights.
        steps: batches per epoch (default: enough to see every sample once).
    """

    def __init__(self, x: Any, y: Any = None, sample_weight: Any = None, batch_size: int | None = None,
                 shuffle: Any = False, class_weight: dict | None = None, steps: int | None = None) -> None:
        x = _convert_structure(x, "x")
        y = _convert_structure(y, "y")
        sample_weight = _convert_structure(sample_weight, "sample_weight")
        if sample_weight is not None and class_weight is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
        if sample_weight is not None and nest.is_nested(y) and not nest.is_nested(sample_weight):
            sw = sample_weight
            if not (sw.ndim == 1 or (sw.ndim == 2 and sw.shape[1] == 1)):
                raise ValueError(
                    "For a model with multiple outputs, when providing a single `sample_weight` array, "
                    "it should only have one scalar score per sample (i.e. shape `(num_samples,)`). "
                    f"Received sample_weight of shape {tuple(sw.shape)}."
                )
            sample_weight = nest.map_structure(lambda _: sw, y)
        if class_weight is not None:
            if nest.is_nested(y):
                raise ValueError("`class_weight` is only supported for Models with a single output.")
            if y is None:
                raise ValueError("`class_weight` needs targets `y`.")
            sample_weight = class_weight_to_sample_weights(y, class_weight)
        sizes = {int(a.shape[0]) for a in nest.flatten((x, y, sample_weight)) if a is not None}
        if not sizes:
            raise ValueError("Expected input data `x`, received None.")
        if len(sizes) > 1:
            msg = ("Data cardinality is ambiguous. Make sure all arrays contain the same number of "
                   "samples.")
            for label, part in (("x", x), ("y", y), ("sample_weight", sample_weight)):
                if part is not None:
                    msg += f"\n'{label}' sizes: {_sizes(part)}"
            raise ValueError(msg)
        self.num_samples = sizes.pop()
        if not batch_size:
            batch_size = int(math.ceil(self.num_samples / steps)) if steps else 32
        self.batch_size = int(batch_size)
        if self.batch_size <= 0:
            raise ValueError(f"`batch_size` must be a positive integer, received {batch_size!r}.")
        self.num_batches = int(math.ceil(self.num_samples / self.batch_size))
        self.shuffle = shuffle
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self._struct = pack_x_y_sample_weight(x, y, sample_weight)
        self._flat = nest.flatten(self._struct)
        # The common case (one x, one y, no weights) packs without walking a structure.
        self._simple = (not nest.is_nested(x) and y is not None and not nest.is_nested(y)
                        and sample_weight is None)
        nbytes = sum(int(a.nbytes) for a in self._flat)
        self._gather_once = nbytes <= _GATHER_ONCE_BYTES
        self.steps = steps
        self._pending: Iterator | None = None  # with `steps`, an epoch continues the last pass
        self._seen = 0
        self.exhausted = False

    def set_leaf(self, index: int, array: Any) -> None:
        """Replace leaf `index` (0: x, 1: y, in the simple one-x-one-y case) by `array`."""
        self._flat[index] = array
        if self._simple:
            self.x, self.y = self._flat[0], self._flat[1]

    def _pack(self, leaves: list) -> Any:
        if self._simple:
            return (leaves[0], leaves[1])
        if not nest.is_nested(self._struct):
            return leaves[0]
        return nest.pack_sequence_as(self._struct, leaves)

    def epoch(self) -> Iterator:
        """The batches of one epoch, each in `pack_x_y_sample_weight` form with Tensor leaves.

        With `steps`, an epoch is `steps` batches taken from a pass over the data that goes on
        across epochs (as Keras does); when a pass ends early the epoch ends with a warning and
        the next epoch starts a new pass.
        """
        if not self.steps:
            yield from self._one_pass()
            return
        if self._pending is None:
            self._pending = self._one_pass()
            self._seen = 0
        count = 0
        for batch in self._pending:
            yield batch
            count += 1
            self._seen += 1
            if count >= self.steps:
                if self._seen >= self.num_batches:
                    self._pending = None
                return
        self._pending = None
        warnings.warn(
            "Your input ran out of data; interrupting training. Make sure that your dataset or "
            "generator can generate at least `steps_per_epoch * epochs` batches.", stacklevel=3,
        )

    def _one_pass(self) -> Iterator:
        n, bs, flat = self.num_samples, self.batch_size, self._flat
        shuffle = self.shuffle
        order = None
        if shuffle and shuffle != "batch":
            order = np.random.permutation(n)
            if self._gather_once:
                flat = [a[order] for a in flat]
                order = None
        pack = self._pack
        wrap = _device_wrapper()
        for start in range(0, n, bs):
            stop = min(start + bs, n)
            if shuffle == "batch":
                idx = np.random.permutation(stop - start) + start
                leaves = [wrap(a[idx]) for a in flat]
            elif order is not None:
                idx = order[start:stop]
                leaves = [wrap(a[idx]) for a in flat]
            else:
                leaves = [wrap(a[start:stop]) for a in flat]
            yield pack(leaves)

    def whole(self) -> Any:
        """All samples as one batch (for `train_on_batch` and friends)."""
        wrap = _device_wrapper()
        return self._pack([wrap(a) for a in self._flat])

    def first_batch(self) -> Any:
        """A batch of the first samples (used to build the model or the metrics)."""
        stop = min(self.batch_size, self.num_samples)
        wrap = _device_wrapper()
        return self._pack([wrap(a[:stop]) for a in self._flat])


def _device_wrapper() -> Any:
    """Batch arrays -> Tensors on the default device (`tf.device`), copying host data to a GPU."""
    xp = _backend.default_xp()
    if xp is np:
        return Tensor
    return lambda a: Tensor(_backend.asarray(a, None, xp))


class IterableData:
    """Batches from a Python iterable or generator yielding `(x, y[, sample_weight])` tuples.

    An iterable that can be iterated again (a list, a `keras.utils.PyDataset`-like sequence)
    restarts every epoch; a generator is consumed across epochs and must yield enough batches.
    """

    def __init__(self, data: Any, steps: int | None = None, class_weight: dict | None = None) -> None:
        self.data = data
        self.steps = steps
        self.class_weight = class_weight
        self.num_batches = steps if steps else (len(data) if hasattr(data, "__len__") and
                                                  hasattr(data, "__getitem__") else None)
        self._iterator: Iterator | None = None
        self._reusable = not isinstance(data, Iterator)
        self.exhausted = False

    def _convert_batch(self, batch: Any) -> Any:
        x, y, sw = unpack_x_y_sample_weight(batch)
        x = _convert_structure(x, "x")
        y = _convert_structure(y, "y")
        sw = _convert_structure(sw, "sample_weight")
        if self.class_weight is not None and y is not None:
            if sw is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            sw = class_weight_to_sample_weights(y, self.class_weight)
        leaves = nest.flatten(pack_x_y_sample_weight(x, y, sw))
        wrap = _device_wrapper()
        tensors = [None if a is None else wrap(a) for a in leaves]
        return nest.pack_sequence_as(pack_x_y_sample_weight(x, y, sw), tensors)

    def epoch(self) -> Iterator:
        """The batches of one epoch (`steps` of them when given, else until the data ends)."""
        self.exhausted = False
        if self._iterator is None or (self._reusable and not self.steps):
            self._iterator = iter(self.data)
        it = self._iterator
        count = 0
        while not self.steps or count < self.steps:
            try:
                batch = next(it)
            except StopIteration:
                self._iterator = None
                if self.steps:
                    self.exhausted = True
                    warnings.warn(
                        "Your input ran out of data; interrupting training. Make sure that your "
                        "dataset or generator can generate at least `steps_per_epoch * epochs` "
                        "batches.", stacklevel=3,
                    )
                if self.num_batches is None:
                    self.num_batches = count
                return
            count += 1
            yield self._convert_batch(batch)
        if self._reusable and self.steps and self.num_batches and count >= self.num_batches:
            self._iterator = None


class DatasetData(IterableData):
    """Batches from a `tf.data.Dataset`: a new pass each epoch, or with `steps`, `steps` batches
    per epoch taken from a pass that continues across epochs (as Keras does)."""

    def __init__(self, dataset: Any, steps: int | None = None, class_weight: dict | None = None) -> None:
        from tapeflow.data import INFINITE_CARDINALITY

        cardinality = dataset._compute_cardinality()
        if cardinality == INFINITE_CARDINALITY and not steps:
            raise ValueError(
                "When providing an infinite dataset, you must specify the number of steps to run "
                "(`steps_per_epoch` in fit, `validation_steps` for validation data, `steps` in "
                "evaluate and predict). If you did not intend to create an infinite dataset, make "
                "sure to not call `repeat()` on the dataset."
            )
        # The pipeline's own elements (NumPy arrays) are converted once, by `_convert_batch`,
        # rather than first wrapped in Tensors by the dataset's iterator.
        super().__init__(_Elements(dataset), steps, class_weight)
        self.dataset = dataset
        self.num_batches = cardinality if cardinality >= 0 else steps
        self._floatx = np.dtype(_kbackend.floatx())

    def _convert_batch(self, batch: Any) -> Any:
        # Fast path for the common `(x, y)` batch of host arrays: floats to floatx, then Tensors.
        if (type(batch) is tuple and len(batch) == 2 and self.class_weight is None
                and type(batch[0]) is np.ndarray and type(batch[1]) is np.ndarray
                and batch[0].ndim and batch[1].ndim and _backend.default_xp() is np):
            x, y = batch
            floatx = self._floatx
            if x.dtype.kind == "f" and x.dtype != floatx:
                x = x.astype(floatx)
            if y.dtype.kind == "f" and y.dtype != floatx:
                y = y.astype(floatx)
            return (Tensor(x), Tensor(y))
        return super()._convert_batch(batch)


class _Elements:
    """An iterable whose every `iter()` is one pass over a dataset's elements, as arrays."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __iter__(self) -> Iterator:
        return self.dataset._iter_elements()


class PyDatasetData(IterableData):
    """Batches from a `keras.utils.PyDataset` (or `Sequence`): `dataset[i]` for each index of an
    epoch, read ahead by `workers` threads into a queue of `max_queue_size` batches, with
    `on_epoch_begin` / `on_epoch_end` around each pass."""

    def __init__(self, dataset: Any, steps: int | None = None, class_weight: dict | None = None) -> None:
        from tapeflow.keras.utils.py_dataset import epoch_batches

        n = dataset.num_batches
        if n is None and not steps:
            raise ValueError(
                "The PyDataset has no length (`num_batches` is None): it is infinite, so give the "
                "number of batches to run (`steps_per_epoch`, `validation_steps` or `steps`)."
            )
        super().__init__(_Passes(dataset, epoch_batches), steps, class_weight)
        self.num_batches = n if n is not None else steps


class _Passes:
    """An iterable whose every `iter()` is one epoch of a PyDataset."""

    def __init__(self, dataset: Any, epoch_batches: Any) -> None:
        self.dataset = dataset
        self._epoch_batches = epoch_batches

    def __iter__(self) -> Iterator:
        return self._epoch_batches(self.dataset)


def _dataset_type() -> Any:
    from tapeflow.data import Dataset

    return Dataset


def make_data(x: Any, y: Any = None, sample_weight: Any = None, batch_size: int | None = None,
              shuffle: Any = False, class_weight: dict | None = None, steps: int | None = None,
              what: str = "fit") -> Any:
    """The adapter for `x`: `ArrayData` for arrays, `DatasetData` for a `tf.data.Dataset`,
    `PyDatasetData` for a `keras.utils.PyDataset`, `IterableData` for a generator / iterable."""
    if x is None:
        raise ValueError(f"`{what}()` expected input data `x`, received None.")
    if type(x).__module__.startswith("tapeflow.data") and isinstance(x, _dataset_type()):
        if y is not None:
            raise ValueError(
                "When providing `x` as a tf.data.Dataset, `y` should not be passed. Instead, the "
                "targets should be included as part of the tf.data.Dataset."
            )
        if sample_weight is not None:
            raise ValueError(
                "When providing `x` as a tf.data.Dataset, `sample_weights` should not be passed. "
                "Instead, the sample weights should be included as part of the tf.data.Dataset."
            )
        return DatasetData(x, steps, class_weight)
    from tapeflow.keras.utils.py_dataset import PyDataset

    if isinstance(x, PyDataset):
        if y is not None or sample_weight is not None:
            raise ValueError(
                f"`{what}()`: when `x` is a PyDataset, targets and sample weights come from it; do "
                "not pass `y` or `sample_weight`."
            )
        return PyDatasetData(x, steps, class_weight)
    if is_array_like(x) and not is_batch_list(x):
        return ArrayData(x, y, sample_weight, batch_size, shuffle, class_weight, steps)
    if not hasattr(x, "__iter__"):
        raise ValueError(
            f"`{what}()`: unrecognised data type for `x`: {type(x).__name__}. Expected NumPy arrays, "
            "tensors, lists or dicts of them, or a Python iterable/generator of batches."
        )
    if y is not None:
        raise ValueError(
            f"`{what}()`: when `x` is a generator or an iterable of batches, targets come from it; "
            f"do not pass `y`. Received y of type {type(y).__name__}."
        )
    if sample_weight is not None:
        raise ValueError(
            f"`{what}()`: when `x` is a generator or an iterable of batches, sample weights come "
            "from it; do not pass `sample_weight`."
        )
    return IterableData(x, steps, class_weight)

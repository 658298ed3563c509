"""`tf.data.Dataset`: the public methods; each builds one node of a lazy pipeline.

A Dataset is a node with input datasets. Iterating it runs `_iter_elements()`, a generator of
elements (nested tuples/dicts of NumPy arrays, see `structure`); Python iteration wraps them
in Tensors. The sources live in `sources`, the per-element transformations in `transforms`,
batching in `batching`, the threaded ones (`prefetch`, parallel `map`, `interleave`) in
`parallel`, files in `files`. `iter(dataset)` gives an `iterator.OwnedIterator`; dropping it
closes its generators, which stops their background threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow.data import structure
from tapeflow.data.iterator import OwnedIterator
from tapeflow.tensor import Tensor

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2


def _has_ragged(value: Any) -> bool:
    """Whether a structure holds RaggedTensors (or their specs), without importing them."""
    import sys

    if "tapeflow.ragged" not in sys.modules:
        return False
    from tapeflow.data.ragged import has_ragged

    return has_ragged(value)


def _has_sparse(value: Any) -> bool:
    """Whether a structure holds SparseTensors (sliced by their first dimension)."""
    from tapeflow import nest

    return any(type(x).__name__ == "SparseTensor" for x in nest.flatten(value))


class Dataset:
    """A sequence of elements, built and transformed lazily (`tf.data.Dataset`).

    Create one with a source (`from_tensor_slices`, `from_generator`, `range`, ...), chain
    transformations (`map`, `shuffle`, `batch`, `prefetch`, ...), then iterate it or pass it to
    `model.fit`.

    Example:
        >>> ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1000).batch(32)
        >>> ds.element_spec[1]
        TensorSpec(shape=(None,), dtype=tf.int64, name=None)
    """

    def __init__(self, inputs: tuple = (), name: str | None = None) -> None:
        self._inputs = tuple(inputs)
        self._name = name
        self._spec_cache: Any = None

    # -- what each node defines ------------------------------------------------------------
    def _iter_elements(self) -> Iterator:
        raise NotImplementedError

    def _compute_element_spec(self) -> Any:
        raise NotImplementedError

    def _compute_cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _index_plan(self) -> Any:
        """An `IndexPlan` when the elements are rows of arrays picked by index, else None."""
        return None

    def _iter_elements_from(self, position: int) -> Iterator | None:
        """The elements from output position `position` on, without producing the ones before
        it (how a restored iterator resumes cheaply), or None when only a replay of the
        pipeline gets there. Over rows of arrays the position is a slice of the index stream."""
        plan = self._index_plan()
        if plan is None:
            return None
        from tapeflow.data.index_plan import slice_stream

        return plan.with_chunks(lambda: slice_stream(plan.chunks(), position, None)).elements()

    def _checkpoint_blocker(self) -> str | None:
        """Why an iterator through this node cannot be checkpointed (None: it can be replayed)."""
        return None

    # -- introspection ---------------------------------------------------------------------
    @property
    def element_spec(self) -> Any:
        """The structure of `tf.TensorSpec`s that describes every element."""
        if self._spec_cache is None:
            self._spec_cache = self._compute_element_spec()
        return self._spec_cache

    def cardinality(self) -> Tensor:
        """The number of elements as an int64 scalar tensor; `INFINITE_CARDINALITY` (-1) or
        `UNKNOWN_CARDINALITY` (-2) when it is infinite or cannot be known without iterating."""
        return Tensor(np.array(self._compute_cardinality(), np.int64))

    def __len__(self) -> int:
        n = self._compute_cardinality()
        if n == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self) -> bool:
        return True  # like TF: a dataset is truthy even when empty (`len` may be unknown)

    def __iter__(self) -> OwnedIterator:
        return OwnedIterator(self)

    def as_numpy_iterator(self) -> Iterator:
        """A `tf.data.NumpyIterator` over the elements as NumPy arrays (scalars for rank-0 components)."""
        from tapeflow.data.fixed_length import NumpyIterator

        return NumpyIterator(self)

    def options(self) -> Any:
        """The `tf.data.Options` in effect: those set with `with_options` here and upstream."""
        from tapeflow.data.options import Options, merged

        found = [d._own_options for d in _walk(self) if getattr(d, "_own_options", None) is not None]
        return merged(found) if found else Options()

    def get_single_element(self, name: str | None = None) -> Any:
        """The only element of a dataset of one element (ValueError otherwise)."""
        it = self._iter_elements()
        try:
            first = next(it)
        except StopIteration:
            raise ValueError("Dataset.get_single_element: the dataset is empty.") from None
        for _ in it:
            raise ValueError("Dataset.get_single_element: the dataset has more than one element.")
        return structure.to_tensors(first)

    # The class name TF's repr shows where it differs from `_<class name>` (e.g. "TextLineDatasetV2").
    _tf_repr: str | None = None

    def __repr__(self) -> str:
        return f"<{self._tf_repr or '_' + type(self).__name__} element_spec={self.element_spec}>"

    # -- sources ---------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors: Any, name: str | None = None) -> Dataset:
        """The rows of `tensors` (arrays, or tuples/dicts of arrays with the same first size)."""
        from tapeflow.data.sources import TensorSliceDataset

        if _has_ragged(tensors) or _has_sparse(tensors):
            from tapeflow.data.ragged import RaggedSliceDataset

            return RaggedSliceDataset(tensors, name)
        return TensorSliceDataset(tensors, name)

    @staticmethod
    def from_tensors(tensors: Any, name: str | None = None) -> Dataset:
        """A dataset of one element, `tensors` itself."""
        from tapeflow.data.sources import TensorDataset

        return TensorDataset(tensors, name)

    @staticmethod
    def from_generator(generator: Any, output_types: Any = None, output_shapes: Any = None,
                       args: Any = None, output_signature: Any = None, name: str | None = None) -> Dataset:
        """The elements a Python generator yields; `output_signature` gives their TensorSpecs.

        Args:
            generator: a callable returning an iterator (called again for every iteration),
                with `args` as its arguments.
            output_signature: the (nested) `tf.TensorSpec`s of the elements.
            output_types, output_shapes: the older way to give the signature.
        """
        from tapeflow.data.sources import GeneratorDataset

        return GeneratorDataset(generator, output_types, output_shapes, args, output_signature, name)

    @staticmethod
    def range(*args: Any, **kwargs: Any) -> Dataset:
        """`range(stop)`, `range(start, stop[, step])` as int64 scalars (`dtype=` to change)."""
        from tapeflow.data.sources import RangeDataset

        return RangeDataset(*args, **kwargs)

    @staticmethod
    def zip(*args: Any, datasets: Any = None, name: str | None = None) -> Dataset:
        """Elements of several datasets side by side (a tuple or dict of datasets)."""
        from tapeflow.data.combine import ZipDataset

        if datasets is not None and args:
            raise TypeError("Dataset.zip: give the datasets either positionally or as `datasets=`, "
                            "not both.")
        if datasets is None:
            datasets = args[0] if len(args) == 1 else args
        return ZipDataset(datasets, name)

    @staticmethod
    def sample_from_datasets(datasets: list, weights: Any = None, seed: int | None = None,
                             stop_on_empty_dataset: bool = False,
                             rerandomize_each_iteration: bool | None = None) -> Dataset:
        """Elements drawn at random from `datasets` with probabilities `weights`."""
        from tapeflow.data.combine import SampleDataset

        return SampleDataset(datasets, weights, seed, stop_on_empty_dataset, rerandomize_each_iteration)

    @staticmethod
    def choose_from_datasets(datasets: list, choice_dataset: Dataset,
                             stop_on_empty_dataset: bool = True) -> Dataset:
        """Elements taken from `datasets[i]` for each int64 `i` that `choice_dataset` yields."""
        from tapeflow.data.combine import ChooseDataset

        return ChooseDataset(datasets, choice_dataset, stop_on_empty_dataset)

    @staticmethod
    def list_files(file_pattern: Any, shuffle: bool | None = None, seed: int | None = None,
                   name: str | None = None) -> Dataset:
        """The file names (tf.string) matching a glob pattern or list of patterns; shuffled each
        iteration unless `shuffle=False` (then sorted)."""
        from tapeflow.data.text_files import list_files

        return list_files(file_pattern, shuffle, seed, name)

    @staticmethod
    def load(path: str, element_spec: Any = None, compression: str | None = None,
             reader_func: Any = None, wait: bool = False) -> Dataset:
        """A dataset written by `Dataset.save` at `path`."""
        from tapeflow.data.files import load

        return load(path, element_spec, compression, reader_func, wait)

    def save(self, path: str, compression: str | None = None, shard_func: Any = None,
             checkpoint_args: Any = None) -> None:
        """Write every element under the directory `path` (read back with `Dataset.load`)."""
        from tapeflow.data.files import save

        save(self, path, compression, shard_func, checkpoint_args)

    # -- element-wise transformations -------------------------------------------------------
    def map(self, map_func: Any, num_parallel_calls: int | None = None,
            deterministic: bool | None = None, name: str | None = None) -> Dataset:
        """`map_func` applied to every element (a tuple element is passed as separate arguments).

        Args:
            map_func: returns a tensor or a tuple/dict of tensors.
            num_parallel_calls: elements processed at once by background threads (`AUTOTUNE`:
                one per CPU); None runs the function in the consumer's thread.
            deterministic: False lets results come in completion order (parallel calls only).
        """
        from tapeflow.data.transforms import MapDataset

        if num_parallel_calls is None:
            return MapDataset(self, map_func, name)
        from tapeflow.data.parallel import ParallelMapDataset

        return ParallelMapDataset(self, map_func, num_parallel_calls, deterministic, name)

    def filter(self, predicate: Any, name: str | None = None) -> Dataset:
        """The elements for which `predicate` returns a True scalar."""
        from tapeflow.data.transforms import FilterDataset

        return FilterDataset(self, predicate, name)

    def enumerate(self, start: int = 0, name: str | None = None) -> Dataset:
        """`(index, element)` pairs, the index an int64 counting from `start`."""
        from tapeflow.data.combine import ZipDataset
        from tapeflow.data.sources import RangeDataset

        return ZipDataset((RangeDataset(start, np.iinfo(np.int64).max), self), name)

    def scan(self, initial_state: Any, scan_func: Any, name: str | None = None) -> Dataset:
        """Outputs of `scan_func(state, element) -> (new_state, output)` carried along the data."""
        from tapeflow.data.transforms import ScanDataset

        return ScanDataset(self, initial_state, scan_func, name)

    def reduce(self, initial_state: Any, reduce_func: Any, name: str | None = None) -> Any:
        """The state after `reduce_func(state, element)` has seen every element."""
        from tapeflow.data.transforms import reduce

        return reduce(self, initial_state, reduce_func)

    def unique(self, name: str | None = None) -> Dataset:
        """The elements (scalars of an integer dtype) without repeats, in first-seen order."""
        from tapeflow.data.transforms import UniqueDataset

        return UniqueDataset(self, name)

    def ignore_errors(self, log_warning: bool = False, name: str | None = None) -> Dataset:
        """The elements whose production raised no error (errors are dropped, or logged)."""
        from tapeflow.data.transforms import IgnoreErrorsDataset

        return IgnoreErrorsDataset(self, log_warning, name)

    def apply(self, transformation_func: Any) -> Dataset:
        """`transformation_func(self)`, which must return a Dataset (for chaining)."""
        out = transformation_func(self)
        if not isinstance(out, Dataset):
            raise TypeError("Dataset.apply: `transformation_func` must return a Dataset, returned "
                            f"{type(out).__name__}.")
        return out

    # -- order, count and selection ----------------------------------------------------------
    def shuffle(self, buffer_size: int, seed: int | None = None,
                reshuffle_each_iteration: bool = True, name: str | None = None) -> Dataset:
        """Elements in random order, drawn from a buffer of `buffer_size` upcoming elements."""
        from tapeflow.data.order import ShuffleDataset

        return ShuffleDataset(self, buffer_size, seed, reshuffle_each_iteration, name)

    def repeat(self, count: int | None = None, name: str | None = None) -> Dataset:
        """The dataset `count` times (None or -1: forever)."""
        from tapeflow.data.order import RepeatDataset

        return RepeatDataset(self, count, name)

    def take(self, count: int, name: str | None = None) -> Dataset:
        """The first `count` elements (-1: all)."""
        from tapeflow.data.order import TakeDataset

        return TakeDataset(self, count, name)

    def skip(self, count: int, name: str | None = None) -> Dataset:
        """All but the first `count` elements (-1: none)."""
        from tapeflow.data.order import SkipDataset

        return SkipDataset(self, count, name)

    def take_while(self, predicate: Any, name: str | None = None) -> Dataset:
        """Elements up to (not including) the first for which `predicate` is False."""
        from tapeflow.data.transforms import TakeWhileDataset

        return TakeWhileDataset(self, predicate, name)

    def shard(self, num_shards: int, index: int, name: str | None = None) -> Dataset:
        """Every `num_shards`-th element, starting at `index`."""
        from tapeflow.data.order import ShardDataset

        return ShardDataset(self, num_shards, index, name)

    def concatenate(self, dataset: Dataset, name: str | None = None) -> Dataset:
        """This dataset's elements followed by `dataset`'s (same structure and dtypes)."""
        from tapeflow.data.combine import ConcatenateDataset

        return ConcatenateDataset(self, dataset, name)

    # -- batching ----------------------------------------------------------------------------
    def batch(self, batch_size: int, drop_remainder: bool = False, num_parallel_calls: int | None = None,
              deterministic: bool | None = None, name: str | None = None) -> Dataset:
        """Consecutive elements stacked into batches of `batch_size` (the last may be smaller).

        Rows of arrays (`from_tensor_slices`, also shuffled or repeated) are gathered with one
        index per batch instead of being stacked element by element. With
        `num_parallel_calls`, batches are assembled by background threads.
        """
        from tapeflow.data.batching import BatchDataset

        if _has_ragged(self.element_spec):
            from tapeflow.data.ragged import RaggedBatchDataset

            return RaggedBatchDataset(self, batch_size, drop_remainder, dense_to_ragged=False,
                                      name=name)
        ds = BatchDataset(self, batch_size, drop_remainder, name)
        if num_parallel_calls is None:
            return ds
        from tapeflow.data.parallel import parallel_batch

        return parallel_batch(ds, num_parallel_calls, deterministic)

    def padded_batch(self, batch_size: int, padded_shapes: Any = None, padding_values: Any = None,
                     drop_remainder: bool = False, name: str | None = None) -> Dataset:
        """Batches of elements padded to a common shape (`padded_shapes`, None dims: the longest)."""
        from tapeflow.data.batching import PaddedBatchDataset

        return PaddedBatchDataset(self, batch_size, padded_shapes, padding_values, drop_remainder, name)

    def ragged_batch(self, batch_size: int, drop_remainder: bool = False,
                     row_splits_dtype: Any = "int64", name: str | None = None) -> Dataset:
        """Batches whose components of varying shape become RaggedTensors (one row per element)."""
        from tapeflow.data.ragged import RaggedBatchDataset

        return RaggedBatchDataset(self, batch_size, drop_remainder, row_splits_dtype, name=name)

    def rejection_resample(self, class_func: Any, target_dist: Any, initial_dist: Any = None,
                           seed: int | None = None, name: str | None = None) -> Dataset:
        """`(class, element)` pairs resampled (by rejection, mixed with the original data) so
        that `class_func`'s classes follow `target_dist` (see `tapeflow.data.resample`)."""
        from tapeflow.data.resample import rejection_resample

        return rejection_resample(self, class_func, target_dist, initial_dist, seed, name)

    def unbatch(self, name: str | None = None) -> Dataset:
        """The rows of every element (the inverse of `batch`)."""
        from tapeflow.data.batching import UnbatchDataset

        return UnbatchDataset(self, name)

    def rebatch(self, batch_size: int, drop_remainder: bool = False, name: str | None = None) -> Dataset:
        """The rows of a batched dataset regrouped into batches of `batch_size`."""
        from tapeflow.data.batching import RebatchDataset

        return RebatchDataset(self, batch_size, drop_remainder, name)

    def window(self, size: int, shift: int | None = None, stride: int = 1,
               drop_remainder: bool = False, name: str | None = None) -> Dataset:
        """A dataset of windows, each a dataset (or structure of datasets) of `size` elements."""
        from tapeflow.data.windows import WindowDataset

        return WindowDataset(self, size, shift, stride, drop_remainder, name)

    def group_by_window(self, key_func: Any, reduce_func: Any, window_size: int | None = None,
                        window_size_func: Any = None, name: str | None = None) -> Dataset:
        """Elements grouped by `key_func` into windows that `reduce_func(key, window)` turns
        into datasets, which are then flattened."""
        from tapeflow.data.windows import GroupByWindowDataset

        return GroupByWindowDataset(self, key_func, reduce_func, window_size, window_size_func, name)

    def bucket_by_sequence_length(self, element_length_func: Any, bucket_boundaries: list,
                                  bucket_batch_sizes: list, padded_shapes: Any = None,
                                  padding_values: Any = None, pad_to_bucket_boundary: bool = False,
                                  no_padding: bool = False, drop_remainder: bool = False,
                                  name: str | None = None) -> Dataset:
        """Padded batches of elements of similar length (buckets split at `bucket_boundaries`)."""
        from tapeflow.data.windows import bucket_by_sequence_length

        return bucket_by_sequence_length(self, element_length_func, bucket_boundaries,
                                         bucket_batch_sizes, padded_shapes, padding_values,
                                         pad_to_bucket_boundary, no_padding, drop_remainder)

    # -- nesting, caching, threads -------------------------------------------------------------
    def flat_map(self, map_func: Any, name: str | None = None) -> Dataset:
        """The elements of the datasets `map_func` returns for each element, one after another."""
        from tapeflow.data.combine import InterleaveDataset

        ds = InterleaveDataset(self, map_func, 1, 1, name, what="Dataset.flat_map")
        ds._tf_repr = "_FlatMapDataset"
        return ds

    def interleave(self, map_func: Any, cycle_length: int | None = None, block_length: int | None = None,
                   num_parallel_calls: int | None = None, deterministic: bool | None = None,
                   name: str | None = None) -> Dataset:
        """Elements of the datasets `map_func` returns, taken `block_length` at a time from
        `cycle_length` of them in turn; with `num_parallel_calls`, read by background threads."""
        from tapeflow.data.combine import InterleaveDataset

        ds = InterleaveDataset(self, map_func, cycle_length, block_length, name)
        if num_parallel_calls is None:
            return ds
        from tapeflow.data.parallel import parallel_interleave

        return parallel_interleave(ds, num_parallel_calls, deterministic)

    def cache(self, filename: str = "", name: str | None = None) -> Dataset:
        """Elements kept after the first full pass: in memory, or in files at `filename`."""
        from tapeflow.data.files import CacheDataset

        return CacheDataset(self, filename, name)

    def prefetch(self, buffer_size: int, name: str | None = None) -> Dataset:
        """Elements produced ahead of the consumer by a background thread (at most
        `buffer_size` waiting; `AUTOTUNE` picks the size)."""
        from tapeflow.data.parallel import PrefetchDataset

        return PrefetchDataset(self, buffer_size, name)

    def with_options(self, options: Any, name: str | None = None) -> Dataset:
        """This dataset with `tf.data.Options` applied (merged with those already set)."""
        from tapeflow.data.options import OptionsDataset

        return OptionsDataset(self, options, name)


def _walk(dataset: Dataset) -> Iterator:
    """Every node of the pipeline, `dataset` last."""
    for d in dataset._inputs:
        yield from _walk(d)
    yield dataset


def check_dataset(value: Any, what: str) -> Dataset:
    """`value` if it is a Dataset, else a TypeError naming `what`."""
    if not isinstance(value, Dataset):
        raise TypeError(f"{what}: expected a tf.data.Dataset, received {type(value).__name__}.")
    return value


def check_count(value: Any, what: str, minimum: int) -> int:
    """A Python int (or int tensor) >= `minimum`, else ValueError naming `what`."""
    if isinstance(value, Tensor):
        value = value.numpy()
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an integer, received {type(value).__name__} {value!r}.")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, received {value}.")
    return value


DatasetIterator = OwnedIterator  # the older Tapeflow name

"""`tf.data.experimental`: the commonly used names (most are older spellings of Dataset methods)."""

from __future__ import annotations

from typing import Any

from tapeflow.data.csv_reader import make_csv_dataset
from tapeflow.data.dataset import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset
from tapeflow.data.experimental_more import (
    SHARD_HINT,
    Reducer,
    at,
    from_list,
    get_structure,
    group_by_reducer,
    pad_to_cardinality,
    parse_example_dataset,
)
from tapeflow.data.optional import Optional
from tapeflow.data.options import (
    AutoShardPolicy,
    AutotuneOptions,
    DistributeOptions,
    ExternalStatePolicy,
    ThreadingOptions,
)
from tapeflow.data.text_files import CsvDataset
from tapeflow.data.tfrecord import TFRecordWriter
from tapeflow.tensor import Tensor

__all__ = [
    "CsvDataset", "make_csv_dataset", "SHARD_HINT", "Reducer", "at", "from_list", "get_structure", "group_by_reducer",
    "pad_to_cardinality", "parse_example_dataset",
    "AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "AutoShardPolicy", "AutotuneOptions",
    "DistributeOptions", "ExternalStatePolicy", "Optional", "TFRecordWriter",
    "ThreadingOptions", "Counter", "assert_cardinality", "bucket_by_sequence_length",
    "cardinality", "choose_from_datasets", "dense_to_ragged_batch", "enumerate_dataset", "get_next_as_optional",
    "get_single_element", "group_by_window",
    "ignore_errors", "load", "make_saveable_from_iterator", "rejection_resample",
    "map_and_batch", "sample_from_datasets", "save", "scan",
    "shuffle_and_repeat", "take_while", "unbatch", "unique",
]


def cardinality(dataset: Dataset) -> Tensor:
    """`dataset.cardinality()`."""
    return dataset.cardinality()


def assert_cardinality(expected_cardinality: int) -> Any:
    """A transformation checking, while iterating, that the dataset has exactly this many elements."""
    from tapeflow.data.checks import AssertCardinalityDataset

    return lambda dataset: AssertCardinalityDataset(dataset, expected_cardinality)


def Counter(start: int = 0, step: int = 1, dtype: Any = "int64", name: str | None = None) -> Dataset:  # noqa: N802
    """An infinite dataset counting `start, start + step, ...`."""
    from tapeflow.data.checks import CounterDataset

    return CounterDataset(start, step, dtype, name)


def sample_from_datasets(datasets: list, weights: Any = None, seed: int | None = None,
                         stop_on_empty_dataset: bool = False) -> Dataset:
    return Dataset.sample_from_datasets(datasets, weights, seed, stop_on_empty_dataset)


def choose_from_datasets(datasets: list, choice_dataset: Dataset, stop_on_empty_dataset: bool = True) -> Dataset:
    return Dataset.choose_from_datasets(datasets, choice_dataset, stop_on_empty_dataset)


def save(dataset: Dataset, path: str, compression: str | None = None, shard_func: Any = None,
         checkpoint_args: Any = None) -> None:
    dataset.save(path, compression, shard_func, checkpoint_args)


def load(path: str, element_spec: Any = None, compression: str | None = None, reader_func: Any = None,
         wait: bool = False) -> Dataset:
    return Dataset.load(path, element_spec, compression, reader_func, wait)


def get_next_as_optional(iterator: Any) -> Optional:
    """`iterator.get_next_as_optional()` (TF's deprecated spelling)."""
    return iterator.get_next_as_optional()


def get_single_element(dataset: Dataset) -> Any:
    return dataset.get_single_element()


def enumerate_dataset(start: int = 0) -> Any:
    return lambda dataset: dataset.enumerate(start)


def ignore_errors(log_warning: bool = False) -> Any:
    return lambda dataset: dataset.ignore_errors(log_warning)


def unbatch() -> Any:
    return lambda dataset: dataset.unbatch()


def dense_to_ragged_batch(batch_size: int, drop_remainder: bool = False, row_splits_dtype: Any = "int64") -> Any:
    """The transformation `dataset.ragged_batch(...)` (TF's older spelling, for `apply`)."""
    return lambda dataset: dataset.ragged_batch(batch_size, drop_remainder, row_splits_dtype)


def unique() -> Any:
    return lambda dataset: dataset.unique()


def scan(initial_state: Any, scan_func: Any) -> Any:
    return lambda dataset: dataset.scan(initial_state, scan_func)


def take_while(predicate: Any) -> Any:
    return lambda dataset: dataset.take_while(predicate)


def rejection_resample(class_func: Any, target_dist: Any, initial_dist: Any = None, seed: int | None = None) -> Any:
    """`Dataset.rejection_resample` as a transformation for `Dataset.apply` (TF's older spelling)."""
    return lambda ds: ds.rejection_resample(class_func, target_dist, initial_dist, seed)


def shuffle_and_repeat(buffer_size: int, count: int | None = None, seed: int | None = None) -> Any:
    return lambda dataset: dataset.shuffle(buffer_size, seed).repeat(count)


def group_by_window(key_func: Any, reduce_func: Any, window_size: int | None = None,
                    window_size_func: Any = None) -> Any:
    return lambda dataset: dataset.group_by_window(key_func, reduce_func, window_size, window_size_func)


def bucket_by_sequence_length(element_length_func: Any, bucket_boundaries: list, bucket_batch_sizes: list,
                              padded_shapes: Any = None, padding_values: Any = None,
                              pad_to_bucket_boundary: bool = False, no_padding: bool = False,
                              drop_remainder: bool = False) -> Any:
    return lambda dataset: dataset.bucket_by_sequence_length(
        element_length_func, bucket_boundaries, bucket_batch_sizes, padded_shapes, padding_values,
        pad_to_bucket_boundary, no_padding, drop_remainder)


def map_and_batch(map_func: Any, batch_size: int, num_parallel_batches: int | None = None,
                  drop_remainder: bool = False, num_parallel_calls: int | None = None) -> Any:
    """`map(map_func)` then `batch(batch_size)` (the parallelism goes to the map)."""
    parallel = num_parallel_calls if num_parallel_calls is not None else num_parallel_batches
    return lambda dataset: dataset.map(map_func, num_parallel_calls=parallel).batch(
        batch_size, drop_remainder=drop_remainder)



def make_saveable_from_iterator(iterator: Any, external_state_policy: Any = None) -> Any:
    """TF 1's saveable object of a graph iterator (`tf.compat.v1.data.make_one_shot_iterator` /
    `make_initializable_iterator`), for `tf.compat.v1.train.Saver`: add it to the
    `SAVEABLE_OBJECTS` collection (or `var_list`) and the saver keeps the iterator's position.
    Deprecated in TF, as TF 2 saves iterators with `tf.train.Checkpoint(iterator=it)`; TF 2.21
    answers an eager iterator with an AttributeError, and so does this.

    Raises:
        ValueError: `external_state_policy` is not 'warn', 'ignore', 'fail' or an
            `ExternalStatePolicy` (TF's message).
        AttributeError: for an eager iterator or anything else that is not a graph iterator.
    """
    from tapeflow.data.iterator import Iterator

    policy = "fail" if external_state_policy is None else external_state_policy
    if not isinstance(policy, ExternalStatePolicy) and policy not in ("warn", "ignore", "fail"):
        raise ValueError("Invalid `ExternalStatePolicy.` Supported values include 'warn', 'ignore', and "
                         f"'fail.' Received {policy}.")
    if not isinstance(policy, ExternalStatePolicy):
        policy = ExternalStatePolicy[policy.upper()]
    make = getattr(iterator, "_make_saveable", None)
    if make is not None:  # a TF 1 graph iterator (tf.compat.v1.data)
        return make(policy)
    if not isinstance(iterator, Iterator):
        raise AttributeError(f"'{type(iterator).__name__}' object has no attribute '_iterator_resource'")
    raise AttributeError(
        "Tensor.name is undefined when eager execution is enabled. (make_saveable_from_iterator makes "
        "a tf.compat.v1.train.Saver saveable of a TF 1 graph iterator; save an eager iterator with "
        "tf.train.Checkpoint(iterator=it), as TF 2 says.)")

"""`Dataset.rejection_resample`: reshape a dataset's class distribution to a target one.

Built from other dataset transformations exactly as TF builds it: each element is accepted
with its class's probability `a_i = (t_i/p_i - m) / (max_i t_i/p_i - m)`, and the result mixes
the untouched dataset (with probability `m = min_i t_i/p_i`) with the filtered one. Without
`initial_dist`, `p` is estimated as the data streams by (class counts smoothed by 10 per class,
updated every 32 elements). Elements come out as `(class, element)` pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.data.dataset import Dataset

_ESTIMATION_BATCH = 32
_SMOOTHING = 10


def _acceptance_and_mixing(initial: Any, target: Any) -> tuple:
    """(per-class acceptance probabilities, probability of drawing from the original data)."""
    import tapeflow as tf

    ratio = target / (initial + np.finfo(np.float32).tiny)
    top, m = tf.reduce_max(ratio), tf.reduce_min(ratio)
    return (ratio - m) / (top - m), m


def _estimate_initial_dist(target: Any, class_values: Dataset) -> Dataset:
    """A dataset of running class-distribution estimates, one per element of `class_values`."""
    import tapeflow as tf

    num_classes = int(target.shape[0])

    def update(seen: Any, classes: Any) -> tuple:
        seen = seen + tf.reduce_sum(tf.one_hot(classes, num_classes, dtype=tf.int64), 0)
        dist = tf.cast(seen / tf.reduce_sum(seen), tf.float32)
        return seen, tf.tile(tf.expand_dims(dist, 0), [_ESTIMATION_BATCH, 1])

    start = tf.fill([num_classes], np.int64(_SMOOTHING))
    return class_values.batch(_ESTIMATION_BATCH).scan(start, update).unbatch()


def _filtered(dataset: Dataset, acceptance: Dataset, class_func: Any, seed: int | None) -> Dataset:
    import tapeflow as tf

    def gather(accept: Any, data: Any) -> tuple:
        cls = class_func(*data) if isinstance(data, tuple) else class_func(data)
        return cls, tf.gather(accept, cls), data

    def keep(cls: Any, p: Any, data: Any) -> Any:
        return tf.random.uniform([], seed=seed, dtype=p.dtype) < p

    return (Dataset.zip((acceptance, dataset)).map(gather).filter(keep)
            .map(lambda cls, p, data: (cls, data)))


def rejection_resample(dataset: Dataset, class_func: Any, target_dist: Any, initial_dist: Any = None,
                       seed: int | None = None, name: str | None = None) -> Dataset:
    """`(class, element)` pairs of `dataset` resampled so that classes follow `target_dist`.

    Args:
        class_func: maps an element to its scalar int32 class in `[0, num_classes)`.
        target_dist: the wanted class probabilities, shape `[num_classes]`.
        initial_dist: the dataset's class probabilities (estimated while streaming when None).
        seed: seeds the acceptance draws and the mixing.
    """
    import tapeflow as tf

    target = tf.cast(tf.convert_to_tensor(target_dist), tf.float32)
    if initial_dist is not None:
        initial = tf.cast(tf.convert_to_tensor(initial_dist), tf.float32)
        with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 when target == initial (then unused)
            accept, m = _acceptance_and_mixing(initial, target)
        initial_ds = Dataset.from_tensors(initial).repeat()
        accept_ds = Dataset.from_tensors(accept).repeat()
        original_prob_ds = Dataset.from_tensors(m).repeat()
        static = float(np.min(target.numpy() / initial.numpy()))
    else:
        initial_ds = _estimate_initial_dist(target, dataset.map(class_func))
        both = initial_ds.map(lambda p: _acceptance_and_mixing(p, target))
        accept_ds = both.map(lambda a, _: a)
        original_prob_ds = both.map(lambda _, m: m)
        static = None
    del initial_ds  # (TF zips it in only to log a warning when most elements are rejected)
    filtered = _filtered(dataset, accept_ds, class_func, seed).prefetch(3)

    def add_class_value(*x: Any) -> tuple:
        return (class_func(*x), x[0]) if len(x) == 1 else (class_func(*x), x)

    if static == 1:
        return dataset.map(add_class_value)
    if static == 0:
        return filtered
    return Dataset.sample_from_datasets(
        [dataset.map(add_class_value), filtered],
        weights=original_prob_ds.map(lambda p: [(p, 1.0 - p)]), seed=seed, stop_on_empty_dataset=True)

"""`keras.utils.text_dataset_from_directory`: `.txt` files under class folders as a dataset of
`(text, label)` batches, the texts read (and cut to `max_length` bytes) on each iteration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow import data as _data
from tapeflow.keras.utils.image_dataset import check_split, index_directory, split_subset
from tapeflow.tracing.spec import TensorSpec

_LABEL_MODES = ("int", "categorical", "binary", None)


def _read(path: str, max_length: int | None) -> np.ndarray:
    with open(path, "rb") as f:
        text = f.read() if max_length is None else f.read(max_length)
    out = np.empty((), dtype=object)
    out[()] = text
    return out


def _labels(index: np.ndarray, label_mode: str, num_classes: int) -> tuple[np.ndarray, TensorSpec]:
    if label_mode == "int":
        return index.astype(np.int32), TensorSpec((), "int32")
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[index], TensorSpec((num_classes,), "float32")
    return index.astype(np.float32)[:, None], TensorSpec((1,), "float32")


def _texts_dataset(paths: list, index: np.ndarray, label_mode: str | None, num_classes: int,
                   max_length: int | None, shuffle: bool, buffer_size: int, seed: int | None) -> Any:
    text_spec = TensorSpec((), "string")
    if label_mode is None:
        ds = _data.Dataset.from_generator(lambda: (_read(p, max_length) for p in paths), output_signature=text_spec)
    else:
        values, label_spec = _labels(index, label_mode, num_classes)

        def generate() -> Iterator:
            for p, label in zip(paths, values, strict=True):
                yield _read(p, max_length), label

        ds = _data.Dataset.from_generator(generate, output_signature=(text_spec, label_spec))
    ds = ds.apply(_data.experimental.assert_cardinality(len(paths)))
    if shuffle:
        ds = ds.shuffle(buffer_size=buffer_size, seed=seed)
    return ds


def text_dataset_from_directory(directory: str, labels: Any = "inferred", label_mode: str | None = "int",
                                class_names: list | None = None, batch_size: int | None = 32,
                                max_length: int | None = None, shuffle: bool = True, seed: int | None = None,
                                validation_split: float | None = None, subset: str | None = None,
                                follow_links: bool = False, format: str = "tf",  # noqa: A002
                                verbose: bool = True) -> Any:
    """A `tf.data.Dataset` of `(texts, labels)` batches from `directory/<class>/<file>.txt`.

    Args:
        directory: the folder; with `labels="inferred"` one subfolder per class (sorted names).
        labels: "inferred", None (texts only) or a list of int labels in sorted file order.
        label_mode: "int" (int32), "categorical" (one-hot float32), "binary" (float32 `(1,)`) or None.
        class_names: the class folders to use, in label order (with `labels="inferred"`).
        batch_size: texts per batch (None: single texts).
        max_length: keep at most this many bytes of each text.
        shuffle, seed: shuffle the files (once, as Keras: NumPy's RandomState(seed)) and the
            elements (each epoch).
        validation_split, subset: hold out the last fraction of the files; `subset` is
            "training", "validation" or "both" (returns the two datasets).
        follow_links: descend into symlinked folders.
        format: "tf" (a tf.data.Dataset; Keras's "grain" needs the grain package, not supported).

    Returns:
        The dataset (two for `subset="both"`) of tf.string texts, with `class_names`.
    """
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "`labels` argument should be a list/tuple of integer labels, of the same size as the number of "
                "text files in the target directory. If you wish to infer the labels from the subdirectory names "
                'in the target directory, pass `labels="inferred"`. If you wish to get a dataset that only '
                f"contains text samples (no labels), pass `labels=None`. Received: labels={labels}")
        if class_names:
            raise ValueError(f'You can only pass `class_names` if `labels="inferred"`. Received: labels={labels}, '
                             f"and class_names={class_names}")
    if label_mode not in _LABEL_MODES:
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or None. '
                         f"Received: label_mode={label_mode}")
    if format != "tf":
        if format == "grain":
            raise ValueError('text_dataset_from_directory: format="grain" needs the grain package, which Tapeflow '
                             'does not support; use format="tf".')
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    check_split(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = int(np.random.randint(1e6))
    paths, index, names = index_directory(directory, labels, (".txt",), class_names, shuffle, seed, follow_links,
                                          "text_dataset_from_directory", verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 class_names. Received: '
                         f"class_names={names}")
    buffer_size = batch_size * 8 if batch_size is not None else 1024

    def make(subset_name: str | None, shuffled: bool, kind: str) -> Any:
        sub_paths, sub_index = split_subset([paths, index], validation_split, subset_name, verbose)
        if not len(sub_paths):
            raise ValueError(f"No {kind}text files found in directory {directory}. Allowed format: .txt")
        ds = _texts_dataset(list(sub_paths), np.asarray(sub_index), label_mode, len(names) if names else 0,
                            max_length, shuffled, buffer_size, seed)
        if batch_size is not None:
            ds = ds.batch(batch_size)
        ds = ds.prefetch(_data.AUTOTUNE)
        ds.class_names = names if labels is not None else None
        return ds

    if subset == "both":
        return [make("training", shuffle, "training "), make("validation", False, "validation ")]
    return make(subset, shuffle, "")

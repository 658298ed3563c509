"""MNIST for the TF1 tutorials: `input_data.read_data_sets(folder, one_hot=True)`.

Reads the four canonical IDX files (`train-images-idx3-ubyte.gz`, ...) from `train_dir`, or
from `$TAPEFLOW_DATA_DIR/mnist` when `train_dir` does not hold them; nothing is downloaded.
Images become float32 in [0, 1], flattened to 784 values (with `reshape=True`); labels are
class indices (uint8) or one-hot rows. `DataSet.next_batch` walks shuffled epochs like TF1's.

Example:
    >>> from tapeflow.examples.tutorials.mnist import input_data
    >>> mnist = input_data.read_data_sets("MNIST_data", one_hot=True)
    >>> xb, yb = mnist.train.next_batch(100)
    >>> xb.shape, yb.shape
    ((100, 784), (100, 10))
"""

from __future__ import annotations

import collections
import os
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])


def dense_to_one_hot(labels_dense: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Class indices (N,) to one-hot rows (N, num_classes), float64 as in TF1."""
    labels_dense = np.asarray(labels_dense).reshape(-1).astype(np.int64)
    out = np.zeros((labels_dense.shape[0], num_classes))
    out[np.arange(labels_dense.shape[0]), labels_dense] = 1.0
    return out


def _read_idx(path: str) -> np.ndarray:
    from tapeflow.keras.datasets._formats import read_idx

    return read_idx(path)


def extract_images(path: str) -> np.ndarray:
    """The images of an IDX file as uint8 (N, rows, cols, 1)."""
    data = _read_idx(path)
    if data.ndim != 3 or data.dtype != np.uint8:
        raise ValueError(
            f"{path!r} does not hold MNIST images: found {data.dtype} array of shape {data.shape}."
        )
    return data[..., None]


def extract_labels(path: str, one_hot: bool = False, num_classes: int = 10) -> np.ndarray:
    """The labels of an IDX file: uint8 (N,), or one-hot (N, num_classes)."""
    data = _read_idx(path)
    if data.ndim != 1:
        raise ValueError(f"{path!r} does not hold MNIST labels: found an array of shape {data.shape}.")
    return dense_to_one_hot(data, num_classes) if one_hot else data


class DataSet:
    """Images and labels with `next_batch` over shuffled epochs (TF1's MNIST `DataSet`).

    Args:
        images: uint8 (N, rows, cols, 1) images, or already-flat (N, rows*cols) ones.
        labels: (N,) class indices or (N, classes) one-hot rows.
        dtype: float32 (pixels scaled to [0, 1]) or uint8 (kept as 0-255).
        reshape: flatten each image to rows*cols values.
        seed: seed of the shuffling (default: unseeded).
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, fake_data: bool = False, one_hot: bool = False,
                 dtype: Any = _dt.float32, reshape: bool = True, seed: int | None = None) -> None:
        dt = _dt.as_dtype(dtype)
        if dt not in (_dt.uint8, _dt.float32):
            raise TypeError(f"DataSet: invalid image dtype {dt.name}, expected uint8 or float32.")
        self._epochs_completed = 0
        self._index_in_epoch = 0
        self._rng = np.random.default_rng(seed)
        if fake_data:
            # TF1's test double: 10,000 examples, every batch made of all-ones images.
            self._images, self._labels = images, labels
            self._num_examples = 10000
            self.one_hot = one_hot
            return
        images, labels = np.asarray(images), np.asarray(labels)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"DataSet: images.shape {images.shape} and labels.shape {labels.shape} differ in length."
            )
        if reshape and images.ndim == 4:
            if images.shape[3] != 1:
                raise ValueError(
                    f"DataSet: reshape needs single-channel images, received shape {images.shape}."
                )
            images = images.reshape(images.shape[0], images.shape[1] * images.shape[2])
        if dt == _dt.float32:
            # NOTE: scaled in float32 (multiplying by 1/255 like TF1), never through float64.
            images = images.astype(np.float32)
            images *= np.float32(1.0 / 255.0)
        self._images = images
        self._labels = labels
        self._num_examples = images.shape[0]

    @property
    def images(self) -> np.ndarray:
        return self._images

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    @property
    def num_examples(self) -> int:
        return self._num_examples

    @property
    def epochs_completed(self) -> int:
        return self._epochs_completed

    def _shuffle(self) -> None:
        perm = self._rng.permutation(self._num_examples)
        self._images = self._images[perm]
        self._labels = self._labels[perm]

    def next_batch(self, batch_size: int, fake_data: bool = False, shuffle: bool = True) -> tuple:
        """The next `batch_size` examples as (images, labels).

        The data are shuffled before the first epoch and at every epoch boundary (with
        `shuffle`); a batch that crosses the boundary ends the old epoch and starts the new one.
        With `fake_data` (TF1's test double) the batch is `batch_size` lists of 784 ones and
        labels 0 (one-hot: [1, 0, ..., 0]), as Python lists.
        """
        if fake_data:
            image = [1] * 784
            label = [1] + [0] * 9 if getattr(self, "one_hot", False) else 0
            return [image for _ in range(batch_size)], [label for _ in range(batch_size)]
        start = self._index_in_epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:
            self._shuffle()
        end = start + batch_size
        if end <= self._num_examples:
            self._index_in_epoch = end
            return self._images[start:end], self._labels[start:end]
        # The batch crosses the end of the epoch: the rest of this one, then the new one's start.
        self._epochs_completed += 1
        rest_images = self._images[start:]
        rest_labels = self._labels[start:]
        if shuffle:
            self._shuffle()
        need = batch_size - rest_images.shape[0]
        self._index_in_epoch = need
        return (np.concatenate([rest_images, self._images[:need]], axis=0),
                np.concatenate([rest_labels, self._labels[:need]], axis=0))


def _folder_with_files(train_dir: str | None) -> str:
    candidates = []
    if train_dir:
        candidates.append(os.path.expanduser(train_dir))
    env = os.environ.get("TAPEFLOW_DATA_DIR")
    if env:
        candidates.append(os.path.join(env, "mnist"))
    for folder in candidates:
        if all(os.path.isfile(os.path.join(folder, f)) for f in _FILES):
            return folder
    tried = " or ".join(repr(c) for c in candidates) or "(no folder given)"
    raise FileNotFoundError(
        f"read_data_sets: the MNIST IDX files {', '.join(_FILES)} were not found in {tried}. Put them "
        "in the folder you pass, or set TAPEFLOW_DATA_DIR to a folder whose 'mnist/' holds them "
        "(Tapeflow does not download them here)."
    )


def read_data_sets(train_dir: str | None, fake_data: bool = False, one_hot: bool = False,
                   dtype: Any = _dt.float32, reshape: bool = True, validation_size: int = 5000,
                   seed: int | None = None, source_url: Any = None) -> Datasets:
    """The MNIST train / validation / test `DataSet`s, read from local IDX files.

    Args:
        train_dir: the folder holding the four `.gz` IDX files (else `$TAPEFLOW_DATA_DIR/mnist`).
        one_hot: labels as one-hot rows (float64) instead of class indices (uint8).
        dtype: float32 (pixels in [0, 1]) or uint8.
        reshape: flatten images to 784 values.
        validation_size: the first this-many training images form the validation set.
        seed: shuffling seed.

    Returns:
        `Datasets(train, validation, test)` with 55000 / 5000 / 10000 examples by default.

    Raises:
        FileNotFoundError: the files are in neither folder (the message names both).
        ValueError: `validation_size` is outside [0, number of training images].
    """
    if fake_data:
        def fake() -> DataSet:
            return DataSet([], [], fake_data=True, one_hot=one_hot, dtype=dtype, seed=seed)

        return Datasets(train=fake(), validation=fake(), test=fake())
    folder = _folder_with_files(train_dir)
    train_images = extract_images(os.path.join(folder, TRAIN_IMAGES))
    train_labels = extract_labels(os.path.join(folder, TRAIN_LABELS), one_hot=one_hot)
    test_images = extract_images(os.path.join(folder, TEST_IMAGES))
    test_labels = extract_labels(os.path.join(folder, TEST_LABELS), one_hot=one_hot)
    if not 0 <= validation_size <= len(train_images):
        raise ValueError(
            f"Validation size should be between 0 and {len(train_images)}. Received: {validation_size}."
        )
    options = dict(dtype=dtype, reshape=reshape, seed=seed)
    train = DataSet(train_images[validation_size:], train_labels[validation_size:], **options)
    validation = DataSet(train_images[:validation_size], train_labels[:validation_size], **options)
    test = DataSet(test_images, test_labels, **options)
    return Datasets(train=train, validation=validation, test=test)


def load_mnist(train_dir: str = "MNIST-data") -> Datasets:
    """`read_data_sets(train_dir)` (TF1's shorthand)."""
    return read_data_sets(train_dir)

"""Shared CIFAR reader: python-version batches parsed with a restricted unpickler (no code runs)."""

from __future__ import annotations

import os

import numpy as np

from tapeflow.keras.datasets._formats import DatasetFileError, load_pickle

__all__ = ["find_batches_dir", "load_batch", "to_image_layout"]


def load_batch(fpath: str | os.PathLike, label_key: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR python-version batch file.

    The batches are Python pickles; they are read with `RestrictedUnpickler`, which rebuilds only
    builtin containers and numeric NumPy arrays and refuses every other global, so a tampered
    file cannot run code.

    Args:
        fpath: the batch file (`data_batch_1`, `test_batch`, `train`, `test`, ...).
        label_key: `"labels"` (CIFAR-10), `"fine_labels"` or `"coarse_labels"` (CIFAR-100).

    Returns:
        `(data, labels)`: uint8 images `(N, 3, 32, 32)` (channels first, as stored) and the labels
        as stored (a list of ints).
    """
    fpath = os.fspath(fpath)
    batch = load_pickle(fpath, encoding="bytes")
    if not isinstance(batch, dict):
        raise DatasetFileError(f"{fpath!r} holds a {type(batch).__name__}, not a CIFAR batch dict.")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or label_key not in batch:
        raise DatasetFileError(f"{fpath!r} has no 'data' / {label_key!r} entries (found {sorted(batch)}).")
    data, labels = batch["data"], batch[label_key]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise DatasetFileError(
            f"{fpath!r}: 'data' is {type(data).__name__} {shape}, expected uint8 (N, 3072)."
        )
    if len(labels) != len(data):
        raise DatasetFileError(f"{fpath!r}: {len(data)} images but {len(labels)} labels.")
    return data.reshape(len(data), 3, 32, 32), labels


def find_batches_dir(root: str, inner: str) -> str | None:
    """The folder holding extracted batches in a Keras 3 (`<inner>-target/<inner>`) or tf.keras
    2 (`<inner>`) cache layout, if present."""
    target = {"cifar-10-batches-py": "cifar-10-batches-py-target",
              "cifar-100-python": "cifar-100-python-target"}[inner]
    for candidate in (os.path.join(root, target, inner), os.path.join(root, inner)):
        if os.path.isdir(candidate):
            return candidate
    return None


def to_image_layout(x: np.ndarray) -> np.ndarray:
    """Channels-first stored images in the layout of `keras.backend.image_data_format()`."""
    from tapeflow.keras import backend

    if backend.image_data_format() == "channels_last":
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    return x

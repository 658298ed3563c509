"""`keras.datasets.cifar10`: 60,000 32x32 colour images in 10 classes."""

from __future__ import annotations

import os

import numpy as np

from tapeflow.keras.datasets._common import fetch
from tapeflow.keras.datasets.cifar import find_batches_dir, load_batch, to_image_layout
from tapeflow.keras.utils.file_utils import datasets_dir

__all__ = ["CLASS_NAMES", "load_data"]

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# Published MD5 c58f30108f718f92721af3b95e74349a; the SHA-256 Keras checks:
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
INNER = "cifar-10-batches-py"

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

Split = tuple[np.ndarray, np.ndarray]


def load_data() -> tuple[Split, Split]:
    """Load CIFAR-10: 50,000 training and 10,000 test 32x32 colour images of 10 classes.

    Uses extracted batches already in the datasets cache (`$TAPEFLOW_DATA_DIR`, else
    `~/.keras/datasets`; Keras 3's `cifar-10-batches-py-target/` and tf.keras 2's
    `cifar-10-batches-py/` layouts), otherwise downloads the archive, checks its SHA-256 and
    extracts it. Batches are parsed without executing pickle code.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images `(50000, 32, 32, 3)` and
        `(10000, 32, 32, 3)` (channels first if `image_data_format()` says so), uint8 labels 0-9
        of shape `(50000, 1)` and `(10000, 1)`; `CLASS_NAMES[label]` names a class.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = cifar10.load_data()  # doctest: +SKIP
        >>> x_train.shape, y_train.shape
        ((50000, 32, 32, 3), (50000, 1))
    """
    root = datasets_dir()
    folder = find_batches_dir(root, INNER)
    if folder is None:
        folder = os.path.join(fetch(INNER + "-target", (ORIGIN,), SHA256, root, extract=True), INNER)
    train = [load_batch(os.path.join(folder, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([np.asarray(y, dtype=np.uint8) for _, y in train]).reshape(-1, 1)
    x_test, y_test = load_batch(os.path.join(folder, "test_batch"))
    y_test = np.asarray(y_test, dtype=np.uint8).reshape(-1, 1)
    return (to_image_layout(x_train), y_train), (to_image_layout(x_test), y_test)

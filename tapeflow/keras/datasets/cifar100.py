"""`keras.datasets.cifar100`: 60,000 32x32 colour images in 100 fine / 20 coarse classes."""

from __future__ import annotations

import os

import numpy as np

from tapeflow.keras.datasets._common import fetch
from tapeflow.keras.datasets.cifar import find_batches_dir, load_batch, to_image_layout
from tapeflow.keras.utils.file_utils import datasets_dir

__all__ = ["load_data"]

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
# Published MD5 eb9058c3a382ffc7106e4002c42a8d85; the SHA-256 Keras checks:
SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
INNER = "cifar-100-python"

Split = tuple[np.ndarray, np.ndarray]


def load_data(label_mode: str = "fine") -> tuple[Split, Split]:
    """Load CIFAR-100: 50,000 training and 10,000 test 32x32 colour images.

    Cache, download and parsing work as in `cifar10.load_data()`.

    Args:
        label_mode: `"fine"` (100 classes) or `"coarse"` (20 superclasses).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images `(50000, 32, 32, 3)` and
        `(10000, 32, 32, 3)`, int64 labels of shape `(50000, 1)` and `(10000, 1)` (Keras's dtype
        here, unlike CIFAR-10's uint8).

    Example:
        >>> (x_train, y_train), _ = cifar100.load_data(label_mode="coarse")  # doctest: +SKIP
        >>> int(y_train.max())
        19
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(
            f'cifar100.load_data: label_mode must be "fine" or "coarse", received {label_mode!r}'
        )
    root = datasets_dir()
    folder = find_batches_dir(root, INNER)
    if folder is None:
        folder = os.path.join(fetch(INNER + "-target", (ORIGIN,), SHA256, root, extract=True), INNER)
    key = f"{label_mode}_labels"
    x_train, y_train = load_batch(os.path.join(folder, "train"), label_key=key)
    x_test, y_test = load_batch(os.path.join(folder, "test"), label_key=key)
    y_train = np.asarray(y_train, dtype=np.int64).reshape(-1, 1)
    y_test = np.asarray(y_test, dtype=np.int64).reshape(-1, 1)
    return (to_image_layout(x_train), y_train), (to_image_layout(x_test), y_test)

"""`keras.datasets.fashion_mnist`: Zalando's Fashion-MNIST clothing images."""

from __future__ import annotations

import os

import numpy as np

from tapeflow.keras.datasets._common import KERAS_ORIGIN, has_idx_folder, load_idx_folder
from tapeflow.keras.utils.file_utils import datasets_dir

__all__ = ["CLASS_NAMES", "is_cached", "load_data"]

# SHA-256 of Zalando's published files (their published MD5s: 8d4fb7e6..., 25c81989...,
# bef4ecab..., bb300cfd...).
IDX_SHA256 = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
# Keras's mirror first, then Zalando's repository.
IDX_ORIGINS = (
    KERAS_ORIGIN,
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
SUBDIR = "fashion-mnist"

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")

Split = tuple[np.ndarray, np.ndarray]


def load_data() -> tuple[Split, Split]:
    """Load Fashion-MNIST: 60,000 training and 10,000 test 28x28 grayscale images of 10 clothes classes.

    Reads the four canonical IDX files from `fashion-mnist/` in the datasets cache
    (`$TAPEFLOW_DATA_DIR`, else `~/.keras/datasets`, where Keras keeps them too), downloading
    any that are missing; each is checked against its published SHA-256.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images `(60000, 28, 28)` and `(10000, 28, 28)`,
        uint8 labels 0-9 `(60000,)` and `(10000,)`; `CLASS_NAMES[label]` names a class
        (0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker,
        8 Bag, 9 Ankle boot).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()  # doctest: +SKIP
        >>> x_test.shape, y_test.shape
        ((10000, 28, 28), (10000,))

    License: Copyright 2017 Zalando SE, MIT license.
    """
    return load_idx_folder(datasets_dir(), SUBDIR, IDX_SHA256, IDX_ORIGINS)


def is_cached() -> bool:
    """Whether `load_data()` can run without downloading (all four IDX files cached)."""
    return has_idx_folder(os.path.join(datasets_dir(), SUBDIR))

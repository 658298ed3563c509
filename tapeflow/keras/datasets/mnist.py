"""`keras.datasets.mnist`: the MNIST handwritten digits, plus a small copy shipped in the package."""

from __future__ import annotations

import os

import numpy as np

from tapeflow.keras.datasets._common import KERAS_ORIGIN, fetch, has_idx_folder, load_idx_folder, split_path
from tapeflow.keras.datasets._formats import DatasetFileError, load_npz
from tapeflow.keras.utils.file_utils import DownloadError, datasets_dir

__all__ = ["is_cached", "load_data", "load_embedded"]

NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
# The canonical IDX files (published MD5s f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d...).
IDX_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
IDX_ORIGINS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")
EMBEDDED_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "mnist_embedded.npz")

Split = tuple[np.ndarray, np.ndarray]


def _check(path: str, arrays: dict[str, np.ndarray]) -> tuple[Split, Split]:
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            raise DatasetFileError(
                f"{path!r}: x_{split} {x.dtype}{x.shape} / y_{split} {y.dtype}{y.shape} are not MNIST "
                "arrays (expected uint8 (N, 28, 28) images and (N,) labels)."
            )
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_data(path: str = "mnist.npz") -> tuple[Split, Split]:
    """Load the MNIST dataset: 60,000 training and 10,000 test 28x28 grayscale digit images.

    Looks in the datasets cache (`$TAPEFLOW_DATA_DIR`, else `~/.keras/datasets`) for Keras's
    `mnist.npz`, then for the four canonical IDX files in its `mnist/` folder, and otherwise
    downloads `mnist.npz`. Every file is checked against its published SHA-256. Offline and with
    nothing cached, `load_embedded()` gives a small subset shipped with Tapeflow.

    Args:
        path: where to cache the file (relative to the datasets cache, or absolute).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape `(60000, 28, 28)` and
        `(10000, 28, 28)` with values 0-255, and uint8 labels 0-9 of shape `(60000,)` and `(10000,)`.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()  # doctest: +SKIP
        >>> x_train.shape, y_train.shape
        ((60000, 28, 28), (60000,))

    License: Yann LeCun and Corinna Cortes hold the copyright of MNIST, a derivative work of the
    NIST datasets, made available under the Creative Commons Attribution-Share Alike 3.0 license.
    """
    folder, fname = split_path(path)
    idx_folder = os.path.join(datasets_dir(), "mnist")
    if not os.path.exists(os.path.join(folder, fname)) and has_idx_folder(idx_folder):
        return load_idx_folder(datasets_dir(), "mnist", IDX_SHA256, IDX_ORIGINS)
    try:
        npz = fetch(fname, (KERAS_ORIGIN + "mnist.npz",), NPZ_SHA256, folder)
    except DownloadError as e:
        raise DownloadError(
            f"{e} Alternatively, put the four canonical IDX .gz files in {idx_folder}; or, offline, "
            "use mnist.load_embedded(), a 6,000-image subset shipped with Tapeflow."
        ) from e
    return _check(npz, load_npz(npz, ("x_train", "y_train", "x_test", "y_test")))


def is_cached(path: str = "mnist.npz") -> bool:
    """Whether `load_data(path)` can run without downloading (`mnist.npz` or the IDX files cached)."""
    folder, fname = split_path(path)
    if os.path.isfile(os.path.join(folder, fname)):
        return True
    return has_idx_folder(os.path.join(datasets_dir(), "mnist"))


def load_embedded() -> tuple[Split, Split]:
    """Load the small MNIST subset shipped inside Tapeflow (works offline, about 1 MB).

    6,000 images of MNIST's official test split, drawn with every digit in its original
    proportion and split, again stratified, into 5,000 training and 1,000 test images (built by
    `tools/make_embedded_mnist.py`; see `data/README.md`). The arrays are laid out like
    `load_data()`'s, so code can switch between the two.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images `(5000, 28, 28)` and
        `(1000, 28, 28)`, uint8 labels `(5000,)` and `(1000,)`.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = mnist.load_embedded()
        >>> x_train.shape, x_test.shape
        ((5000, 28, 28), (1000, 28, 28))
    """
    arrays = load_npz(EMBEDDED_PATH, ("x_train", "y_train", "x_test", "y_test"))
    return _check(EMBEDDED_PATH, arrays)


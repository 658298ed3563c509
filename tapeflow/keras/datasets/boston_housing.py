"""`keras.datasets.boston_housing`: the Boston Housing price regression dataset."""

from __future__ import annotations

import numpy as np

from tapeflow.keras.datasets._common import KERAS_ORIGIN, fetch, split_path
from tapeflow.keras.datasets._formats import DatasetFileError, load_npz

__all__ = ["load_data"]

NPZ_SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"

Split = tuple[np.ndarray, np.ndarray]


def load_data(
    path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113
) -> tuple[Split, Split]:
    """Load the Boston Housing dataset: 13 attributes of 506 Boston suburbs in the 1970s.

    Warning (as in Keras's documentation): the data set's "B" variable encodes an assumption
    about racial self-segregation; prefer it only to illustrate ethical issues in data science.

    Args:
        path: where to cache the file (relative to the datasets cache, or absolute).
        test_split: fraction of the data used as the test set.
        seed: seed of the shuffle before the split.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float64 features `(N, 13)` and float64 median
        prices in k$ `(N,)` (404 training and 102 test rows with the defaults).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = boston_housing.load_data()  # doctest: +SKIP
        >>> x_train.shape, x_test.shape
        ((404, 13), (102, 13))
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"boston_housing.load_data: test_split must be in [0, 1), received {test_split}")
    folder, fname = split_path(path)
    npz = fetch(fname, (KERAS_ORIGIN + "boston_housing.npz",), NPZ_SHA256, folder)
    arrays = load_npz(npz, ("x", "y"))
    x, y = arrays["x"], arrays["y"]
    if x.ndim != 2 or y.shape != (len(x),):
        raise DatasetFileError(
            f"{npz!r}: x {x.shape} / y {y.shape} are not (N, 13) features and (N,) targets."
        )
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    n = int(len(x) * (1 - test_split))
    return (x[:n], y[:n]), (x[n:], y[n:])

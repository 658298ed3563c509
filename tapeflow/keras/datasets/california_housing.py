"""`keras.datasets.california_housing`: the California Housing price regression dataset."""

from __future__ import annotations

import numpy as np

from tapeflow.keras.datasets._common import KERAS_ORIGIN, fetch, split_path
from tapeflow.keras.datasets._formats import DatasetFileError, load_npz

__all__ = ["load_data"]

NPZ_SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"

Split = tuple[np.ndarray, np.ndarray]


def load_data(version: str = "large", path: str = "california_housing.npz", test_split: float = 0.2,
              seed: int = 113) -> tuple[Split, Split]:
    """Load the California Housing dataset: 8 attributes of the 1990 census block groups.

    Args:
        version: "large" (all 20,640 rows) or "small" (the first 600, as Keras).
        path: where to cache the file (relative to the datasets cache, or absolute).
        test_split: fraction of the data used as the test set.
        seed: seed of the shuffle before the split.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: features `(N, 8)` and median house values in
        dollars `(N,)`, in the file's dtypes (float32), split as Keras splits them.
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between 0 and 1 (exclusive of 1).")
    if version not in ("small", "large"):
        raise ValueError(f"Argument `version` must be one of 'small', 'large'. Received: version={version}")
    folder, fname = split_path(path)
    npz = fetch(fname, (KERAS_ORIGIN + "california_housing.npz",), NPZ_SHA256, folder)
    arrays = load_npz(npz, ("x", "y"))
    x, y = arrays["x"], arrays["y"]
    if x.ndim != 2 or y.shape != (len(x),):
        raise DatasetFileError(f"{npz!r}: x {x.shape} / y {y.shape} are not (N, 8) features and (N,) targets.")
    if version == "small":
        x, y = x[:600], y[:600]
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    n = int(len(x) * (1 - test_split))
    return (np.array(x[:n]), np.array(y[:n])), (np.array(x[n:]), np.array(y[n:]))

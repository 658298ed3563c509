"""Read the MNIST / Fashion-MNIST IDX files for the benchmarks (no download, no keras.datasets).

The files are looked up in `$TAPEFLOW_DATA_DIR/<name>/` and then in the shared folder
`../shared/datasets/<name>/` next to the repository.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def _folder(name: str) -> Path:
    for root in (os.environ.get("TAPEFLOW_DATA_DIR"), str(_SHARED)):
        if root and (Path(root) / name / "train-images-idx3-ubyte.gz").exists():
            return Path(root) / name
    raise FileNotFoundError(
        f"{name} IDX files not found: set TAPEFLOW_DATA_DIR to a folder holding {name}/*.gz "
        f"(looked in $TAPEFLOW_DATA_DIR and {_SHARED})."
    )


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (gzip) as a uint8 array of its stored shape."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(name: str) -> tuple:
    """((train_images, train_labels), (test_images, test_labels)) for "mnist" or "fashion-mnist"."""
    folder = _folder(name)
    train = (read_idx(folder / "train-images-idx3-ubyte.gz"), read_idx(folder / "train-labels-idx1-ubyte.gz"))
    test = (read_idx(folder / "t10k-images-idx3-ubyte.gz"), read_idx(folder / "t10k-labels-idx1-ubyte.gz"))
    return train, test

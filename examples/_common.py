"""Helpers shared by the examples: a --quick flag and MNIST with an offline fallback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import numpy as np


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a few seconds' run (used by the tests)")
    return parser.parse_args()


def mnist(quick: bool) -> tuple:
    """MNIST as float32 in [0, 1]: the full set when cached, else the subset shipped with Tapeflow."""
    from tapeflow.keras.datasets import mnist as ds

    (x_train, y_train), (x_test, y_test) = ds.load_data() if ds.is_cached() else ds.load_embedded()
    if quick:
        x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]
    return (x_train.astype(np.float32) / 255.0, y_train), (x_test.astype(np.float32) / 255.0, y_test)


def download(load: Callable, what: str) -> tuple:
    """`load()`, or, when the data is neither cached nor downloadable, a short explanation on
    stderr and exit status 1 instead of a traceback."""
    from tapeflow.keras.utils.file_utils import DownloadError

    try:
        return load()
    except DownloadError as exc:
        script = os.path.basename(sys.argv[0]) or "this example"
        print(f"{script} needs {what}, which is not in the dataset cache and could not be downloaded.\n"
              f"{exc}\nThe examples built on MNIST run offline on the subset shipped with Tapeflow.",
              file=sys.stderr)
        raise SystemExit(1) from None

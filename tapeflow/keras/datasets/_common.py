"""Shared loader plumbing: the cache root, mirror fallback, and IDX image/label pairs."""

from __future__ import annotations

import os

import numpy as np

from tapeflow.keras.datasets._formats import DatasetFileError, read_idx
from tapeflow.keras.utils.file_utils import DownloadError, datasets_dir, get_file

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def split_path(path: str | os.PathLike) -> tuple[str, str]:
    """`(folder, file name)` for a loader's `path`: relative paths are inside the datasets cache."""
    path = os.path.expanduser(os.fspath(path))
    folder, name = os.path.split(path)
    if not name:
        raise ValueError(f"Expected a file path, received {path!r}")
    return os.path.normpath(folder if os.path.isabs(path) else os.path.join(datasets_dir(), folder)), name


def fetch(fname: str, origins: tuple[str, ...], file_hash: str, folder: str | None = None,
          subdir: str = "", extract: bool = False) -> str:
    """`get_file` over a list of mirrors: the first that yields a verified file wins.

    Args:
        fname: the file name in the cache.
        origins: full URLs, tried in order.
        file_hash: the published SHA-256 (or MD5) the file must match.
        folder: the cache folder; default the datasets cache (`$TAPEFLOW_DATA_DIR`).
        subdir: sub-folder of `folder`.
        extract: extract the archive (see `get_file`).

    Returns:
        The verified file's path (the extraction folder when extracting).
    """
    folder = datasets_dir() if folder is None else folder
    failures: list[tuple[str, Exception]] = []
    for origin in origins:
        try:
            return get_file(fname, origin=origin, file_hash=file_hash, cache_dir=folder,
                            cache_subdir=subdir, extract=extract)
        except (DownloadError, ValueError) as e:
            failures.append((origin, e))
    if len(failures) == 1:
        raise failures[0][1]
    target = os.path.join(folder, subdir, fname)
    detail = "\n".join(f"  - {origin}: {e}" for origin, e in failures)
    raise DownloadError(
        f"Could not fetch {fname!r} from any of its mirrors:\n{detail}\n"
        f"If this machine is offline, place the file at {target} (folder: {os.path.dirname(target)})."
    )


def idx_pair(images_path: str, labels_path: str, image_shape: tuple[int, ...]
             ) -> tuple[np.ndarray, np.ndarray]:
    """Read an IDX images file and its labels file, checking shapes, dtypes and counts."""
    x = read_idx(images_path)
    y = read_idx(labels_path)
    if x.dtype != np.uint8 or x.shape[1:] != image_shape:
        raise DatasetFileError(
            f"{images_path!r} holds {x.dtype} data of shape {x.shape}; expected uint8 images of shape "
            f"(N, {', '.join(map(str, image_shape))})."
        )
    if y.dtype != np.uint8 or y.ndim != 1:
        raise DatasetFileError(
            f"{labels_path!r} holds {y.dtype} data of shape {y.shape}; expected uint8 labels (N,)."
        )
    if len(x) != len(y):
        raise DatasetFileError(
            f"{images_path!r} has {len(x)} images but {labels_path!r} has {len(y)} labels."
        )
    return x, y


def load_idx_folder(folder: str, subdir: str, hashes: dict[str, str], origins: tuple[str, ...]
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the four canonical IDX files of `<folder>/<subdir>/`, verified (fetched if missing)."""
    paths = {name: fetch(name, tuple(o + name for o in origins), hashes[name], folder, subdir)
             for name in IDX_FILES}
    train = idx_pair(paths[IDX_FILES[0]], paths[IDX_FILES[1]], (28, 28))
    test = idx_pair(paths[IDX_FILES[2]], paths[IDX_FILES[3]], (28, 28))
    return train, test


def has_idx_folder(folder: str) -> bool:
    """Whether all four canonical IDX files are in `folder`."""
    return all(os.path.isfile(os.path.join(folder, name)) for name in IDX_FILES)

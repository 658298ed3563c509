"""Atomic file writes (temporary name in the same folder, then rename) and safe npz reading."""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from tapeflow import atomic_file as _atomic


class CorruptFileError(ValueError):
    """A saved model or weights file is truncated, corrupt or not in Tapeflow's format."""


@contextlib.contextmanager
def atomic_write(filepath: str | os.PathLike, overwrite: bool = True) -> Iterator[IO[bytes]]:
    """Open a temporary file next to `filepath` for writing; rename it over `filepath` only when
    the block finishes without error, so a crash never leaves a half-written file.

    Raises:
        FileExistsError: when `overwrite` is False and `filepath` exists.
    """
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"'{path}' already exists; pass overwrite=True to replace it.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to '{path}': the folder '{folder}' does not exist.")
    with _atomic.atomic_write(path) as f:
        yield f


def npz_bytes(arrays: dict[str, np.ndarray], metadata: dict, metadata_key: str) -> bytes:
    """An uncompressed .npz archive of `arrays` (in order) plus `metadata` as a JSON uint8 array."""
    payload = {metadata_key: np.frombuffer(json.dumps(metadata).encode("utf-8"), dtype=np.uint8)}
    payload.update(arrays)
    buf = io.BytesIO()
    np.savez(buf, **payload)
    return buf.getvalue()


def read_npz(source: str | os.PathLike | bytes, label: str, metadata_key: str) -> tuple[dict, dict | None]:
    """All arrays of an .npz file (never unpickling) and its JSON metadata entry, if any.

    Args:
        source: a path or the archive's bytes.
        label: the file name used in error messages.

    Raises:
        FileNotFoundError: when the path does not exist.
        CorruptFileError: when the archive is truncated, corrupt, holds object arrays, or its
            metadata is not valid JSON.
    """
    if not isinstance(source, bytes):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such weights file: '{path}'.")
        with open(path, "rb") as f:
            head = f.read(8)
        if head.startswith(b"\x89HDF"):
            raise CorruptFileError(
                f"'{label}' is an HDF5 file (Keras's .h5 format); Tapeflow reads only its own "
                ".weights.npz / .keras files."
            )
        src: Any = path
    else:
        src = io.BytesIO(source)
    try:
        data = np.load(src, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise CorruptFileError(f"'{label}' holds a single .npy array, not an .npz weights archive.")
        with data:
            arrays = {key: data[key] for key in data.files}
    except CorruptFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, zipfile.LargeZipFile) as exc:
        raise CorruptFileError(
            f"Could not read weights file '{label}': it is truncated, corrupt or not an .npz "
            f"archive ({type(exc).__name__}: {exc})."
        ) from exc
    except Exception as exc:  # zlib.error and friends from a damaged archive
        raise CorruptFileError(
            f"Could not read weights file '{label}': {type(exc).__name__}: {exc}.") from exc
    metadata = None
    raw = arrays.pop(metadata_key, None)
    if raw is not None:
        try:
            metadata = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise CorruptFileError(
                f"Weights file '{label}': its metadata entry is not valid JSON ({exc}).") from exc
        if not isinstance(metadata, dict):
            raise CorruptFileError(f"Weights file '{label}': its metadata entry is not a JSON object.")
    return arrays, metadata

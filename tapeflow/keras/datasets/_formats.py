"""Readers for dataset files (IDX, npz, CIFAR pickle batches) that validate and never run code."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import zipfile
import zlib
from typing import Any

import numpy as np

# IDX type byte -> big-endian element type (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


class DatasetFileError(ValueError):
    """A dataset file is malformed, truncated or of the wrong kind; the message names the file."""


# ---------------------------------------------------------------------------------------------
# IDX (MNIST, Fashion-MNIST)


def _read_exact(f: Any, n: int) -> bytes:
    data = f.read(n)
    return data if data is not None else b""


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a writable, native-endian array.

    Args:
        path: the `.gz` or raw IDX file.

    Returns:
        The array with the shape and element type its header announces.

    Raises:
        DatasetFileError: wrong magic number, truncated header or data, trailing bytes, or a
            corrupted gzip stream. The message names the file.
    """
    path = os.fspath(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as f:
            magic = _read_exact(f, 4)
            if len(magic) < 4:
                raise DatasetFileError(f"IDX file {path!r} is truncated: {len(magic)} bytes, no header.")
            if magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES or magic[3] == 0:
                raise DatasetFileError(
                    f"{path!r} is not an IDX file: magic number 0x{magic.hex()}, expected 0x0000TTNN "
                    f"(TT a type code in {{{', '.join(f'{t:02x}' for t in _IDX_TYPES)}}}, NN >= 1 dims)."
                )
            ndim = magic[3]
            dims = _read_exact(f, 4 * ndim)
            if len(dims) < 4 * ndim:
                raise DatasetFileError(f"IDX file {path!r} is truncated inside its header ({ndim} dims).")
            shape = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
            stored = np.dtype(_IDX_TYPES[magic[2]])
            out = np.empty(shape, dtype=stored)
            view = memoryview(out).cast("B")
            filled = 0
            while filled < view.nbytes:
                n = f.readinto(view[filled:])
                if not n:
                    break
                filled += n
            if filled < view.nbytes:
                raise DatasetFileError(
                    f"IDX file {path!r} is truncated: its header announces shape {shape} "
                    f"({view.nbytes} bytes of data), found only {filled}."
                )
            if f.read(1):
                raise DatasetFileError(
                    f"IDX file {path!r} has bytes after the {view.nbytes} its header announces "
                    f"(shape {shape}); the file is malformed."
                )
    except (OSError, EOFError, zlib.error) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DatasetFileError(
            f"IDX file {path!r} is corrupted or truncated ({type(e).__name__}: {e})."
        ) from e
    return out.astype(stored.newbyteorder("="), copy=False)


# ---------------------------------------------------------------------------------------------
# Restricted unpickling: only plain containers and numeric NumPy arrays


class _NdarrayClass:
    """Stands in for `numpy.ndarray` inside a pickle: usable only as `_reconstruct`'s first argument."""


_NDARRAY = _NdarrayClass()
_NUMERIC_KINDS = frozenset("biufc")


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and builtin containers, and nothing else.

    Only the globals that NumPy's own array pickles use are resolved, each through a guard that
    checks its arguments; any other global (`os.system`, `builtins.eval`, ...) is refused with
    `pickle.UnpicklingError`, so loading a tampered file cannot execute code.
    """

    def __init__(self, file: Any, *, source: str, allow_object_arrays: bool = False,
                 encoding: str = "latin1") -> None:
        super().__init__(file, encoding=encoding)
        self.source = source
        self.allow_object_arrays = allow_object_arrays

    def _dtype(self, spec: Any, align: bool = False, copy: bool = True) -> np.dtype:
        if isinstance(spec, bytes):  # Python 2 pickles (the CIFAR batches) read with encoding="bytes"
            spec = spec.decode("ascii")
        if not isinstance(spec, str):
            raise pickle.UnpicklingError(f"{self.source}: refusing a NumPy dtype built from {type(spec)}.")
        dt = np.dtype(spec)
        if dt.kind not in _NUMERIC_KINDS and not (dt.kind == "O" and self.allow_object_arrays):
            raise pickle.UnpicklingError(f"{self.source}: refusing NumPy dtype {spec!r}.")
        return np.dtype(spec, align=bool(align), copy=bool(copy))

    def _reconstruct(self, subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
        if subtype is not _NDARRAY or tuple(shape) != (0,):
            raise pickle.UnpicklingError(f"{self.source}: unexpected array reconstruction arguments.")
        return np.ndarray((0,), dtype=np.uint8)

    def _frombuffer(self, buf: Any, dtype: Any, shape: Any, order: str) -> np.ndarray:
        if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS or order not in ("C", "F"):
            raise pickle.UnpicklingError(f"{self.source}: unexpected array buffer arguments.")
        return np.frombuffer(bytes(buf), dtype=dtype).reshape(shape, order=order).copy(order="K")

    @staticmethod
    def _encode(text: Any, encoding: str = "utf-8") -> bytes:
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise pickle.UnpicklingError("refusing _codecs.encode with unexpected arguments.")
        return text.encode("latin1")

    def find_class(self, module: str, name: str) -> Any:
        if module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray"):
            if name == "ndarray" and module == "numpy":
                return _NDARRAY
            if name == "dtype" and module == "numpy":
                return self._dtype
            if name == "_reconstruct" and module != "numpy":
                return self._reconstruct
        if module in ("numpy.core.numeric", "numpy._core.numeric") and name == "_frombuffer":
            return self._frombuffer
        if (module, name) == ("_codecs", "encode"):
            return self._encode
        raise pickle.UnpicklingError(
            f"Refusing to load `{module}.{name}` from {self.source}: dataset files may only contain "
            "plain containers and NumPy arrays. The file may be corrupted or malicious."
        )

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError(f"{self.source}: persistent ids are not allowed.")


def load_pickle(path: str | os.PathLike, *, encoding: str = "bytes") -> Any:
    """Load a pickle of plain containers and numeric arrays (a CIFAR batch) without running code."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        try:
            return RestrictedUnpickler(f, source=repr(path), encoding=encoding).load()
        except pickle.UnpicklingError as e:
            raise DatasetFileError(f"Cannot load {path!r}: {e}") from e
        except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as e:
            raise DatasetFileError(
                f"{path!r} is not a valid pickled batch ({type(e).__name__}: {e}); it may be truncated."
            ) from e


# ---------------------------------------------------------------------------------------------
# npz


def _read_npy(data: bytes, source: str, allow_object_arrays: bool) -> np.ndarray:
    fp = io.BytesIO(data)
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        # NOTE: format 3.0 differs from 2.0 only in encoding field names as UTF-8.
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise DatasetFileError(f"{source}: unsupported .npy format version {version}.")
    if dtype.hasobject:
        if not allow_object_arrays:
            raise DatasetFileError(f"{source}: holds an object array where a numeric array was expected.")
        array = RestrictedUnpickler(fp, source=source, allow_object_arrays=True).load()
        if not isinstance(array, np.ndarray):
            raise DatasetFileError(f"{source}: the pickled member is a {type(array).__name__}, not an array.")
        return array
    fp.seek(0)
    return np.lib.format.read_array(fp, allow_pickle=False)


def load_npz(path: str | os.PathLike, keys: tuple[str, ...], allow_object_arrays: bool = False
             ) -> dict[str, np.ndarray]:
    """Read the arrays `keys` from an `.npz` archive, with clear errors for malformed files.

    Numeric members are read with pickling disabled; object members (the ragged IMDB / Reuters
    sequences) only when `allow_object_arrays`, through `RestrictedUnpickler`.

    Raises:
        DatasetFileError: not a zip, truncated or corrupted member, or a missing key; the message
            names the file.
    """
    path = os.fspath(path)
    out = {}
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for key in keys:
                member = f"{key}.npy"
                if member not in names:
                    found = sorted(n[:-4] for n in names if n.endswith(".npy"))
                    raise DatasetFileError(f"{path!r} has no array {key!r} (it holds {found}).")
                source = f"{path!r} (member {member!r})"
                out[key] = _read_npy(archive.read(member), source, allow_object_arrays)
    except DatasetFileError:
        raise
    except pickle.UnpicklingError as e:
        raise DatasetFileError(f"Cannot load {path!r}: {e}") from e
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, TypeError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DatasetFileError(
            f"{path!r} is not a valid .npz file; it may be truncated or corrupted ({type(e).__name__}: {e})."
        ) from e
    return out

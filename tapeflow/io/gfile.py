"""`tf.io.gfile`: TF's file API on the local file system (paths or `file://` URLs).

`GFile` opened for writing writes to a temporary file in the same folder and renames it over
the target on `close()` (appending copies the old contents first), so a reader never sees a
half-written file. Errors are TF's: `NotFoundError` for missing paths, `AlreadyExistsError`
where `overwrite=False` meets an existing file.
"""

from __future__ import annotations

import glob as _glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from tapeflow import errors


def tf_error(name: str, fallback: type, message: str) -> Exception:
    # NOTE: tf.errors is being completed separately; until a class exists, its Python kin is used.
    return getattr(errors, name, fallback)(message)


def _local(path: Any) -> str:
    path = os.fsdecode(path.numpy() if hasattr(path, "numpy") else path)
    if "://" in path:
        scheme, rest = path.split("://", 1)
        if scheme != "file":
            raise errors.UnimplementedError(f"File system scheme '{scheme}' not implemented (file: "
                                            f"{path}); only local paths and file:// are supported.")
        return rest
    return path


def _not_found(path: str) -> Exception:
    return errors.NotFoundError(f"{path}; No such file or directory")


def exists(path: Any) -> bool:
    """Whether `path` (a file or directory) exists."""
    return os.path.exists(_local(path))


def isdir(path: Any) -> bool:
    """Whether `path` is a directory."""
    return os.path.isdir(_local(path))


def listdir(path: Any) -> list:
    """The names of the entries of directory `path` (not sorted, like TF)."""
    p = _local(path)
    if not os.path.isdir(p):
        raise errors.NotFoundError(f"Could not find directory {p}")
    return os.listdir(p)


def glob(pattern: Any) -> list:
    """The paths matching `pattern` (`*`, `?`, `[...]`), sorted; [] when none match."""
    if isinstance(pattern, (list, tuple)):
        return sorted({m for p in pattern for m in glob(p)})
    return sorted(_glob.glob(_local(pattern)))


def makedirs(path: Any) -> None:
    """Create directory `path` and any missing parents (no error if it exists)."""
    os.makedirs(_local(path), exist_ok=True)


def mkdir(path: Any) -> None:
    """Create directory `path` (its parent must exist; no error if it exists)."""
    p = _local(path)
    if not os.path.isdir(os.path.dirname(os.path.abspath(p))):
        raise _not_found(p)
    os.makedirs(p, exist_ok=True)


def remove(path: Any) -> None:
    """Delete the file `path`."""
    p = _local(path)
    if not os.path.lexists(p):
        raise _not_found(p)
    if os.path.isdir(p) and not os.path.islink(p):
        raise tf_error("FailedPreconditionError", IsADirectoryError, f"{p}; Is a directory (use rmtree)")
    os.remove(p)


def rmtree(path: Any) -> None:
    """Delete directory `path` and everything under it."""
    p = _local(path)
    if not os.path.exists(p):
        raise _not_found(p)
    shutil.rmtree(p)


def _check_target(dst: str, overwrite: bool) -> None:
    if not overwrite and os.path.exists(dst):
        raise tf_error("AlreadyExistsError", FileExistsError, "file already exists")


def rename(src: Any, dst: Any, overwrite: bool = False) -> None:
    """Rename `src` to `dst` (replacing it only with `overwrite=True`)."""
    s, d = _local(src), _local(dst)
    if not os.path.lexists(s):
        raise _not_found(s)
    _check_target(d, overwrite)
    os.replace(s, d)


def copy(src: Any, dst: Any, overwrite: bool = False) -> None:
    """Copy the file `src` to `dst` (atomically; replacing it only with `overwrite=True`)."""
    s, d = _local(src), _local(dst)
    if not os.path.isfile(s):
        raise _not_found(s)
    _check_target(d, overwrite)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_" + os.path.basename(d), dir=os.path.dirname(os.path.abspath(d)))
    os.close(fd)
    try:
        shutil.copyfile(s, tmp)
        os.replace(tmp, d)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def walk(top: Any, topdown: bool = True, onerror: Any = None) -> Iterator:
    """`(dirname, subdirs, files)` for every directory under `top`, like `os.walk`."""
    yield from os.walk(_local(top), topdown=topdown, onerror=onerror)


class StatResult:
    """What `stat` returns: `length` (bytes), `mtime_nsec`, `is_directory`."""

    def __init__(self, st: os.stat_result, is_directory: bool) -> None:
        self.length = 0 if is_directory else st.st_size
        self.mtime_nsec = st.st_mtime_ns
        self.is_directory = is_directory


def stat(path: Any) -> StatResult:
    """The size, modification time and kind of `path`."""
    p = _local(path)
    if not os.path.exists(p):
        raise _not_found(p)
    return StatResult(os.stat(p), os.path.isdir(p))


def join(path: Any, *paths: Any) -> str:
    """Join path components (`os.path.join`, keeping URL schemes intact)."""
    return os.path.join(os.fsdecode(path), *map(os.fsdecode, paths))


def get_registered_schemes() -> list:
    """The URL schemes this file system understands ("" is plain paths)."""
    return ["file", ""]


class GFile:
    """A file object with TF's API: `read(n)`, `readline`, `readlines`, iteration, `write`,
    `seek`/`tell`, `size`, `flush`, `close`; a context manager.

    Args:
        name: the path.
        mode: "r", "w" or "a", with "b" for bytes (text modes read and write `str`), or "r+",
            "w+", "a+".
    """

    def __init__(self, name: Any, mode: str = "r") -> None:
        self.name = _local(name)
        base = mode.replace("b", "")
        if base not in ("r", "w", "a", "r+", "w+", "a+"):
            raise errors.InvalidArgumentError("mode is not 'r' or 'w' or 'a' or 'r+' or 'w+' or 'a+'")
        self.mode = mode
        self._binary = "b" in mode
        self._writing = base != "r"
        self._file: Any = None
        self._tmp: str | None = None
        self._closed = False

    # -- opening ------------------------------------------------------------------------------
    def _open(self) -> Any:
        if self._file is not None:
            return self._file
        if self._closed:
            raise ValueError(f"I/O operation on closed GFile {self.name!r}.")
        base = self.mode.replace("b", "")
        if not self._writing:
            if not os.path.exists(self.name):
                raise _not_found(self.name)
            self._file = open(self.name, "rb")  # noqa: SIM115 - closed by close()
            return self._file
        folder = os.path.dirname(os.path.abspath(self.name))
        if not os.path.isdir(folder):
            raise _not_found(self.name)
        fd, self._tmp = tempfile.mkstemp(prefix=".tmp_" + os.path.basename(self.name), dir=folder)
        self._file = os.fdopen(fd, "w+b")
        if base in ("a", "a+", "r+") and os.path.exists(self.name):
            with open(self.name, "rb") as old:
                shutil.copyfileobj(old, self._file)
            if base == "r+":
                self._file.seek(0)
        return self._file

    def _text(self, data: bytes) -> Any:
        return data if self._binary else data.decode("utf-8")

    # -- reading ------------------------------------------------------------------------------
    def read(self, n: int = -1) -> Any:
        """Up to `n` bytes (characters' bytes in text mode), or everything left."""
        return self._text(self._open().read(-1 if n is None or n < 0 else n))

    def readline(self) -> Any:
        return self._text(self._open().readline())

    def readlines(self) -> list:
        return [self._text(line) for line in self._open().readlines()]

    def __iter__(self) -> Iterator:
        return self

    def __next__(self) -> Any:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__

    # -- writing ------------------------------------------------------------------------------
    def write(self, file_content: Any) -> None:
        """Append `file_content` (str or bytes) at the current position."""
        if not self._writing:
            raise errors.InvalidArgumentError(f"GFile {self.name!r} is open for reading, not writing.")
        data = file_content.encode("utf-8") if isinstance(file_content, str) else bytes(file_content)
        self._open().write(data)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    # -- position -----------------------------------------------------------------------------
    def seek(self, offset: int | None = None, whence: int = 0, position: int | None = None) -> int:
        if position is not None:
            offset = position
        return self._open().seek(int(offset or 0), whence)

    def tell(self) -> int:
        return self._open().tell()

    def size(self) -> int:
        """The file's length in bytes."""
        if self._writing and self._file is not None:
            self._file.flush()
            return os.path.getsize(self._tmp)
        if not os.path.exists(self.name):
            raise _not_found(self.name)
        return os.path.getsize(self.name)

    def seekable(self) -> bool:
        return True

    # -- closing ------------------------------------------------------------------------------
    def close(self) -> None:
        """Close; a file opened for writing is renamed into place now (created if never written)."""
        if self._closed:
            return
        self._closed = True
        if self._writing and self._file is None:
            self._open()
        if self._file is None:
            return
        self._file.close()
        self._file = None
        if self._tmp is not None:
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(self._tmp, 0o666 & ~mask)
            os.replace(self._tmp, self.name)
            self._tmp = None

    def _discard(self) -> None:
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tmp is not None and os.path.exists(self._tmp):
            os.remove(self._tmp)
        self._tmp = None

    def __enter__(self) -> GFile:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and self._writing:
            self._discard()  # a failed write leaves the old file as it was
        else:
            self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


Open = GFile  # TF's alias
FastGFile = GFile

"""Atomic writes shared by every file writer (model and weights files, checkpoints, backups,
dataset caches, SavedModel folders).

A write goes to a hidden temporary name in the target's folder that carries the writer's
process id (`.model.keras.4711-k3j2.tmp`), is flushed to disk, gets the permissions the
user's umask gives a new file (a bare temporary file would stay 0600), and is renamed over the
target, so a reader sees the old file or the new one, never a partial one. A writer killed
before its rename leaves its temporary behind; the next write to the same target removes the
temporaries whose process is gone (never those of a live writer).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from typing import IO

__all__ = ["atomic_write", "temporary_path", "commit", "discard", "remove_stale_temporaries", "new_file_mode"]


def new_file_mode(directory: bool = False) -> int:
    """The mode `open()` / `mkdir()` give a new file (0o666) or folder (0o777) under the umask."""
    mask = _umask()
    return (0o777 if directory else 0o666) & ~mask


def _umask() -> int:
    try:  # read without changing it: os.umask() alone would race with other threads
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pattern(base: str | None) -> re.Pattern:
    name = r".+" if base is None else re.escape(base)
    # Leading dots: a writer that saves through another atomic writer nests one temporary in another.
    return re.compile(r"\.+" + name + r"\.(\d+)-[0-9a-f]+\.tmp(\..*)?")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's live process
    return True


def remove_stale_temporaries(path: str | os.PathLike, whole_folder: bool = False) -> list[str]:
    """Delete the temporaries of earlier writes to `path` (with `whole_folder`, to any file in
    the folder `path`) whose writer process has died; returns the removed paths."""
    path = os.fspath(path)
    if whole_folder:
        folder, pattern = os.path.abspath(path), _pattern(None)
    else:
        folder = os.path.dirname(os.path.abspath(path))
        pattern = _pattern(os.path.basename(path))
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or _alive(int(match.group(1))):
            continue
        stale = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            if os.path.isdir(stale) and not os.path.islink(stale):
                shutil.rmtree(stale)
            else:
                os.remove(stale)
            removed.append(stale)
    return removed


def temporary_path(path: str | os.PathLike, suffix: str = "") -> str:
    """A fresh hidden name next to `path` for writing it (`suffix` keeps a format's file
    extension, e.g. ".keras"); stale temporaries of `path` are removed first."""
    path = os.fspath(path)
    remove_stale_temporaries(path)
    folder = os.path.dirname(os.path.abspath(path))
    token = secrets.token_hex(4)
    return os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}-{token}.tmp{suffix}")


def commit(tmp: str, path: str | os.PathLike) -> None:
    """Give `tmp` (a file or a folder) the umask's permissions and rename it over `path`."""
    os.chmod(tmp, new_file_mode(directory=os.path.isdir(tmp)))
    os.replace(tmp, os.fspath(path))


def discard(tmp: str) -> None:
    """Remove a temporary file or folder (after a failed write)."""
    with contextlib.suppress(OSError):
        if os.path.isdir(tmp) and not os.path.islink(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.remove(tmp)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, suffix: str = "") -> Iterator[IO[bytes]]:
    """Open a temporary file next to `path` for binary writing; when the block ends without
    error it is flushed to disk and renamed over `path`, otherwise removed.

    Example:
        >>> with atomic_write("model.keras") as f:
        ...     f.write(payload)
    """
    tmp = temporary_path(path, suffix)
    try:
        with open(tmp, "xb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        commit(tmp, path)
    except BaseException:
        discard(tmp)
        raise

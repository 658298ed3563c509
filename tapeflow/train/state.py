"""The `checkpoint` state file of a directory: which checkpoint is the latest, which are kept.

The file is TF's text format (so `cat checkpoint` reads the same)::

    model_checkpoint_path: "ckpt-3"
    all_model_checkpoint_paths: "ckpt-2"
    all_model_checkpoint_paths: "ckpt-3"
    all_model_checkpoint_timestamps: 1796640000.5
    all_model_checkpoint_timestamps: 1796640010.25
    last_preserved_timestamp: 1796639990.0

Paths inside the directory are stored relative to it. The file is replaced atomically, and only
after the checkpoint it names is complete.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tapeflow.train import format as _format

STATE_FILE = "checkpoint"
_MAX_STATE_BYTES = 16 * 2**20


@dataclass
class CheckpointState:
    """The contents of a directory's `checkpoint` file (`tf.train.get_checkpoint_state`)."""

    model_checkpoint_path: str = ""
    all_model_checkpoint_paths: list = field(default_factory=list)
    all_model_checkpoint_timestamps: list = field(default_factory=list)
    last_preserved_timestamp: float = 0.0


def _relative(directory: str, path: str) -> str:
    if os.path.dirname(os.path.abspath(path)) == os.path.abspath(directory):
        return os.path.basename(path)
    return path


def _absolute(directory: str, path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(directory, path)


def update(directory: str, latest: str, all_paths: list, timestamps: list | None = None,
           last_preserved: float | None = None) -> None:
    """Atomically replace `directory/checkpoint`, naming `latest` and keeping `all_paths`."""
    now = time.time()
    timestamps = list(timestamps) if timestamps is not None else [now] * len(all_paths)
    lines = [f"model_checkpoint_path: {json.dumps(_relative(directory, latest))}"]
    lines += [f"all_model_checkpoint_paths: {json.dumps(_relative(directory, p))}" for p in all_paths]
    lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in timestamps]
    lines.append(f"last_preserved_timestamp: {float(last_preserved if last_preserved is not None else now)!r}")
    text = "\n".join(lines) + "\n"
    os.makedirs(directory, exist_ok=True)
    _format.atomic_write(os.path.join(directory, STATE_FILE), lambda f: f.write(text.encode("utf-8")))


def read(directory: str) -> CheckpointState | None:
    """The directory's checkpoint state (paths made absolute-or-joined), or None without one."""
    path = os.path.join(os.fspath(directory), STATE_FILE)
    if not os.path.isfile(path):
        return None
    if os.path.getsize(path) > _MAX_STATE_BYTES:
        raise _format.DataLossError(f"The checkpoint state file {path!r} is larger than {_MAX_STATE_BYTES} bytes.")
    state = CheckpointState()
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        value = value.strip()
        try:
            if key == "model_checkpoint_path":
                state.model_checkpoint_path = _absolute(directory, _string(value))
            elif key == "all_model_checkpoint_paths":
                state.all_model_checkpoint_paths.append(_absolute(directory, _string(value)))
            elif key == "all_model_checkpoint_timestamps":
                state.all_model_checkpoint_timestamps.append(float(value))
            elif key == "last_preserved_timestamp":
                state.last_preserved_timestamp = float(value)
            else:
                raise ValueError(f"unknown field {key!r}")
        except ValueError as e:
            raise _format.DataLossError(f"The checkpoint state file {path!r} is corrupt at line {n}: {e}.") from None
    return state


def _string(value: str) -> str:
    out = json.loads(value)
    if not isinstance(out, str):
        raise ValueError("expected a quoted string")
    return out


def latest_checkpoint(checkpoint_dir: str, latest_filename: str | None = None) -> str | None:
    """The prefix of the latest complete checkpoint in `checkpoint_dir`, or None (`tf.train.latest_checkpoint`).

    Args:
        checkpoint_dir: the directory that `Checkpoint.save` or `CheckpointManager.save` wrote to.
        latest_filename: the state file's name; only TF's default "checkpoint" is written by Tapeflow.
    """
    if latest_filename not in (None, STATE_FILE):
        raise ValueError(f"Tapeflow writes the checkpoint state only to {STATE_FILE!r}; got "
                         f"latest_filename={latest_filename!r}.")
    state = read(os.fspath(checkpoint_dir))
    if state is None or not state.model_checkpoint_path:
        return None
    path = state.model_checkpoint_path
    return path if _format.exists(path) else None


def get_checkpoint_state(checkpoint_dir: str, latest_filename: str | None = None) -> CheckpointState | None:
    """The directory's `CheckpointState` (`model_checkpoint_path`, `all_model_checkpoint_paths`), or None."""
    if latest_filename not in (None, STATE_FILE):
        raise ValueError(f"Tapeflow writes the checkpoint state only to {STATE_FILE!r}; got "
                         f"latest_filename={latest_filename!r}.")
    return read(os.fspath(checkpoint_dir))


def checkpoints_iterator(checkpoint_dir: str, min_interval_secs: float = 0, timeout: float | None = None,
                         timeout_fn: Any = None) -> Iterator[str]:
    """Yield each new latest checkpoint of `checkpoint_dir` as it appears (`tf.train.checkpoints_iterator`).

    Args:
        checkpoint_dir: the directory to watch.
        min_interval_secs: wait at least this long between yields.
        timeout: stop waiting for a new checkpoint after this many seconds (None: wait forever).
        timeout_fn: called on a timeout; the iteration ends if it returns True, else waiting goes on.
    """
    last = None
    while True:
        start = time.time()
        deadline = None if timeout is None else start + timeout
        path = latest_checkpoint(checkpoint_dir)
        while path is None or path == last:
            if deadline is not None and time.time() > deadline:
                break
            time.sleep(0.05 if timeout is None else min(0.05, max(timeout, 0.0)))
            path = latest_checkpoint(checkpoint_dir)
        if path is None or path == last:
            if timeout_fn is None or timeout_fn():
                return
            continue
        last = path
        yield path
        remaining = min_interval_secs - (time.time() - start)
        if remaining > 0:
            time.sleep(remaining)

"""`tf.train.CheckpointManager`: numbered checkpoints in one directory, the oldest deleted.

Each `save()` writes `directory/checkpoint_name-N` completely, then records it in the directory's
state file, then deletes checkpoints beyond `max_to_keep` (keeping one every
`keep_checkpoint_every_n_hours`). A process killed at any point leaves `latest_checkpoint`
naming a complete checkpoint.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from tapeflow.train import format as _format
from tapeflow.train import state as _state


class CheckpointManager:
    """Keeps the last `max_to_keep` checkpoints of a `tf.train.Checkpoint` in `directory`.

    Args:
        checkpoint: the `tf.train.Checkpoint` to save and restore.
        directory: where checkpoints and the `checkpoint` state file go (created if missing).
        max_to_keep: how many recent checkpoints to keep; None keeps all.
        keep_checkpoint_every_n_hours: additionally keep one checkpoint per this many hours.
        checkpoint_name: the prefix of the files ("ckpt" gives "ckpt-1.index", ...).
        step_counter: a variable read by `save(check_interval=True)` with `checkpoint_interval`.
        checkpoint_interval: save only when `step_counter` advanced this much since the last save.
        init_fn: called by `restore_or_initialize()` when there is no checkpoint yet.

    Example:
        >>> manager = tf.train.CheckpointManager(ckpt, "./tf_ckpts", max_to_keep=3)
        >>> ckpt.restore(manager.latest_checkpoint)
        >>> path = manager.save()                     # "./tf_ckpts/ckpt-1"
    """

    def __init__(self, checkpoint: Any, directory: str, max_to_keep: int | None,
                 keep_checkpoint_every_n_hours: float | None = None, checkpoint_name: str = "ckpt",
                 step_counter: Any = None, checkpoint_interval: int | None = None,
                 init_fn: Any = None) -> None:
        if max_to_keep is not None and max_to_keep <= 0:
            raise ValueError(f"Expected a positive integer or `None` for `max_to_keep`, got {max_to_keep}.")
        if checkpoint_interval is not None and step_counter is None:
            raise ValueError("`step_counter` should be passed if `checkpoint_interval` is not None.")
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._max_to_keep = max_to_keep
        self._keep_every = keep_checkpoint_every_n_hours
        self._prefix = os.path.join(self._directory, checkpoint_name)
        self._step_counter = step_counter
        self._interval = checkpoint_interval
        self._init_fn = init_fn
        self._last_step: int | None = None
        state = _state.read(self._directory)
        self._maybe_delete: dict[str, float] = {}
        self._latest: str | None = None
        self._last_preserved = time.time()
        if state is not None:
            stamps = state.all_model_checkpoint_timestamps
            paths = state.all_model_checkpoint_paths
            if len(stamps) != len(paths):
                stamps = [time.time()] * len(paths)
            for path, stamp in zip(paths, stamps, strict=True):
                if _format.exists(path):
                    self._maybe_delete[path] = stamp
            if state.model_checkpoint_path and _format.exists(state.model_checkpoint_path):
                self._latest = state.model_checkpoint_path
            self._last_preserved = state.last_preserved_timestamp or self._last_preserved

    @property
    def directory(self) -> str:
        return self._directory

    @property
    def latest_checkpoint(self) -> str | None:
        """The prefix of the newest checkpoint, or None (pass it to `Checkpoint.restore`)."""
        return self._latest

    @property
    def checkpoints(self) -> list[str]:
        """The checkpoints this manager keeps, oldest first."""
        return list(self._maybe_delete)

    @property
    def checkpoint_interval(self) -> int | None:
        return self._interval

    def save(self, checkpoint_number: Any = None, check_interval: bool = True, options: Any = None) -> str | None:
        """Save a checkpoint numbered `checkpoint_number` (default: the checkpoint's incremented
        `save_counter`), then delete the ones beyond `max_to_keep`; returns its path, or None when
        `checkpoint_interval` says it is too early."""
        if self._interval is not None and check_interval:
            step = int(np.asarray(self._step_counter.numpy() if hasattr(self._step_counter, "numpy")
                                  else self._step_counter))
            if self._last_step is not None and step < self._last_step + self._interval:
                return None
            self._last_step = step
        counter = self._checkpoint.save_counter
        counter.assign_add(np.int64(1))
        if checkpoint_number is None:
            checkpoint_number = int(counter.numpy())
        elif hasattr(checkpoint_number, "numpy"):
            checkpoint_number = int(np.asarray(checkpoint_number.numpy()))
        path = self._checkpoint.write(f"{self._prefix}-{int(checkpoint_number)}", options=options)
        self._maybe_delete.pop(path, None)
        self._maybe_delete[path] = time.time()
        self._latest = path
        doomed = self._sweep()
        self._record()
        for prefix in doomed:
            for suffix in (_format.INDEX_SUFFIX, _format.DATA_SUFFIX):
                if os.path.exists(prefix + suffix):
                    os.remove(prefix + suffix)
        return path

    def _sweep(self) -> list[str]:
        """Drop the oldest checkpoints beyond `max_to_keep`; returns those whose files must go."""
        doomed = []
        if self._max_to_keep is None:
            return doomed
        while len(self._maybe_delete) > self._max_to_keep:
            path, stamp = next(iter(self._maybe_delete.items()))
            del self._maybe_delete[path]
            if self._keep_every is not None and stamp - self._keep_every * 3600.0 >= self._last_preserved:
                self._last_preserved = stamp  # kept on disk, no longer managed
                continue
            doomed.append(path)
        return doomed

    def _record(self) -> None:
        _state.update(self._directory, self._latest, list(self._maybe_delete),
                      list(self._maybe_delete.values()), self._last_preserved)

    def restore_or_initialize(self) -> str | None:
        """Restore the latest checkpoint and return its path; without one call `init_fn`, return None."""
        if self._latest is not None:
            self._checkpoint.restore(self._latest)
            if self._step_counter is not None and self._interval is not None:
                self._last_step = int(np.asarray(self._step_counter.numpy()))
            return self._latest
        if self._init_fn is not None:
            self._init_fn()
        return None

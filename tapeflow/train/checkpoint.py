"""`tf.train.Checkpoint`: save and restore the variables reachable from some objects, by object graph.

Variables are matched by the attribute path that reaches them (`net.l1.kernel`), never by their
names, so a checkpoint can be restored into a freshly built program; variables that do not exist
yet are restored when they are created (see `restore.py`). The files are described in
`format.py`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from tapeflow import errors, tracking
from tapeflow.tensor import Variable
from tapeflow.train import format as _format
from tapeflow.train import name_based as _name_based
from tapeflow.train import state as _state
from tapeflow.train.object_graph import serialize
from tapeflow.train.options import checkpoint_options, run_write_callbacks
from tapeflow.train.restore import CheckpointLoadStatus, InitializationOnlyStatus, Restoration


def _check_trackable(name: str, value: Any) -> None:
    if not (isinstance(value, (Variable, tracking.ListWrapper, tracking.DictWrapper, list, tuple, dict))
            or tracking.is_trackable_object(value)):
        raise ValueError(
            f"`Checkpoint` was expecting {name} to be a trackable object (an object derived from "
            f"`Trackable`), got {value!r}. A tf.Variable, tf.Module, Keras layer, model or optimizer, "
            "a tf.data iterator, another tf.train.Checkpoint, or a list/dict of them is expected."
        )


class Checkpoint(tracking.AutoTrackable):
    """Groups trackable objects, saving and restoring their variables (`tf.train.Checkpoint`).

    Args:
        root: an optional object whose own attributes become the checkpoint's top-level entries.
        **kwargs: objects to save, each under its keyword (`model=model, optimizer=opt`).

    Example:
        >>> ckpt = tf.train.Checkpoint(step=tf.Variable(1), net=net, optimizer=opt)
        >>> path = ckpt.save("./tf_ckpts/ckpt")           # "./tf_ckpts/ckpt-1"
        >>> ckpt.restore(path).assert_consumed()
    """

    def __init__(self, root: Any = None, **kwargs: Any) -> None:
        object.__setattr__(self, "_save_counter", None)
        if root is not None:
            _check_trackable("root", root)
        object.__setattr__(self, "_root", root)
        for name, value in sorted(kwargs.items()):
            _check_trackable(name, value)
            setattr(self, name, value)

    def _checkpoint_children(self) -> list[tuple[str, Any]]:
        out = tracking.children(self._root) if self._root is not None else []
        out += [(k, v) for k, v in vars(self).items()
                if k not in ("_save_counter", "_root") and tracking._holds_trackable(v)]
        if self._save_counter is not None:
            out.append(("save_counter", self._save_counter))
        return out

    @property
    def save_counter(self) -> Variable:
        """An int64 variable counting `save()` calls; numbers the checkpoints."""
        if self._save_counter is None:
            counter = Variable(np.int64(0), trainable=False, name="save_counter")
            object.__setattr__(self, "_save_counter", counter)
        return self._save_counter

    def write(self, file_prefix: str, options: Any = None) -> str:
        """Write a checkpoint at exactly `file_prefix` (no numbering, no state file); returns it."""
        opts = checkpoint_options(options)
        file_prefix = os.fspath(file_prefix)
        nodes, arrays = serialize(self)
        _format.write(file_prefix, nodes, arrays)
        run_write_callbacks(opts, file_prefix)
        return file_prefix

    def sync(self) -> None:
        """Wait for pending asynchronous saves: none, since every write completes before it returns."""

    def save(self, file_prefix: str, options: Any = None) -> str:
        """Write `file_prefix-N` (N = the incremented `save_counter`) and record it as the latest
        checkpoint of its directory; returns the path."""
        checkpoint_options(options)
        counter = self.save_counter
        counter.assign_add(np.int64(1))
        path = self.write(f"{os.fspath(file_prefix)}-{int(counter.numpy())}", options)
        directory = os.path.dirname(path) or "."
        _state.update(directory, path, [path])
        return path

    def read(self, save_path: str, options: Any = None) -> CheckpointLoadStatus:
        """Restore from `save_path` (as `write` returned it); returns a status object."""
        checkpoint_options(options)
        save_path = os.fspath(save_path)
        if os.path.isdir(save_path):
            raise errors.NotFoundError(
                f"{save_path!r} is a directory, not a checkpoint prefix: pass "
                "tf.train.latest_checkpoint(directory) to restore its latest checkpoint."
            )
        reader = _format.open_reader(save_path)
        if _name_based.is_name_based(reader):  # written by tf.compat.v1.train.Saver: match names
            return _name_based.NameBasedSaverStatus(reader, self)
        self.save_counter  # noqa: B018 - created now so that it is restored too (as TF does)
        return CheckpointLoadStatus(Restoration(reader, self))

    def restore(self, save_path: str | None, options: Any = None) -> Any:
        """Restore from `save_path`; values for variables not created yet are kept and assigned when
        they are. `save_path=None` restores nothing (the status's assertions then fail).

        Returns:
            a status with `assert_consumed()`, `assert_existing_objects_matched()`,
            `assert_nontrivial_match()` and `expect_partial()`.
        """
        if save_path is None:
            checkpoint_options(options)
            return InitializationOnlyStatus()
        return self.read(save_path, options)

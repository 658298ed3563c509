"""Summary writers and the per-thread summary state (default writer, step, recording condition).

`create_file_writer(logdir)` makes a writer of TensorBoard event files (through the tensorboard
package's `EventFileWriter`); `with writer.as_default():` makes it the one that `tf.summary.scalar`
and friends write to, and flushes it on exit, as TF does.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow import errors as _errors
from tapeflow.summary._tensorboard import tensorboard


class _State(threading.local):
    def __init__(self) -> None:
        self.writer: SummaryWriter | None = None
        self.step: Any = None
        self.condition: Any = True


_state = _State()


class SummaryWriter:
    """Base of summary writers (`tf.summary.SummaryWriter`): a default-writer context and flushing."""

    def set_as_default(self, step: Any = None) -> None:
        """Make this the default writer (and set the default step when `step` is given)."""
        _state.writer = self
        if step is not None:
            _state.step = step

    @contextlib.contextmanager
    def as_default(self, step: Any = None) -> Iterator[SummaryWriter]:
        """Within the block this is the default writer (and `step` the default step); flushes on exit."""
        old_writer, old_step = _state.writer, _state.step
        _state.writer = self
        if step is not None:
            _state.step = step
        try:
            yield self
        finally:
            _state.writer, _state.step = old_writer, old_step
            self.flush()

    def init(self) -> None:
        """Nothing to do: a writer is ready once created."""

    def flush(self) -> None:
        """Write pending events to disk."""

    def close(self) -> None:
        """Flush and close the writer."""

    def _write(self, value: Any, step: int) -> bool:
        return False

    def _write_event(self, event: Any) -> bool:
        return False


class _FileWriter(SummaryWriter):
    def __init__(self, logdir: str, max_queue: int, flush_secs: float, filename_suffix: str) -> None:
        self._logdir = logdir
        self._writer = tensorboard().EventFileWriter(logdir, max_queue_size=max_queue, flush_secs=flush_secs,
                                                     filename_suffix=filename_suffix)
        self._closed = False
        self._lock = threading.Lock()

    def _write(self, value: Any, step: int) -> bool:
        tb = tensorboard()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"The summary writer for {self._logdir!r} is closed.")
            event = tb.event_pb2.Event(wall_time=time.time(), step=int(step),
                                       summary=tb.summary_pb2.Summary(value=[value]))
            self._writer.add_event(event)
        return True

    def _write_event(self, event: Any) -> bool:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"The summary writer for {self._logdir!r} is closed.")
            self._writer.add_event(event)
        return True

    def flush(self) -> None:
        with self._lock:
            if not self._closed:
                self._writer.flush()

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._writer.close()
                self._closed = True
        if _state.writer is self:
            _state.writer = None

    def __repr__(self) -> str:
        return f"<SummaryWriter logdir={self._logdir!r}>"


class _NoopWriter(SummaryWriter):
    def __repr__(self) -> str:
        return "<NoopSummaryWriter>"


def create_file_writer(logdir: str, max_queue: int | None = None, flush_millis: int | None = None,
                       filename_suffix: str | None = None, experimental_trackable: bool = False,
                       experimental_mesh: Any = None) -> SummaryWriter:
    """A writer of TensorBoard event files in `logdir` (`tf.summary.create_file_writer`).

    Args:
        logdir: the directory for the event file (created if missing).
        max_queue: at most this many events wait in memory before a write (default 10).
        flush_millis: the longest time between flushes to disk in milliseconds (default 120,000).
        filename_suffix: the event file name's ending (default ".v2").

    Example:
        >>> writer = tf.summary.create_file_writer("logs/train")
        >>> with writer.as_default(step=0):
        ...     tf.summary.scalar("loss", 0.5)
    """
    if experimental_trackable:
        raise _errors.UnimplementedError(
            None, None, "experimental_trackable=True (a writer saved in a SavedModel) is not supported by Tapeflow.")
    if experimental_mesh is not None:
        raise _errors.UnimplementedError(None, None, "experimental_mesh (DTensor) is not supported by Tapeflow.")
    if logdir is None:
        raise ValueError("logdir cannot be None")
    logdir = os.fspath(logdir)
    return _FileWriter(logdir, 10 if max_queue is None else int(max_queue),
                       120.0 if flush_millis is None else flush_millis / 1000.0,
                       ".v2" if filename_suffix is None else filename_suffix)


def create_noop_writer() -> SummaryWriter:
    """A writer that writes nothing (summaries under it return False)."""
    return _NoopWriter()


def get_step() -> Any:
    """The default step (`tf.summary.experimental.get_step`), or None."""
    return _state.step


def set_step(step: Any) -> None:
    """Set the default step used when a summary op gets no `step` (an int or an int variable)."""
    _state.step = step


@contextlib.contextmanager
def record_if(condition: Any) -> Iterator[None]:
    """Record summaries inside the block only while `condition` (a bool, or a callable returning one)
    holds."""
    old = _state.condition
    _state.condition = condition
    try:
        yield
    finally:
        _state.condition = old


def _condition_holds() -> bool:
    return _holds(_state.condition)


def _holds(cond: Any) -> bool:
    if callable(cond):
        cond = cond()
    if hasattr(cond, "numpy"):
        cond = cond.numpy()
    return bool(np.asarray(cond))


def should_record_summaries() -> Any:
    """Whether summary ops would write now: a default writer is set and the record_if condition holds."""
    from tapeflow.tensor import constant

    return constant(_state.writer is not None and not isinstance(_state.writer, _NoopWriter)
                    and _condition_holds())


def flush(writer: Any = None) -> None:
    """Flush `writer` (default: the default writer) to disk; nothing when there is none."""
    writer = writer if writer is not None else _state.writer
    if writer is not None:
        writer.flush()


def capture() -> tuple[SummaryWriter | None, Any, Any]:
    """(default writer, record_if condition, default step) now: what a summary op uses, taken when
    the op is called (or traced, inside a tf.function)."""
    return _state.writer, _state.condition, _state.step


def recording_writer(writer: SummaryWriter | None, condition: Any) -> SummaryWriter | None:
    """`writer` if it writes and `condition` holds, else None."""
    if writer is None or isinstance(writer, _NoopWriter) or not _holds(condition):
        return None
    return writer

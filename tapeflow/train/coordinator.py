"""`tf.train.Coordinator`: lets a group of threads stop together, and report the first error.

Threads loop `while not coord.should_stop(): ...`; any of them calls `request_stop()` (with the
exception that ended it, or inside `with coord.stop_on_exception():`), and the main thread's
`coord.join(threads)` waits for them, then re-raises the first reported exception. Exceptions of
`clean_stop_exception_types` (default `tf.errors.OutOfRangeError`: an input ran out) stop the
threads without being reported.

Example:
    >>> coord = tf.train.Coordinator()
    >>> threads = [threading.Thread(target=work, args=(coord,)) for _ in range(4)]
    >>> for t in threads: t.start()
    >>> coord.join(threads)
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from tapeflow.errors import OutOfRangeError

_log = logging.getLogger("tapeflow")


class Coordinator:
    """A coordinator for threads (see the module doc).

    Args:
        clean_stop_exception_types: exception types that stop the threads without being an
            error (default: `(tf.errors.OutOfRangeError,)`).
    """

    def __init__(self, clean_stop_exception_types: Any = None) -> None:
        self._clean = tuple(clean_stop_exception_types) if clean_stop_exception_types is not None else (
            OutOfRangeError,)
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._error: tuple | None = None  # (type, value, traceback) of the first reported exception
        self._joined = False
        self._threads: set = set()

    def _as_exc_info(self, ex: Any) -> tuple | None:
        """`ex` (an exception, or a sys.exc_info() triple) as a triple; None for a clean stop."""
        if ex is None:
            return None
        if isinstance(ex, tuple):
            if len(ex) == 3 and ex[1] is not None:
                return None if isinstance(ex[1], self._clean) else ex
            return (ValueError, ValueError(f"ex must be a tuple or sys.exc_info must return the current exception: "
                                           f"{ex}"), None)
        if isinstance(ex, self._clean):
            return None
        current = sys.exc_info()
        if current[1] is ex:
            return current
        return (type(ex), ex, getattr(ex, "__traceback__", None))

    def request_stop(self, ex: Any = None) -> None:
        """Ask every thread to stop; `ex` (an exception or exc_info triple) is reported once.

        After `join`, a reported exception is raised here instead (the threads are gone)."""
        with self._lock:
            info = self._as_exc_info(ex)
            if self._joined and info is not None:
                raise info[1]
            if self._stopped.is_set():
                return
            if info is not None and self._error is None:
                _log.info("Error reported to Coordinator: %s", info[1])
                self._error = info
            self._stopped.set()

    def clear_stop(self) -> None:
        """Forget the stop request and any reported exception (the coordinator can be reused)."""
        with self._lock:
            self._joined = False
            self._error = None
            self._stopped.clear()

    def should_stop(self) -> bool:
        """Whether a stop was requested."""
        return self._stopped.is_set()

    @contextlib.contextmanager
    def stop_on_exception(self) -> Iterator[None]:
        """A context that turns any exception raised inside into `request_stop(exception)`."""
        try:
            yield
        except BaseException:  # noqa: BLE001 - every exception stops the threads, as TF
            self.request_stop(sys.exc_info())

    def wait_for_stop(self, timeout: float | None = None) -> bool:
        """Block until a stop is requested (or `timeout` seconds); True if it was."""
        return self._stopped.wait(timeout)

    def register_thread(self, thread: threading.Thread) -> None:
        """Add `thread` to the threads `join` waits for."""
        with self._lock:
            self._threads.add(thread)

    def join(self, threads: Any = None, stop_grace_period_secs: float = 120,
             ignore_live_threads: bool = False) -> None:
        """Wait until the threads end or a stop is requested, give them `stop_grace_period_secs`
        more to finish, then raise the first reported exception, or RuntimeError naming the
        threads still alive (unless `ignore_live_threads`)."""
        with self._lock:
            watched = list(self._threads | set(threads or ()))

        def alive() -> bool:
            return any(t.is_alive() for t in watched)

        while alive() and not self.wait_for_stop(1.0):
            pass
        deadline = time.monotonic() + stop_grace_period_secs
        pause = 0.001
        while alive() and time.monotonic() < deadline:
            time.sleep(min(pause, max(deadline - time.monotonic(), 0.001)))
            pause *= 2
        stragglers = [t.name for t in watched if t.is_alive()]
        with self._lock:
            self._joined = True
            self._threads = set()
            if self._error is not None:
                raise self._error[1]
            if stragglers:
                message = "Coordinator stopped with threads still running: " + " ".join(stragglers)
                if not ignore_live_threads:
                    raise RuntimeError(message)
                _log.info(message)

    @property
    def joined(self) -> bool:
        return self._joined

    def raise_requested_exception(self) -> None:
        """Raise the reported exception, if any (for the main thread to check early)."""
        with self._lock:
            if self._error is not None:
                raise self._error[1]

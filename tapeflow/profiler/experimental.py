"""`tf.profiler.experimental`: start / stop / Profile, Trace annotations, ProfilerOptions.

While a profile runs, Tapeflow records host spans: every `Trace` annotation (Keras's training
steps are annotated as TF's are) and every call of a traced `tf.function`, each with its thread,
start and duration. `stop()` writes them as TF does, to
`<logdir>/plugins/profile/<YYYY_MM_DD_HH_MM_SS>/<host>.xplane.pb`, for TensorBoard's profile
plugin. There are no device planes (NumPy and CuPy run ops from the host thread; their time is
inside the spans) and no per-op events inside a traced function (it replays as one generated
function). The remote profiler (server / client) needs TF's gRPC service, which Tapeflow lacks.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any, NamedTuple

from tapeflow import errors
from tapeflow.atomic_file import atomic_write
from tapeflow.profiler.xplane import encode_xspace


class ProfilerOptions(NamedTuple):
    """TF's options: host_tracer_level (1 critical, 2 info, 3 verbose), python_tracer_level,
    device_tracer_level, delay_ms (wait before profiling starts)."""

    host_tracer_level: int = 2
    python_tracer_level: int = 0
    device_tracer_level: int = 1
    delay_ms: Any = None


class _Session:
    """One running profile: its directory, options and recorded spans."""

    def __init__(self, logdir: str, options: ProfilerOptions) -> None:
        self.logdir = str(logdir)
        self.options = options
        self.start_ns = time.time_ns()
        self.record_from_ns = self.start_ns + int((options.delay_ms or 0) * 1_000_000)
        self.events: list = []
        self.lock = threading.Lock()

    def add(self, name: str, t0: int, t1: int, stats: dict) -> None:
        if t0 < self.record_from_ns:
            return
        thread = threading.current_thread()
        with self.lock:
            self.events.append((threading.get_native_id(), thread.name, name, t0, t1, stats))


_session: list = [None]
_lock = threading.Lock()


def active() -> _Session | None:
    return _session[0]


def start(logdir: str, options: ProfilerOptions | None = None) -> None:
    """Start profiling; the profile is written to `logdir` by `stop()`.

    Raises:
        tf.errors.AlreadyExistsError: when a profile is already running (TF's error).
    """
    if options is None:
        options = ProfilerOptions()
    elif not isinstance(options, ProfilerOptions):
        raise TypeError(f"tf.profiler.experimental.start: options must be a ProfilerOptions, received "
                        f"{type(options).__name__}.")
    with _lock:
        if _session[0] is not None:
            raise errors.AlreadyExistsError(None, None, "Another profiler is running.")
        _session[0] = _Session(logdir, options)
    from tapeflow.tracing import state as _trace_state

    _trace_state.profile_hooks.append(_function_span)


def stop(save: bool = True) -> None:
    """Stop profiling and (with `save`) write the profile under the `logdir` given to `start`.

    Raises:
        tf.errors.UnavailableError: when no profile is running (TF's error).
    """
    with _lock:
        session, _session[0] = _session[0], None
    if session is None:
        raise errors.UnavailableError(None, None, "Cannot export profiling results. No profiler is running.")
    from tapeflow.tracing import state as _trace_state

    if _function_span in _trace_state.profile_hooks:
        _trace_state.profile_hooks.remove(_function_span)
    if not save:
        return
    stop_ns = time.time_ns()
    run = time.strftime("%Y_%m_%d_%H_%M_%S", time.localtime(session.start_ns / 1e9))
    folder = os.path.join(session.logdir, "plugins", "profile", run)
    os.makedirs(folder, exist_ok=True)
    host = socket.gethostname() or "localhost"
    data = encode_xspace(session.events, host, session.start_ns, stop_ns)
    with atomic_write(os.path.join(folder, f"{host}.xplane.pb")) as f:
        f.write(data)


def _function_span(name: str, t0: int, t1: int) -> None:
    session = _session[0]
    if session is not None:
        session.add(name, t0, t1, {})


class Profile:
    """`with Profile(logdir):` profiles the block (start on entry, stop on exit)."""

    def __init__(self, logdir: str, options: ProfilerOptions | None = None) -> None:
        self._logdir = logdir
        self._options = options

    def __enter__(self) -> Profile:
        start(self._logdir, self._options)
        return self

    def __exit__(self, *exc: Any) -> None:
        stop()


class Trace:
    """An annotated span of host time: `with Trace("train", step_num=step, _r=1):`. Keyword
    arguments become the event's stats (TF's `step_num` and `_r=1` mark a training step). Costs
    one check when no profile runs."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        self._name = name
        self._stats = kwargs
        self._t0 = 0

    def __enter__(self) -> Trace:
        if _session[0] is not None:
            self._t0 = time.time_ns()
        return self

    def __exit__(self, *exc: Any) -> None:
        session = _session[0]
        if session is not None and self._t0:
            session.add(self._name, self._t0, time.time_ns(), dict(self._stats))

    def set_metadata(self, **kwargs: Any) -> None:
        """Add stats to the span while it is open (TF's Trace.set_metadata)."""
        self._stats.update(kwargs)


class server:  # noqa: N801 - TF's namespace name
    @staticmethod
    def start(port: int) -> None:
        """TF starts a gRPC profiler service here for remote capture; Tapeflow has no such service."""
        raise errors.UnimplementedError(
            None, None, "tf.profiler.experimental.server.start: remote profiling needs TensorFlow's gRPC "
            f"profiler service, which Tapeflow does not have (port={port!r}). Profile in-process with "
            "tf.profiler.experimental.start(logdir) / stop().")


class client:  # noqa: N801 - TF's namespace name
    @staticmethod
    def trace(service_addr: str, logdir: str, duration_ms: int, worker_list: str = "",
              num_tracing_attempts: int = 3, options: ProfilerOptions | None = None) -> None:
        """Capture from a remote profiler service: not available (see `server.start`)."""
        raise errors.UnimplementedError(
            None, None, f"tf.profiler.experimental.client.trace: Tapeflow has no remote profiler service to "
            f"capture from (service_addr={service_addr!r}). Profile in-process with "
            "tf.profiler.experimental.start(logdir) / stop().")

    @staticmethod
    def monitor(service_addr: str, duration_ms: int, level: int = 1) -> str:
        """Monitor a remote profiler service: not available (see `server.start`)."""
        raise errors.UnimplementedError(
            None, None, f"tf.profiler.experimental.client.monitor: Tapeflow has no remote profiler service "
            f"(service_addr={service_addr!r}).")


__all__ = ["Profile", "ProfilerOptions", "Trace", "client", "server", "start", "stop"]

"""`tf.compat.v1.train.SessionRunHook` and the values it exchanges with a `MonitoredSession`."""

from __future__ import annotations

from typing import Any, NamedTuple


class SessionRunHook:
    """Hook into `MonitoredSession.run` (all methods optional): `begin` before the graph is
    finalized, `after_create_session`, `before_run` (may return SessionRunArgs to add fetches /
    feeds to the call), `after_run` (sees their results), `end` when the session closes."""

    def begin(self) -> None:
        pass

    def after_create_session(self, session: Any, coord: Any) -> None:
        pass

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        return None

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        pass

    def end(self, session: Any) -> None:
        pass


class SessionRunArgs(NamedTuple):
    """What a hook adds to a run: `fetches` (any structure), `feed_dict`, `options`."""

    fetches: Any
    feed_dict: Any = None
    options: Any = None


class SessionRunValues(NamedTuple):
    """A hook's fetched `results` (in its fetches' structure), `options`, `run_metadata`."""

    results: Any
    options: Any
    run_metadata: Any


class SessionRunContext:
    """The call being run (`original_args`), the raw `session`, and `request_stop()`."""

    def __init__(self, original_args: SessionRunArgs, session: Any) -> None:
        self._original_args = original_args
        self._session = session
        self._stop_requested = False

    @property
    def original_args(self) -> SessionRunArgs:
        return self._original_args

    @property
    def session(self) -> Any:
        return self._session

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def request_stop(self) -> None:
        """Ask the MonitoredSession to stop: `should_stop()` becomes True after this run."""
        self._stop_requested = True

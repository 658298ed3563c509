"""`tf.experimental` runtime switches: `async_scope` / `async_clear_error`, `enable_strict_mode`,
`function_executor_type` and `register_filesystem_plugin`.

Tapeflow runs every op synchronously in the calling thread, so an async scope has nothing to
defer and no pending error to clear; both keep TF's calling forms.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from tapeflow.errors import UnimplementedError

_strict = [False]


@contextlib.contextmanager
def async_scope() -> Iterator[None]:
    """TF runs ops asynchronously inside; here ops already finish before returning, so errors
    surface at the op that raised them (what TF reports at the scope's end)."""
    yield


def async_clear_error() -> None:
    """Clear pending async errors: synchronous execution never leaves one pending."""


def enable_strict_mode() -> None:
    """Turn on TF's strict mode (deprecated behaviour raises); recorded in `strict_mode()`."""
    _strict[0] = True


def strict_mode() -> bool:
    """Whether `enable_strict_mode` was called."""
    return _strict[0]


_EXECUTORS = (None, "", "DEFAULT", "SINGLE_THREADED_EXECUTOR")


@contextlib.contextmanager
def function_executor_type(executor_type: Any) -> Iterator[None]:
    """Run tf.functions with `executor_type`: the default and "SINGLE_THREADED_EXECUTOR" are what
    Tapeflow's replay already is (one op after another, in this thread)."""
    if executor_type not in _EXECUTORS:
        raise UnimplementedError(None, None, f"tf.experimental.function_executor_type: executor {executor_type!r} "
                                 "does not exist here; tf.functions replay one op at a time in the calling "
                                 "thread (the default or 'SINGLE_THREADED_EXECUTOR').")
    yield


def register_filesystem_plugin(plugin_location: str) -> None:
    """Not available: TF file system plugins are shared libraries for TF's C++ runtime."""
    raise UnimplementedError(None, None, f"tf.experimental.register_filesystem_plugin({plugin_location!r}): "
                             "Tapeflow has no C++ file system layer; tf.io.gfile reads local paths and file:// "
                             "URLs.")

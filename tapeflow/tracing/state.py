"""Which `tf.function` trace is being built right now: a leaf module the engine reads.

`graphs` holds the FuncGraphs being traced, innermost last. A `None` entry suspends tracing
(`tf.init_scope`, shape probes, eager evaluation of variable initial values): ops then run
eagerly even though a trace is in progress. Reading `graphs` is the engine's whole cost of
tracing support when no trace is active.
"""

from __future__ import annotations

from typing import Any

graphs: list = []

# Functions called with every concrete function about to run (`tf.summary.trace_on` notes graphs).
call_observers: list = []
# Called as hook(function name, start ns, end ns) after each tf.function call while
# tf.profiler records (tapeflow/profiler/experimental.py).
profile_hooks: list = []

# `tf.config.run_functions_eagerly(True)`: tf.functions call their Python function instead.
run_eagerly = [False]


def current() -> Any:
    """The FuncGraph that ops record into now, or None (eager)."""
    return graphs[-1] if graphs else None


class suspended:  # noqa: N801 - used as a context manager, like a function
    """Run the body eagerly although a trace may be in progress."""

    __slots__ = ()

    def __enter__(self) -> None:
        graphs.append(None)

    def __exit__(self, *exc: Any) -> None:
        graphs.pop()

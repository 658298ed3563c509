"""What converted graph control flow needs from a trace beyond `tf.cond`/`tf.while_loop`:
initial values for loop variables first assigned inside the loop, and run-time checks.

TF's AutoGraph accepts a graph loop whose variable is first assigned in the body
(`while x > 0: y = x; ...`, then `y` read after the loop): it traces the body once in a
scratch graph to learn the variable's dtype and shape, starts the loop from zeros of that
type, and checks at run time that the loop ran at least once. This module does the same with
a throwaway `FuncGraph`, and records run-time checks (`assert` on tensors, that loop check)
as stateful lifted calls that raise `tf.errors.InvalidArgumentError` when the graph runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapeflow.autograph.errors import describe
from tapeflow.autograph.variables import Undefined
from tapeflow.tensor import Tensor


def _engine() -> Any:
    import tapeflow

    return tapeflow


def probe_undefined(init: tuple, names: tuple, run_body: Callable, get_state: Callable, set_state: Callable,
                    where: tuple | None) -> tuple:
    """`init` with each `Undefined` replaced by zeros of the type the body gives it.

    `run_body()` runs one iteration; it is traced into a scratch graph that is then dropped
    (its Python side effects do happen once more, as in TF).
    """
    from tapeflow.tracing import state
    from tapeflow.tracing.func_graph import FuncGraph

    scratch = FuncGraph("autograph_probe")
    parent = state.current()
    if parent is not None:
        scratch._names = parent._names
    with scratch:
        set_state(init)
        try:
            run_body()
        except UnboundLocalError as e:
            undefined = [n for n, v in zip(names, init, strict=True) if type(v) is Undefined]
            raise ValueError(f"{', '.join(repr(n) for n in undefined)} must be defined before the loop: the loop "
                             f"body reads it before assigning it ({e})" + describe(where)) from None
        probed = get_state()
    set_state(init)
    out = []
    for name, value, seen in zip(names, init, probed, strict=True):
        if type(value) is not Undefined:
            out.append(value)
            continue
        out.append(_zeros_like(name, seen, where))
    return tuple(out)


def _zeros_like(name: str, value: Any, where: tuple | None) -> Tensor:
    tapeflow = _engine()
    if not isinstance(value, Tensor):
        try:
            value = tapeflow.convert_to_tensor(value)
        except (TypeError, ValueError):
            raise ValueError(f"'{name}' must be defined before the loop: it is first assigned a "
                             f"{type(value).__name__} inside the loop, which a graph loop cannot start from "
                             "zeros" + describe(where)) from None
    if not value.shape.is_fully_defined():
        raise ValueError(f"'{name}' must be defined before the loop: it is first assigned inside the loop with "
                         f"shape {value.shape}, which is not fully known" + describe(where))
    return tapeflow.zeros(tuple(value.shape), dtype=value.dtype)


def check_at_run_time(check: Callable, args: tuple, name: str) -> None:
    """Record `check(*args)` (which raises on failure) to run every time the graph runs."""
    from tapeflow.tracing.func_graph import lift_call

    lift_call(check, args, name=name, stateful=True, result=None)


def require_iteration(ran: Tensor, names: list, where: tuple | None) -> None:
    """Fail at run time when the loop never ran (its first-assigned variables stay zeros)."""

    def check(value: Any) -> None:
        if not bool(value):
            from tapeflow.errors import InvalidArgumentError

            raise InvalidArgumentError(f"loop must iterate at least once to initialize {', '.join(names)}"
                                       + describe(where))

    check_at_run_time(check, (ran,), "autograph_loop_ran")


def graph_assert(test: Tensor, message: Callable | None, where: tuple | None) -> None:
    """`assert test, message` on a symbolic test: fails when the graph runs with a false test
    (message evaluated while tracing, like the data of `tf.debugging.Assert`)."""
    text = str(message()) if message is not None else "Assertion failed"
    text += describe(where)

    def check(value: Any) -> None:
        if not bool(_engine().reduce_all(value)):
            from tapeflow.errors import InvalidArgumentError

            raise InvalidArgumentError(text)

    check_at_run_time(check, (test,), "autograph_assert")

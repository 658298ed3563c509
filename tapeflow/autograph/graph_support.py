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
                    where: tuple | None) -> tuple[tuple, dict]:
    """`init` with each `Undefined` replaced by zeros of the type the body gives it, and the
    shape invariants those need (`{position: shape}` where the body's shape has unknown
    dimensions: the zeros then have size 0 there).

    `run_body(index)` runs one iteration (`index`: a placeholder loop counter); it is traced
    into a scratch graph that is then dropped (its Python side effects do happen once more,
    as in TF).
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
            run_body(scratch.placeholder((), "int32", "autograph_probe_index"))
        except UnboundLocalError as e:
            undefined = [n for n, v in zip(names, init, strict=True) if type(v) is Undefined]
            raise ValueError(f"{', '.join(repr(n) for n in undefined)} must be defined before the loop: the loop "
                             f"body reads it before assigning it ({e})" + describe(where)) from None
        probed = get_state()
    set_state(init)
    out, invariants = [], {}
    for k, (name, value, seen) in enumerate(zip(names, init, probed, strict=True)):
        if type(value) is not Undefined:
            out.append(value)
            continue
        zeros = _zeros_like(name, seen, where)
        if not seen.shape.is_fully_defined():
            invariants[k] = seen.shape
        out.append(zeros)
    return tuple(out), invariants


def _zeros_like(name: str, value: Any, where: tuple | None) -> Tensor:
    """Zeros of `value`'s dtype and shape (size 0 in unknown dimensions)."""
    tapeflow = _engine()
    if not isinstance(value, Tensor):
        try:
            value = tapeflow.convert_to_tensor(value)
        except (TypeError, ValueError):
            raise ValueError(f"'{name}' must be defined before the loop: it is first assigned a "
                             f"{type(value).__name__} inside the loop, which a graph loop cannot start from "
                             "zeros" + describe(where)) from None
    return tapeflow.zeros([0 if d is None else d for d in value.shape], dtype=value.dtype)


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


def is_dataset(value: Any) -> bool:
    """Whether `value` is a `tf.data.Dataset` or an iterator over one."""
    from tapeflow.data.dataset import Dataset, DatasetIterator

    return isinstance(value, (Dataset, DatasetIterator))


def dataset_steps(source: Any) -> tuple[Callable, Callable]:
    """`(more, element)` for a graph loop over a dataset (or its iterator), as TF's AutoGraph
    makes `for x in dataset` inside `tf.function` a loop that reads the dataset when the graph
    runs, not while tracing.

    Three stateful lifted calls do it on every run: one (recorded now, before the loop) starts
    iterating, `more(i)` fetches the next element into a holder and says whether there was one,
    and `element(i)` returns it as graph tensors typed by the dataset's `element_spec` (`i`,
    the loop counter, only gives the shape probe of `element` two sizes for unknown dimensions).
    A dataset starts over on each run; an iterator continues where it stopped, as in TF.
    """
    from tapeflow import nest
    from tapeflow.tracing.func_graph import lift_call

    tapeflow = _engine()
    holder: dict = {}

    def start() -> None:
        holder["iterator"] = iter(source)

    def fetch(_index: Any) -> Tensor:
        try:
            holder["element"] = next(holder["iterator"])
        except StopIteration:
            return tapeflow.constant(False)
        return tapeflow.constant(True)

    def element(_index: Any) -> Any:
        return holder["element"]

    spec = source.element_spec

    def probe_element(index: Any) -> Any:
        size = int(index)  # the probe's stand-in value: 2, then 3
        return nest.map_structure(
            # An element of unknown rank (from_generator without shapes) probes as a scalar.
            lambda s: tapeflow.zeros([size if d is None else d for d in (s.shape or ())], dtype=s.dtype), spec)

    lift_call(start, (), name="dataset_iterator", stateful=True, result=None)
    more = lambda i: lift_call(fetch, (i,), name="dataset_has_next", stateful=True,  # noqa: E731
                               probe=lambda _i: tapeflow.constant(True))
    get = lambda i: lift_call(element, (i,), name="dataset_next", stateful=True, probe=probe_element)  # noqa: E731
    return more, get

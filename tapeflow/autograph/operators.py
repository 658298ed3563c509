"""The runtime operators that converted code calls: `if_stmt`, `while_stmt`, `for_stmt`,
`and_`, `or_`, `not_`, `if_exp` and `assert_stmt`.

Each decides at run time. A Python value or a concrete (eager) tensor runs ordinary Python
control flow, with Python's semantics and side effects. A symbolic tensor (one being traced
by `tf.function`: a `Tensor` whose `_value` is None) builds graph control flow with
`tf.cond` / `tf.while_loop`, carrying the block's state variables (read with `get_state`,
written with `set_state`); errors about that state name the variable and the user's line.
Loops go further, as in TF, where every tensor in a trace is a graph tensor: a `for` over any
tensor, or a `while` whose condition is any tensor, becomes a graph loop while tracing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import errors as _errors
from tapeflow.autograph import call, checks, graph_support, loop_options
from tapeflow.autograph.errors import describe, with_location
from tapeflow.autograph.variables import Undefined
from tapeflow.tensor import Tensor, Variable


def is_symbolic(value: Any) -> bool:
    """Whether `value` is a tensor without a value yet (traced, not eager)."""
    return isinstance(value, Tensor) and value._value is None


def _engine() -> Any:
    import tapeflow

    return tapeflow


def _graph_tensor(value: Any) -> bool:
    """Whether a loop over/while `value` becomes a graph loop: a symbolic tensor, or any tensor
    while a `tf.function` is being traced (in TF every tensor in a trace is a graph tensor)."""
    if not isinstance(value, Tensor):
        return False
    return value._value is None or _tracing()


def _tracing() -> bool:
    from tapeflow.tracing.func_graph import tracing

    return tracing()


def _staged(value: Any) -> Any:
    """A `tf.Variable` read as a graph tensor while tracing (in TF a variable in a trace is read
    when the graph runs: `if flag_variable:` must not be decided at trace time), else `value`."""
    if isinstance(value, Variable):
        from tapeflow.tracing.func_graph import tracing

        if tracing():
            return value.read_value()
    return value


def _graph_op(name: str, where: tuple | None) -> Callable:
    """`tf.<name>` from the engine, or an error naming the construct that needs it."""
    op = getattr(_engine(), name, None)
    if op is None:
        raise _errors.UnimplementedError(None, None,
            f"AutoGraph needs tf.{name} for control flow on a symbolic tensor; this Tapeflow has no tf.{name}"
            + describe(where))
    return op


def _condition(value: Any, tag: str, where: tuple | None) -> Tensor:
    """A symbolic condition as a scalar bool tensor (TF's check on `if`/`while` conditions)."""
    if value.dtype.name != "bool":
        raise ValueError(f"condition of {tag} expected to be `tf.bool` scalar, got {value}; to use as boolean "
                         f"Tensor, use `tf.cast`; to check for None, use `is not None`" + describe(where))
    known = [d for d in value.shape if d is not None]
    if int(np.prod(known)) > 1:
        raise ValueError(f"condition of {tag} expected to be `tf.bool` scalar, got {value}" + describe(where))
    return value if len(value.shape) == 0 else _engine().reshape(value, ())


def _python_truth(value: Any, where: tuple | None) -> bool:
    """A Python loop's condition, which must stay a Python value (or eager tensor)."""
    if is_symbolic(value):
        raise _errors.UnimplementedError(None, None,
            "The condition of while loop started as non-Tensor, then changed to Tensor. This may happen either "
            "because variables changed type, or when a break or return statement inside the loop depends on a "
            "Tensor condition. In both cases, changing to a TF loop should remove the error." + describe(where))
    return bool(value)


# -- if --------------------------------------------------------------------------------------
def if_stmt(cond: Any, body: Callable, orelse: Callable, get_state: Callable, set_state: Callable,
            symbol_names: tuple, where: tuple | None = None) -> None:
    """An `if` statement: `tf.cond` over the state for a symbolic `cond`, else Python's `if`."""
    cond = _staged(cond)
    if is_symbolic(cond):
        _graph_if(cond, body, orelse, get_state, set_state, symbol_names, where)
    elif cond:
        body()
    else:
        orelse()


def _graph_if(cond: Tensor, body: Callable, orelse: Callable, get_state: Callable, set_state: Callable,
              names: tuple, where: tuple | None) -> None:
    cond = _condition(cond, "if statement", where)
    init = get_state()
    results: dict = {}

    def branch(fn: Callable, label: str) -> Callable:
        def run() -> tuple:
            set_state(init)
            fn()
            values = get_state()
            checks.branch_vars(values, names, label, where)
            results[label] = values
            if len(results) == 2:
                checks.cond_vars(results["main"], results["else"], names, where)
            return checks.to_tensors(values)

        return run

    try:
        outputs = _graph_op("cond", where)(cond, branch(body, "main"), branch(orelse, "else"))
    except Exception as e:
        with_location(e, where)
        raise
    set_state(tuple(outputs) if names else ())


# -- while -----------------------------------------------------------------------------------
def while_stmt(test: Callable, body: Callable, get_state: Callable, set_state: Callable,
               symbol_names: tuple, where: tuple | None = None, opts: dict | None = None) -> None:
    """A `while` loop: `tf.while_loop` over the state when the condition is a tensor in a trace.

    `opts` (from `set_loop_options`) applies to the graph loop only, as in TF."""
    cond = _staged(test())
    if _graph_tensor(cond):
        _graph_loop(test, body, None, get_state, set_state, symbol_names, where, "while loop", opts)
        return
    while _python_truth(cond, where):
        body()
        cond = test()


class _Counter:
    """How a graph `for` walks its iterable: an index from `start`, while `more(index)`,
    giving `element(index)` to the body and stepping by `delta`."""

    def __init__(self, start: Any, more: Callable, element: Callable, delta: Any) -> None:
        self.start, self.more, self.element, self.delta = start, more, element, delta


def _tensor_counter(tensor: Tensor, where: tuple | None) -> _Counter:
    """Iterate over the first dimension of `tensor` (gathering one slice per iteration)."""
    tapeflow = _engine()
    if len(tensor.shape) == 0:
        raise TypeError("Cannot iterate over a scalar (rank-0) tensor." + describe(where))
    length = tensor.shape[0] if tensor.shape[0] is not None else tapeflow.shape(tensor)[0]
    return _Counter(tapeflow.constant(0), lambda i: tapeflow.less(i, length),
                    lambda i: tapeflow.gather(tensor, i), 1)


def _range_counter(tensor: Tensor, bounds: tuple) -> _Counter:
    """Iterate over `tf.range(start, limit, delta)` by counting (no range tensor needed)."""
    tapeflow = _engine()
    start, limit, delta = bounds
    start = tapeflow.cast(start, tensor.dtype)
    if isinstance(delta, Tensor):
        up = tapeflow.greater(delta, 0)
        more = lambda i: tapeflow.logical_or(tapeflow.logical_and(up, tapeflow.less(i, limit)),
                                             tapeflow.logical_and(tapeflow.logical_not(up), tapeflow.greater(i, limit)))
        delta = tapeflow.cast(delta, tensor.dtype)
    elif delta > 0:
        more = lambda i: tapeflow.less(i, limit)
    else:
        more = lambda i: tapeflow.greater(i, limit)
    return _Counter(start, more, lambda i: i, delta)


def _graph_loop(test: Callable, body: Callable, counter: _Counter | None, get_state: Callable,
                set_state: Callable, names: tuple, where: tuple | None, tag: str, opts: dict | None) -> None:
    """`tf.while_loop` over the state (plus an index when `counter` walks an iterable)."""
    tapeflow = _engine()
    init = get_state()
    invariants = loop_options.shape_invariants(opts, init, names, where)
    undefined = [n for n, v in zip(names, init, strict=True) if type(v) is Undefined]
    if undefined:  # first assigned inside the loop: start from zeros of the type one iteration gives
        if counter is not None:  # the probe's index placeholder, typed as the loop's counter
            run_once = lambda i: body(counter.element(tapeflow.cast(i, counter.start.dtype)))  # noqa: E731
        else:
            run_once = lambda _i: body()  # noqa: E731
        init, relaxed = graph_support.probe_undefined(init, names, run_once, get_state, set_state, where)
        if relaxed:
            invariants = [relaxed.get(k, s) for k, s in enumerate(invariants or [None] * len(init))]
    checks.loop_init_vars(init, names, where)
    init = checks.to_tensors(init)
    has_state = bool(names)
    prefix = [counter.start] if counter is not None else []
    if undefined:
        prefix.append(tapeflow.constant(False))  # whether the body ran at least once
    n_prefix = len(prefix)
    loop_vars = (*prefix, *(init if has_state else (tapeflow.constant(0),)))  # while_loop needs a variable

    def split(vars_: tuple) -> tuple:
        state = vars_[n_prefix:]
        set_state(tuple(state) if has_state else ())
        return (vars_[0] if counter is not None else None), state

    def cond_fn(*vars_: Any) -> Tensor:
        index, _ = split(vars_)
        go = test()
        if counter is None:
            return _condition(go, tag, where)
        if go is None:
            return counter.more(index)
        if not isinstance(go, Tensor):
            return counter.more(index) if go else tapeflow.constant(False)
        # NOTE: `more` only after the extra test (a `break`) passed: fetching from a dataset
        # iterator consumes an element, which TF does not do after a break
        go = _condition(go, tag, where)
        return _graph_op("cond", where)(go, lambda: counter.more(index), lambda: tapeflow.constant(False))

    def body_fn(*vars_: Any) -> tuple:
        index, entry = split(vars_)
        if counter is not None:
            body(counter.element(index))
        else:
            body()
        out = get_state()
        if has_state:
            checks.loop_iteration_vars(entry, out, names, where, invariants)
            out = checks.to_tensors(out)
        else:
            out = tuple(entry)
        head = [index + counter.delta] if counter is not None else []
        if undefined:
            head.append(tapeflow.constant(True))
        return (*head, *out)

    kwargs = loop_options.while_loop_kwargs(opts, invariants, tuple(init), n_prefix)
    try:
        final = tuple(_graph_op("while_loop", where)(cond_fn, body_fn, loop_vars, **kwargs))
    except Exception as e:
        with_location(e, where)
        raise
    if undefined:
        graph_support.require_iteration(final[n_prefix - 1], undefined, where)
    set_state(final[n_prefix:] if has_state else ())


# -- for -------------------------------------------------------------------------------------
def for_stmt(iterable: Any, extra_test: Callable | None, body: Callable, get_state: Callable,
             set_state: Callable, symbol_names: tuple, where: tuple | None = None, opts: dict | None = None) -> None:
    """A `for` loop: over a tensor's first dimension in a trace (or a `tf.range` made in the
    trace, by counting) with `tf.while_loop`; over anything else (lists, dicts, generators,
    eager tensors outside traces, `range`) in Python, stopping before an iteration when
    `extra_test()` (the lowered `break`/`return` flags) is false. `opts` (from
    `set_loop_options`) applies to the graph loop only, as in TF."""
    iterable = _staged(iterable)
    if graph_support.is_dataset(iterable) and _tracing():
        more, element = graph_support.dataset_steps(iterable)
        counter = _Counter(_engine().constant(0), more, element, 1)
        test = extra_test if extra_test is not None else (lambda: None)
        _graph_loop(test, body, counter, get_state, set_state, symbol_names, where, "for loop", opts)
        return
    bounds = call.range_bounds(iterable) if isinstance(iterable, Tensor) else None
    if bounds is not None or _graph_tensor(iterable):
        counter = _range_counter(iterable, bounds) if bounds else _tensor_counter(iterable, where)
        test = extra_test if extra_test is not None else (lambda: None)
        _graph_loop(test, body, counter, get_state, set_state, symbol_names, where, "for loop", opts)
        return
    iterator = iter(iterable)
    while True:
        if extra_test is not None:
            go = extra_test()
            if is_symbolic(go):
                raise _errors.UnimplementedError(None, None,
                    "break and return statements which depend on a TF condition are not supported in Python "
                    "for loops. Did you intend to make it a TF loop?" + describe(where))
            if not go:
                return
        try:
            item = next(iterator)
        except StopIteration:
            return
        body(item)


# -- expressions -----------------------------------------------------------------------------
def and_(a: Callable, b: Callable, where: tuple | None = None) -> Any:
    """`a and b`: lazy `tf.cond` when `a` is symbolic, else Python's `and`."""
    value = _staged(a())
    if is_symbolic(value):
        return _lazy_logical(value, b, "and", where)
    return value and b()


def or_(a: Callable, b: Callable, where: tuple | None = None) -> Any:
    """`a or b`: lazy `tf.cond` when `a` is symbolic, else Python's `or`."""
    value = _staged(a())
    if is_symbolic(value):
        return _lazy_logical(value, b, "or", where)
    return value or b()


def _lazy_logical(value: Tensor, b: Callable, op: str, where: tuple | None) -> Tensor:
    """`value and b()` / `value or b()` with `b` evaluated only on the branch that needs it."""
    value = _condition(value, f"`{op}`", where)
    rest = lambda: checks.to_tensors((b(),))[0]
    same = lambda: value
    cond = _graph_op("cond", where)
    try:
        return cond(value, rest, same) if op == "and" else cond(value, same, rest)
    except Exception as e:
        with_location(e, where)
        raise


def not_(value: Any) -> Any:
    """`not value`: `tf.logical_not` for a symbolic tensor, else Python's `not`."""
    value = _staged(value)
    if is_symbolic(value):
        return _engine().logical_not(value)
    return not value


def if_exp(cond: Any, if_true: Callable, if_false: Callable, where: tuple | None = None) -> Any:
    """`if_true() if cond else if_false()`, as `tf.cond` for a symbolic `cond`."""
    cond = _staged(cond)
    if is_symbolic(cond):
        cond = _condition(cond, "conditional expression", where)
        true_fn = lambda: checks.to_tensors((if_true(),))[0]
        false_fn = lambda: checks.to_tensors((if_false(),))[0]
        try:
            return _graph_op("cond", where)(cond, true_fn, false_fn)
        except Exception as e:
            with_location(e, where)
            raise
    return if_true() if cond else if_false()


def assert_stmt(test: Any, message: Callable | None, where: tuple | None = None) -> None:
    """`assert test, message`: Python's assert for values; `tf.debugging.Assert` (failing
    when the graph runs) for a symbolic test."""
    test = _staged(test)
    if is_symbolic(test):
        graph_support.graph_assert(test, message, where)
        return
    if not test:
        if message is None:
            raise AssertionError
        raise AssertionError(message())

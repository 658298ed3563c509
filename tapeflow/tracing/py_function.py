"""`tf.py_function` / `tf.numpy_function`: Python code run eagerly, also inside tf.function.

Inside a trace the call is one stateful node that runs the Python function on every call of
the traced function. Its outputs' shapes are learned by running it once on stand-in values
while tracing (its printing then is silenced), since graph tensors here need a shape.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.errors import InvalidArgumentError
from tapeflow.tensor import Tensor, convert_to_tensor
from tapeflow.tracing import func_graph


def _call(func: Callable, inp: list, tout: Any, numpy_args: bool) -> Any:
    args = [x.numpy() if numpy_args and isinstance(x, Tensor) else x for x in inp]
    out = func(*args)
    if tout is None:
        return None
    if isinstance(tout, (list, tuple)):
        if not tout and out is None:  # Tout=() for a function run for its side effects: no outputs, as TF
            return []
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        if len(outs) != len(tout):
            raise ValueError(f"py_function: {getattr(func, '__name__', 'func')} returned {len(outs)} value(s), "
                             f"Tout names {len(tout)}.")
        return [convert_to_tensor(o, dtype=_dt.as_dtype(t)) for o, t in zip(outs, tout, strict=True)]
    return convert_to_tensor(out, dtype=_dt.as_dtype(tout))


# Python functions traced into graphs, by token (TF's FuncRegistry): a SavedModel saves a
# py_function by its token, and a loaded function calls the function registered under it in
# this process, or fails as TF's does in a process that never traced it. PROCESS tells the
# processes apart, so a token from another process never names a function of this one.
_CALLBACKS: dict = {}
PROCESS = uuid.uuid4().hex


def registered_callback(token: str, process: str) -> Callable:
    """The traced function saved as `token` by `process`, or TF's InvalidArgumentError."""
    entry = _CALLBACKS.get(token) if process == PROCESS else None
    if entry is None:
        raise InvalidArgumentError(
            None, None, f"ValueError: Could not find callback with key={token} in the registry. (A "
            "tf.py_function's Python function exists only in the process that traced it.)")
    return entry


def _traced_call(func: Callable, tout: Any, numpy_args: bool, op: str) -> Callable:
    token = f"pyfunc_{len(_CALLBACKS)}"

    def call(*values: Any) -> Any:
        return _call(func, list(values), tout, numpy_args)

    _CALLBACKS[token] = call
    call.py_function = {"token": token, "process": PROCESS, "op": op}
    return call


def _run(func: Callable, inp: Any, tout: Any, numpy_args: bool, name: str) -> Any:
    inp = list(inp) if isinstance(inp, (list, tuple)) else [inp]
    inp = [x if isinstance(x, Tensor) or not isinstance(x, (int, float, bool, list, np.ndarray))
           else convert_to_tensor(x) for x in inp]
    if not func_graph.tracing():
        return _call(func, inp, tout, numpy_args)

    def probe(*values: Any) -> Any:
        with contextlib.redirect_stdout(io.StringIO()):
            return _call(func, list(values), tout, numpy_args)

    if tout is None:
        func_graph.lift_call(_traced_call(func, None, numpy_args, name), tuple(inp), name=name, stateful=True)
        return None
    return func_graph.lift_call(_traced_call(func, tout, numpy_args, name), tuple(inp), name=name, stateful=True,
                                probe=probe)


def py_function(func: Callable | None = None, inp: Any = None, Tout: Any = None, name: str | None = None) -> Any:  # noqa: N803
    """Run `func(*inp)` (on Tensors) eagerly, also inside tf.function; returns tensors of `Tout`.

    Args:
        func: a Python function of tensors.
        inp: the input tensors (a list).
        Tout: the output dtype, a list of them, or None for no output.
        name: accepted for TF compatibility.

    Also usable as a decorator: `@tf.py_function(Tout=tf.float32)`.
    """
    if func is None:
        return lambda f: _decorated(f, Tout, False)
    if inp is None:
        return _decorated(func, Tout, False)
    return _run(func, inp, Tout, False, "EagerPyFunc")


def numpy_function(func: Callable | None = None, inp: Any = None, Tout: Any = None, stateful: bool = True,
                   name: str | None = None) -> Any:  # noqa: N803
    """Like `py_function`, but `func` receives NumPy arrays (`tf.numpy_function`)."""
    if func is None:
        return lambda f: _decorated(f, Tout, True)
    if inp is None:
        return _decorated(func, Tout, True)
    return _run(func, inp, Tout, True, "PyFunc")


def _decorated(func: Callable, tout: Any, numpy_args: bool) -> Callable:
    def wrapper(*args: Any) -> Any:
        return _run(func, list(args), tout, numpy_args, "EagerPyFunc")

    wrapper.__name__ = getattr(func, "__name__", "py_function")
    wrapper.__doc__ = func.__doc__
    return wrapper


"""The primitive behind every `tf.strings` op: a non-differentiable `Function` around a function
of host arrays, so string ops run eagerly, trace into `tf.function` graphs and replay there.

Ops here work on whole object arrays of `bytes`: NumPy's object-array arithmetic and
`np.frompyfunc` apply a per-string Python function across the array (strings have no SIMD form
in NumPy), never a Python loop over indices in op code.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow import string_values as _sv
from tapeflow.autodiff.function import Function
from tapeflow.errors import InvalidArgumentError
from tapeflow.tensor import Tensor, convert_to_tensor
from tapeflow.tracing import func_graph


class StringOp(Function):
    """`fn(*arrays, **params)` on the inputs' host arrays; no gradient (strings have none)."""

    differentiable = False

    def __init__(self, op_name: str, fn: Callable, n_outputs: int = 1, **params: Any) -> None:
        self.op_name = op_name
        self.fn = fn
        self.n_outputs = n_outputs
        self.params = params

    @property
    def name(self) -> str:
        return self.op_name

    def forward(self, *xs: Any) -> Any:
        return self.fn(*xs, **self.params)


def apply(op_name: str, fn: Callable, *inputs: Tensor, n_outputs: int = 1, stand_in: Callable | None = None,
          **params: Any) -> Any:
    """Run `fn` as a `StringOp` named `op_name` on `inputs`.

    `stand_in(*arrays)`, for ops whose success depends on string contents (positions within
    strings, ...), gives a correctly typed and shaped output for a trace's stand-in values
    when `fn` refuses them; the op then runs on the real values at each call.
    """
    op = StringOp(op_name, fn, n_outputs, **params)
    if stand_in is None or not func_graph.tracing() or all(x._value is not None for x in inputs):
        return op(*inputs)

    def probe(*xs: Tensor) -> Any:
        try:
            return StringOp(op_name, fn, n_outputs, **params)(*xs)
        except InvalidArgumentError:
            return Tensor(stand_in(*(x._value for x in xs)))

    return func_graph.lift_call(lambda *xs: StringOp(op_name, fn, n_outputs, **params)(*xs), inputs,
                                name=op_name, stateful=False, probe=probe)


def string_input(x: Any, op: str, arg: str = "input") -> Tensor:
    """`x` as a tf.string tensor; other dtypes are refused with the op and argument named."""
    if not isinstance(x, Tensor):
        try:
            x = convert_to_tensor(x, dtype=_dt.string)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{op}: `{arg}` must be strings, received {_short(x)} ({e})") from None
    if x.dtype is not _dt.string:
        raise TypeError(f"{op}: `{arg}` must be a tf.string tensor, received dtype {x.dtype.name}.")
    return x


def int_input(x: Any, op: str, arg: str, dtype: Any = _dt.int32) -> Tensor:
    """`x` as an integer tensor (Python ints take `dtype`)."""
    t = x if isinstance(x, Tensor) else convert_to_tensor(x, dtype_hint=dtype)
    if not t.dtype.is_integer:
        raise TypeError(f"{op}: `{arg}` must be an integer tensor, received dtype {t.dtype.name}.")
    return t


def elementwise(fn: Callable, *arrays: Any, dtype: Any = object) -> np.ndarray:
    """`fn` applied to every element of the broadcast `arrays`, as an array of `dtype`."""
    out = np.frompyfunc(fn, len(arrays), 1)(*arrays)
    if dtype is object:
        return out if isinstance(out, np.ndarray) else _sv.scalar(out)
    return np.asarray(out, dtype=object).astype(dtype)


def check_choice(value: Any, choices: tuple, op: str, arg: str) -> str:
    if value not in choices:
        raise InvalidArgumentError(f"{op}: `{arg}` must be one of {', '.join(map(repr, choices))}, "
                                   f"received {value!r}.")
    return value


def as_bytes(value: Any, op: str, arg: str) -> bytes:
    """A Python str/bytes argument (separator, pattern, ...) as bytes."""
    if isinstance(value, Tensor):
        value = value.numpy()
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return bytes(value)
    raise TypeError(f"{op}: `{arg}` must be a string, received {_short(value)}.")


def is_ragged(x: Any) -> bool:
    """Whether `x` is a `tf.RaggedTensor` (checked by name: tf.ragged may not be loaded)."""
    return any(c.__name__ == "RaggedTensor" for c in type(x).__mro__)


def ragged_elementwise(fn: Callable) -> Callable:
    """`fn` (an elementwise op whose first argument is the strings) also takes a RaggedTensor:
    it runs on the flat values and the result keeps the row partitions, as TF dispatches it."""

    first = next(iter(inspect.signature(fn).parameters))

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        x = args[0] if args else kwargs.get(first)
        if not is_ragged(x):
            return fn(*args, **kwargs)
        if args:
            args = (x.flat_values, *args[1:])
        else:
            kwargs[first] = x.flat_values
        return x.with_flat_values(fn(*args, **kwargs))

    return wrapper


def refuse_ragged(x: Any, op: str) -> None:
    if is_ragged(x):
        raise TypeError(f"{op}: RaggedTensor input is not supported here yet; pass a dense string "
                        "tensor (e.g. `x.to_tensor()`).")


def _short(value: Any) -> str:
    r = f"{type(value).__name__} {value!r}"
    return r if len(r) <= 70 else r[:67] + "..."

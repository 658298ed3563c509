"""Run a stateful Keras method on given values instead of its variables' own (the `stateless_*`
methods of optimizers and metrics, Keras 3's functional API): the values are installed as copies,
the method runs, the new values are read back, and the variables get their own arrays again."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tapeflow import backend as _backend
from tapeflow.tensor import Tensor, Variable


@contextlib.contextmanager
def substituted(variables: list, values: list) -> Iterator[None]:
    """Inside the block, each variable holds a copy of its value (shape and dtype checked);
    afterwards it holds its own array again, untouched."""
    saved = [v._value for v in variables]
    try:
        for var, value in zip(variables, values, strict=True):
            own = var._value
            a = value._value if isinstance(value, Tensor) else value
            a = _backend.asarray(a, own.dtype, _backend.get_xp(own))
            if tuple(a.shape) != tuple(own.shape):
                raise ValueError(f"Variable {var.name} has shape {tuple(own.shape)}; the value given for it has "
                                 f"shape {tuple(a.shape)}.")
            var._value = a.copy()
        yield
    finally:
        for var, own in zip(variables, saved, strict=True):
            var._value = own


def current_values(variables: list) -> list:
    """The variables' values as new tensors (copies, so later updates do not reach them)."""
    return [Tensor(v._value.copy()) for v in variables]


def check_count(what: str, owner: str, values: list, variables: list[Variable]) -> None:
    if len(values) != len(variables):
        raise ValueError(f"Argument `{what}` must be a list of tensors corresponding 1:1 to {owner}().variables. "
                         f"Received list with length {len(values)}, but expected {len(variables)} variables.")

"""Checks on the state that graph control flow carries, with TF AutoGraph's messages.

A variable carried through `tf.cond` must be defined in both branches with the same
structure and dtypes; one carried through `tf.while_loop` must be defined before the loop
and keep its structure, dtype and shape across an iteration. Each message names the
variable and ends with the user's source line.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from tapeflow import errors as _errors
from tapeflow.autograph.errors import describe
from tapeflow.autograph.variables import Undefined, UndefinedReturnValue
from tapeflow.tensor import Tensor

_SCALARS = (bool, numbers.Number, np.generic, np.ndarray)


def to_tensors(values: tuple) -> tuple:
    """`values` with Python and NumPy numbers as tensors (graph control flow outputs tensors)."""
    import tapeflow

    def convert(v: Any) -> Any:
        if isinstance(v, (list, tuple)) and not hasattr(v, "_fields"):
            return type(v)(convert(x) for x in v)
        if isinstance(v, dict):
            return {k: convert(x) for k, x in v.items()}
        if isinstance(v, _SCALARS) and not isinstance(v, Tensor):
            return tapeflow.convert_to_tensor(v)
        return v

    return tuple(convert(v) for v in values)


def _structure(v: Any) -> Any:
    """`v`'s nesting with leaves replaced by a marker (tensors and numbers alike)."""
    if isinstance(v, dict):
        return ("dict", tuple((k, _structure(v[k])) for k in sorted(v, key=str)))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, tuple(_structure(x) for x in v))
    return "leaf"


def _leaves(v: Any) -> list:
    if isinstance(v, dict):
        return [x for k in sorted(v, key=str) for x in _leaves(v[k])]
    if isinstance(v, (list, tuple)):
        return [x for item in v for x in _leaves(item)]
    return [v]


def _dtype(v: Any) -> Any:
    if isinstance(v, Tensor):
        return v.dtype
    if isinstance(v, _SCALARS):
        import tapeflow

        return tapeflow.convert_to_tensor(v).dtype
    return None


def branch_vars(values: tuple, names: tuple, branch: str, where: tuple | None) -> None:
    for name, value in zip(names, values, strict=True):
        if type(value) is Undefined:
            raise ValueError(f"'{name}' must also be initialized in the {branch} branch" + describe(where))
        if type(value) is UndefinedReturnValue:
            raise ValueError(f"the {branch} branch must also have a return statement." + describe(where))


def cond_vars(main: tuple, orelse: tuple, names: tuple, where: tuple | None) -> None:
    for name, a, b in zip(names, main, orelse, strict=True):
        if _structure(a) != _structure(b):
            raise TypeError(f"'{name}' must have the same nested structure in the main and else branches:\n\n"
                            f"First structure: {a!r}\n\nSecond structure: {b!r}" + describe(where))
        for x, y in zip(_leaves(a), _leaves(b), strict=True):
            if x is None:
                raise ValueError(f"'{name}' is None at the end of the main branch." + describe(where))
            if y is None:
                raise ValueError(f"'{name}' is None at the end of the else branch." + describe(where))
            dx, dy = _dtype(x), _dtype(y)
            if dx is not None and dy is not None and dx != dy:
                raise TypeError(f"'{name}' has dtype {dx.name} in the main branch, but dtype {dy.name} in the "
                                f"else branch" + describe(where))


def loop_init_vars(values: tuple, names: tuple, where: tuple | None) -> None:
    for name, value in zip(names, values, strict=True):
        if type(value) is UndefinedReturnValue:
            raise _errors.UnimplementedError(None, None,
                "a return statement cannot be placed inside this TensorFlow loop; this may happen if a return "
                "statement depends on a static Python condition such as a hyperparameter" + describe(where))
        if type(value) is Undefined:
            raise ValueError(f"'{name}' must be defined before the loop" + describe(where))
        if any(leaf is None for leaf in _leaves(value)):
            raise ValueError(f"'{name}' is not allowed to be None before the loop" + describe(where))


def loop_iteration_vars(entry: tuple, exit_: tuple, names: tuple, where: tuple | None,
                        invariants: list | None = None) -> None:
    """Checks one iteration's result against the loop variables' entry values (and shape
    invariants from `set_loop_options`)."""
    invariants = invariants or [None] * len(names)
    for name, a, b, invariant in zip(names, entry, exit_, invariants, strict=True):
        if any(leaf is None for leaf in _leaves(b)) or type(b) is Undefined:
            raise ValueError(f"'{name}' is None at the end of the iteration." + describe(where))
        if _structure(a) != _structure(b):
            raise TypeError(f"'{name}' does not have the same nested structure after one iteration.\n\n"
                            f"Before: {a!r}\n\nAfter: {b!r}" + describe(where))
        for x, y in zip(_leaves(a), _leaves(b), strict=True):
            dx, dy = _dtype(x), _dtype(y)
            if dx is not None and dy is not None and dx != dy:
                raise TypeError(f"'{name}' has dtype {dx.name} before the loop, but dtype {dy.name} after one "
                                f"iteration" + describe(where))
            if invariant is not None and isinstance(y, Tensor) and not _is_subshape(y.shape, invariant):
                raise ValueError(f"'{name}' has shape {y.shape} after one iteration, which does not conform with "
                                 f"the shape invariant {invariant}." + describe(where))
            if invariant is None and isinstance(x, Tensor) and isinstance(y, Tensor) \
                    and not _is_subshape(y.shape, x.shape):
                raise ValueError(f"'{name}' has shape {x.shape} before the loop, but shape {y.shape} after one "
                                 "iteration. Use tf.autograph.experimental.set_loop_options to set shape "
                                 "invariants." + describe(where))


def _is_subshape(shape: tuple, of: tuple) -> bool:
    """Whether `shape` fits `of` (same rank; each known dimension of `of` equal; any shape
    fits one of unknown rank)."""
    if getattr(of, "rank", 0) is None:
        return True
    if getattr(shape, "rank", 0) is None or len(shape) != len(of):
        return False
    return all(b is None or a == b for a, b in zip(shape, of, strict=True))

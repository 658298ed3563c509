"""`tf.autograph.experimental.set_loop_options`: options for the graph loop around the call.

The converter takes the call out of the loop body and evaluates its arguments just before
the loop (`loop_options = {...}`); the loop operator passes them to `tf.while_loop` when the
loop becomes a graph loop. Like TF, they have no effect on a loop that runs in Python.
"""

from __future__ import annotations

from typing import Any

from tapeflow.autograph.errors import describe
from tapeflow.tensor import Tensor, TensorShape

_KEYS = ("parallel_iterations", "swap_memory", "maximum_iterations", "shape_invariants")


def set_loop_options(parallel_iterations: int | None = None, swap_memory: bool | None = None,
                     maximum_iterations: Any = None, shape_invariants: list | None = None) -> None:
    """Options for the enclosing loop when AutoGraph makes it a `tf.while_loop`.

    Call it as a statement in the loop body of a function converted by AutoGraph (inside
    `tf.function`). When the loop stays a Python loop, or the function is not converted, the
    options have no effect (as in TF); their values are still checked.

    Args:
        parallel_iterations: passed to `tf.while_loop` (Tapeflow runs iterations in order).
        swap_memory: passed to `tf.while_loop`.
        maximum_iterations: the most iterations the graph loop runs.
        shape_invariants: `(tensor, shape)` pairs: the loop variable holding `tensor` when the
            loop starts may change to any shape compatible with `shape` (None dimensions).

    Example:
        >>> @tf.function
        ... def f():
        ...     v = tf.constant([0])
        ...     for i in tf.range(3):
        ...         tf.autograph.experimental.set_loop_options(shape_invariants=[(v, tf.TensorShape([None]))])
        ...         v = tf.concat([v, [i]], 0)
        ...     return v
    """
    _check_pairs(shape_invariants)


def _check_pairs(pairs: Any) -> list:
    if pairs is None:
        return []
    if not isinstance(pairs, (list, tuple)) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs):
        raise ValueError(f"set_loop_options: shape_invariants must be a list of (tensor, shape) pairs, "
                         f"received {pairs!r}")
    return [(t, TensorShape(s)) for t, s in pairs]


def shape_invariants(opts: dict | None, init: tuple, names: tuple, where: tuple | None) -> list | None:
    """Per state variable, its shape invariant (or None), matched by identity with `init`."""
    unknown = set(opts or ()) - set(_KEYS)
    if unknown:
        raise TypeError(f"set_loop_options got unexpected options {sorted(unknown)}" + describe(where))
    if not opts or not opts.get("shape_invariants"):
        return None
    out: list = [None] * len(init)
    for tensor, shape in _check_pairs(opts["shape_invariants"]):
        matches = [k for k, v in enumerate(init) if v is tensor]
        if not matches:
            raise ValueError(f"set_loop_options: the shape invariant {shape} is for {tensor!r}, which is not the "
                             f"value of a loop variable ({', '.join(names)}) when the loop starts" + describe(where))
        for k in matches:
            if not isinstance(tensor, Tensor) or not _fits(tensor.shape, shape):
                raise ValueError(f"'{names[k]}' has shape {getattr(tensor, 'shape', None)} before the loop, which "
                                 f"does not conform with the shape invariant {shape}." + describe(where))
            out[k] = shape
    return out


def _fits(shape: tuple, invariant: tuple) -> bool:
    if getattr(invariant, "rank", 0) is None:
        return True  # an invariant of unknown rank admits every shape
    if getattr(shape, "rank", 0) is None:
        return False
    return len(shape) == len(invariant) and all(b is None or a == b for a, b in zip(shape, invariant, strict=True))


def while_loop_kwargs(opts: dict | None, invariants: list | None, state: tuple, n_prefix: int) -> dict:
    """Keyword arguments for `tf.while_loop`: the options, and shape invariants aligned with its
    loop variables (`n_prefix` counters first, then the state values `state`)."""
    from tapeflow import nest

    kwargs = {k: opts[k] for k in ("parallel_iterations", "swap_memory", "maximum_iterations")
              if opts and opts.get(k) is not None}
    if invariants is not None and any(s is not None for s in invariants):
        per_state = [s if s is not None else nest.map_structure(lambda _: None, v)
                     for s, v in zip(invariants, state, strict=True)]
        kwargs["shape_invariants"] = [*([None] * n_prefix), *per_state]
    return kwargs

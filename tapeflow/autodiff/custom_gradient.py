"""`tf.custom_gradient`: a function that supplies its own gradient."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from tapeflow import nest
from tapeflow.autodiff import function as _fn
from tapeflow.autodiff.function import Function
from tapeflow.tensor import Tensor, convert_to_tensor
from tapeflow.tracing import state as _trace_state


class _CustomGradient(Function):
    """Records the already-computed outputs of `f` with the user's `grad_fn` as backward."""

    saved_model_primitive = False  # eager only: inside a trace it is tracing.custom_gradient's op

    def __init__(self, values: list, grad_fn: Callable, n_args: int, variables: list) -> None:
        self.values = values
        self.grad_fn = grad_fn
        self.n_args = n_args
        self.variables = variables
        self.n_outputs = len(values)

    def forward(self, *xs: Any) -> Any:
        return self.values[0] if self.n_outputs == 1 else tuple(self.values)

    def backward(self, *dys: Tensor) -> tuple:
        upstream = dys[0] if self.n_outputs == 1 else list(dys)
        if self.variables:
            out = self.grad_fn(*([upstream] if self.n_outputs == 1 else upstream), variables=self.variables)
            input_grads, var_grads = out
        else:
            out = self.grad_fn(*([upstream] if self.n_outputs == 1 else upstream))
            input_grads, var_grads = out, []
        input_grads = list(input_grads) if isinstance(input_grads, (list, tuple)) else [input_grads]
        if len(input_grads) != self.n_args:
            raise ValueError(
                f"custom_gradient: grad_fn returned {len(input_grads)} gradients for {self.n_args} inputs."
            )
        grads = [None if g is None else convert_to_tensor(g) for g in input_grads]
        grads += [None if g is None else convert_to_tensor(g) for g in var_grads]
        return tuple(grads)


def custom_gradient(f: Callable | None = None) -> Callable:
    """Decorate `f(*x) -> (y, grad_fn)` so tapes use `grad_fn(dy) -> dx` as its gradient.

    If `f` reads trainable variables, `grad_fn(dy, variables=None)` must return
    `(input_grads, variable_grads)`.

    Example:
        >>> @tf.custom_gradient
        ... def clip_grad_identity(x):
        ...     return tf.identity(x), lambda dy: tf.clip_by_value(dy, -1.0, 1.0)
    """
    if f is None:
        return custom_gradient

    @functools.wraps(f)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        from tapeflow.autodiff.tape import GradientTape

        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            from tapeflow.tracing.custom_gradient import traced_custom_gradient

            return traced_custom_gradient(f, args, kwargs)
        inputs = [a if isinstance(a, Tensor) else convert_to_tensor(a) for a in args]
        saved = list(_fn.recording_tapes)
        _fn.recording_tapes.clear()
        try:
            with GradientTape() as probe:
                result, grad_fn = f(*inputs, **kwargs)
        finally:
            _fn.recording_tapes[:] = saved
        variables = list(probe.watched_variables())
        if variables and "variables" not in inspect.signature(grad_fn).parameters:
            raise TypeError(
                "custom_gradient: the function reads trainable variables, so grad_fn must accept "
                "a `variables` keyword argument."
            )
        flat = [convert_to_tensor(r) for r in nest.flatten(result)]
        op = _CustomGradient([t._value for t in flat], grad_fn, len(inputs), variables)
        outs = op(*inputs, *variables)
        outs = [outs] if len(flat) == 1 else list(outs)
        return nest.pack_sequence_as(result, outs)

    return decorated

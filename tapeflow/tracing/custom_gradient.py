"""`tf.custom_gradient` inside a tf.function trace.

The function's forward ops join the graph as usual. Its gradient function is traced once, on
placeholder upstream gradients, into a sub-graph (as TF traces it into a gradient function).
One primitive, `TracedCustomGradient`, then stands for the call: its forward passes the
forward outputs through, its backward runs the gradient sub-graph. Its inputs are the call's
arguments, the trainable variables the forward read, the forward outputs and the outer-graph
tensors the gradient function reads (its captures); only the first two receive gradients, so
a tape differentiates the call with the user's gradient, whether it replays the graph eagerly,
differentiates inside the trace (`symbolic_grad`) or runs a loaded SavedModel.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from tapeflow import nest
from tapeflow.autodiff.function import Function
from tapeflow.tensor import Tensor, Variable, convert_to_tensor
from tapeflow.tracing import state
from tapeflow.tracing.control_flow import _child, _SubGraph
from tapeflow.tracing.executor import RunState


class GradientGraph:
    """The traced gradient function: upstream-gradient placeholders and captured outer tensors
    in, one gradient (or None) per argument and per variable out."""

    def __init__(self, dys: list, sub: _SubGraph) -> None:
        self.dys = dys
        self.sub = sub
        self.captures = sub.free

    def run(self, dys: list, captures: list) -> list:
        env = {id(p): v for p, v in zip(self.dys, dys, strict=True)}
        env.update({id(c): v for c, v in zip(self.captures, captures, strict=True)})
        return self.sub.run(RunState(env))


class TracedCustomGradient(Function):
    """Inputs: n_args arguments, n_vars variables, n_outputs forward outputs, the captures.
    Forward: the forward outputs. Backward: `grad.run(dys, captures)` for the arguments and
    variables, None for the rest. `grad` is a `GradientGraph` or, in a loaded SavedModel, an
    object with the same `run`."""

    # Never rebuilt from a SavedModel's op list: the format saves it as its own kind of step.
    saved_model_primitive = False

    def __init__(self, grad: Any, n_args: int, n_vars: int, n_outputs: int, n_captures: int) -> None:
        self.grad = grad
        self.n_args, self.n_vars, self.n_outputs, self.n_captures = n_args, n_vars, n_outputs, n_captures

    def forward(self, *xs: Any) -> Any:
        start = self.n_args + self.n_vars
        ys = xs[start:start + self.n_outputs]
        return ys[0] if self.n_outputs == 1 else tuple(ys)

    def backward(self, *dys: Tensor) -> tuple:
        captures = list(self.inputs[len(self.inputs) - self.n_captures:]) if self.n_captures else []
        grads = self.grad.run(list(dys), captures)
        if len(grads) != self.n_args + self.n_vars:
            raise ValueError(f"custom_gradient: the gradient function gave {len(grads)} gradients for "
                             f"{self.n_args} inputs and {self.n_vars} variables.")
        return (*grads, *([None] * (self.n_outputs + self.n_captures)))


def _variables_read(nodes: list) -> list:
    """The trainable variables the nodes read (as inputs or captures), in order of first read."""
    out: dict = {}
    for node in nodes:
        for x in [*node.inputs, *getattr(node, "captured", ())]:
            if x.__class__ is Variable and x.trainable and id(x) not in out:
                out[id(x)] = x
    return list(out.values())


def traced_custom_gradient(f: Callable, args: tuple, kwargs: dict) -> Any:
    """`custom_gradient(f)(*args, **kwargs)` inside a trace (see the module docstring)."""
    graph = state.current()
    inputs = [a if isinstance(a, Tensor) else convert_to_tensor(a) for a in args]
    start = len(graph.nodes)
    result, grad_fn = f(*inputs, **kwargs)
    variables = _variables_read(graph.nodes[start:])
    if variables and "variables" not in inspect.signature(grad_fn).parameters:
        raise TypeError("custom_gradient: the function reads trainable variables, so grad_fn must accept "
                        "a `variables` keyword argument.")
    flat = [convert_to_tensor(r) for r in nest.flatten(result)]
    g = _child("custom_gradient")
    with g:
        dys = [g.placeholder(y.shape, y.dtype, "dy") for y in flat]
        if variables:
            input_grads, var_grads = grad_fn(*dys, variables=variables)
        else:
            input_grads, var_grads = grad_fn(*dys), []
        input_grads = list(input_grads) if isinstance(input_grads, (list, tuple)) else [input_grads]
        if len(input_grads) != len(inputs):
            raise ValueError(f"custom_gradient: grad_fn returned {len(input_grads)} gradients for "
                             f"{len(inputs)} inputs.")
        var_grads = list(var_grads)
        if len(var_grads) != len(variables):
            raise ValueError(f"custom_gradient: grad_fn returned {len(var_grads)} variable gradients for "
                             f"{len(variables)} variables.")
        grads = [None if d is None else convert_to_tensor(d) for d in input_grads + var_grads]
    grad = GradientGraph(dys, _SubGraph(g, grads))
    op = TracedCustomGradient(grad, len(inputs), len(variables), len(flat), len(grad.captures))
    outs = op(*inputs, *variables, *flat, *grad.captures)
    outs = [outs] if len(flat) == 1 else list(outs)
    return nest.pack_sequence_as(result, outs)

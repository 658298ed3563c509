"""Lifting: an eager function called on symbolic arguments becomes one graph node.

TF1 programs call every op on graph tensors. Tapeflow's primitives already build nodes for
symbolic inputs (`tapeflow.graph.symbolic_apply`), but composites that look at their inputs'
values (`tf.shape`, `tf.nn.dropout`, `tf.one_hot`, ...) cannot. `graph_function(fn)` wraps any
engine function so that, when an argument is symbolic, the whole call is recorded as a
`FunctionNode` and re-run on real values whenever the graph is evaluated (under the session's
tape, so gradients flow through it). With only concrete arguments it simply calls `fn`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tapeflow import graph, nest
from tapeflow.graph import SymbolicTensor
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import CallNode


def is_symbolic(x: Any) -> bool:
    """Whether `x` is a tensor without a value yet (a placeholder, variable read, graph output)."""
    return isinstance(x, Tensor) and x._value is None


def has_symbolic(structure: Any) -> bool:
    """Whether any leaf of the nested `structure` is symbolic."""
    if isinstance(structure, Tensor):
        return structure._value is None
    if isinstance(structure, (list, tuple, dict)):
        return any(is_symbolic(t) for t in nest.flatten(structure))
    return False


class FunctionNode(CallNode):
    """`fn(*args, **kwargs)` with the symbolic leaves of the arguments replaced by their values
    (tf.function's lifted call node); its outputs are every leaf `fn` returns.

    `captured` lists the tensors (variables) the call reads without receiving them as
    symbolic inputs; gradient code uses it to find which variables a result depends on.
    """

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, name: str = "",
                 captured: Any = ()) -> None:
        super().__init__(fn, args, kwargs, name or getattr(fn, "__name__", "fn"), stateful=False,
                         captured=captured)

    def run(self, values: list) -> list:
        return nest.flatten(self._call(*values))


def graph_call(fn: Callable, args: tuple = (), kwargs: dict | None = None, name: str = "",
               specs: list | None = None, captured: Any = ()) -> Any:
    """Record `fn(*args, **kwargs)` as one graph node; returns its symbolic output(s).

    Args:
        fn: an eager function of Tensors (and other Python values).
        args, kwargs: its arguments; symbolic leaves become the node's inputs.
        name: the node's name.
        specs: optional [(shape, dtype), ...] of the outputs (a single output); by default
            they are found by running `fn` on small stand-in values.
        captured: extra tensors (variables) `fn` reads, for gradient bookkeeping.

    Returns:
        SymbolicTensor(s) in the structure `fn` returns.
    """
    node = FunctionNode(fn, args, kwargs or {}, name=name, captured=captured)
    if specs is None:
        returned: list = []

        def probe(*values: Any) -> list:
            out = node._call(*values)
            returned.append(out)
            return nest.flatten(out)

        specs = graph.infer_output_specs(probe, node.inputs)
        structure = returned[0]
    else:
        structure = None
    outputs = [SymbolicTensor(shape, dtype, node, i, name=f"{node.name}:{i}")
               for i, (shape, dtype) in enumerate(specs)]
    node.outputs = outputs
    if structure is None:
        return outputs[0] if len(outputs) == 1 else outputs
    return nest.pack_sequence_as(structure, outputs)


def graph_function(fn: Callable, always: bool = False) -> Callable:
    """`fn` that records one graph node when an argument is symbolic (or always, for random ops).

    Args:
        fn: the eager function.
        always: record a node even with only concrete arguments (stateful ops such as random
            sampling, which TF1 runs anew on every `Session.run`).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if always or has_symbolic(args) or (kwargs and has_symbolic(kwargs)):
            return graph_call(fn, args, kwargs, name=fn.__name__)
        return fn(*args, **kwargs)

    return wrapper

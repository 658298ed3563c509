"""Whether a traced map function is elementwise, so it can run on many elements at once.

A function whose trace holds only elementwise primitives (casts, arithmetic, comparisons,
unary math), where every input that depends on the element has the same rank and every
constant has at most that rank, gives on a stack of elements exactly the stack of its
per-element results: broadcasting aligns trailing dimensions, so the new leading axis rides
along. `map` over rows of arrays then computes blocks of rows with one call (and `batch` after
such a `map` computes each batch with one call) instead of one call per element.

Anything else — reductions, shape ops, `tf.shape`, random ops, `tf.print`, lifted calls, a
constant output — keeps the per-element path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import nest
from tapeflow.tensor import Tensor

_ELEMENTWISE = frozenset({
    "Abs", "Add", "Arctan2", "Cast", "ClipByValue", "Cos", "Div", "Erf", "Exp", "Expm1", "Fmod",
    "Identity", "Log", "Log1p", "Maximum", "Minimum", "Mul", "Neg", "NonDifferentiable", "Pow",
    "Relu", "Rsqrt", "Sigmoid", "Sin", "Sqrt", "Square", "StopGradient", "Sub", "Tanh",
    "UnaryMath", "Where", "ZeroGradUnary",
})
# The NumPy functions behind `NonDifferentiable` that act element by element.
_ELEMENTWISE_NUMPY = frozenset({
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_xor", "logical_not", "floor_divide", "mod", "remainder", "bitwise_and",
    "bitwise_or", "bitwise_xor", "invert", "left_shift", "right_shift", "isnan", "isinf",
    "isfinite", "floor", "ceil", "sign", "round", "rint", "trunc",
})


def is_elementwise(concrete: Any) -> bool:
    """Whether the traced function `concrete` (a ConcreteFunction) is elementwise, as above."""
    from tapeflow.graph import Node

    graph = concrete.graph
    ranks: dict = {}
    for placeholder in graph.inputs:
        if placeholder.shape.rank is None:
            return False
        ranks[id(placeholder)] = len(placeholder.shape)
    for node in graph.nodes:
        if type(node) is not Node or node.name not in _ELEMENTWISE:
            return False
        primitive = _primitive(node)
        if primitive is None:
            return False
        if node.name == "NonDifferentiable" and getattr(primitive, "fname", None) not in _ELEMENTWISE_NUMPY:
            return False
        symbolic = [ranks.get(id(t)) for t in node.inputs if t._value is None]
        if not symbolic or None in symbolic or len(set(symbolic)) != 1:
            return False
        rank = symbolic[0]
        constants = [np.ndim(t._value) for t in node.inputs if t._value is not None]
        if node.name == "ClipByValue":
            constants += [np.ndim(getattr(primitive, "lo", 0)), np.ndim(getattr(primitive, "hi", 0))]
        if any(r > rank for r in constants):
            return False
        for out in node.outputs:
            ranks[id(out)] = rank
    outputs = nest.flatten(concrete.structured_outputs)
    return bool(outputs) and all(isinstance(t, Tensor) and t._value is None and id(t) in ranks
                                 for t in outputs)


def _primitive(node: Any) -> Any:
    """The primitive (`autodiff.Function`) a graph node applies (None for a lifted call)."""
    return getattr(node, "function", None)

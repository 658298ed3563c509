"""Symbolic gradients (`tf.gradients`) and the graph walks `Session.run` plans with.

A gradient tensor is an output of a `GradientsNode(ys, xs)`. It has no replay of its own:
`Session.run` evaluates `ys` under a `GradientTape` watching `xs`, asks the tape for the
gradients, and feeds them to whatever was built on top (clipping, `apply_gradients`).
Which variables a tensor depends on is found statically, by walking the graph.
"""

from __future__ import annotations

from typing import Any

from tapeflow import graph
from tapeflow.graph import SymbolicTensor
from tapeflow.tensor import Tensor, Variable


class GradientsNode(graph.Node):
    """d(sum of ys)/d(xs); outputs one symbolic gradient per connected x."""

    def __init__(self, ys: list, xs: list, grad_ys: list | None) -> None:
        super().__init__(self._replay, [], name="gradients")
        self.ys = ys
        self.xs = xs
        self.grad_ys = grad_ys

    def _replay(self) -> Any:
        raise RuntimeError(
            "Gradient tensors can only be computed by Session.run (they need the session's tape); "
            "fetch them, or an operation using them, with sess.run(...)."
        )


def _engine(x: Any) -> Any:
    inner = getattr(x, "_variable", None)
    return inner if inner is not None else x


def _node_hidden_inputs(node: Any) -> list:
    """Tensors a node reads without listing them as inputs (a layer's weights, captured values)."""
    hidden = list(getattr(node, "captured", ()))
    layer = getattr(node, "layer", None)
    if layer is not None:
        hidden.extend(getattr(layer, "weights", ()))
    variable = getattr(node, "variable", None)
    if isinstance(variable, Variable):
        hidden.append(variable)
    return hidden


def reachable(tensors: list, stop: set | None = None) -> set:
    """ids of every tensor (symbolic or concrete, engine variables included) upstream of `tensors`."""
    stop = stop or set()
    seen: set = set()
    seen_nodes: set = set()
    stack = [t for t in tensors if isinstance(t, Tensor)]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        inner = getattr(t, "_variable", None)
        if inner is not None:
            seen.add(id(inner))
        if t._value is not None or id(t) in stop:
            continue
        node = t.node
        if node is None or id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        for x in node.inputs:
            stack.append(x)
        for x in _node_hidden_inputs(node):
            if isinstance(x, Tensor):
                stack.append(x)
        if isinstance(node, GradientsNode):
            stack.extend(node.ys)
    return seen


def layers_upstream(tensors: list) -> list:
    """Keras layers called (Functional-style, `keras.layers.Dense(10)(x)`) upstream of `tensors`."""
    out: list = []
    seen_nodes: set = set()
    stack = [t for t in tensors if isinstance(t, SymbolicTensor)]
    while stack:
        t = stack.pop()
        node = t.node
        if node is None or id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        layer = getattr(node, "layer", None)
        if layer is not None and all(layer is not x for x in out):
            out.append(layer)
        stack.extend(x for x in node.inputs if isinstance(x, SymbolicTensor))
        if isinstance(node, GradientsNode):
            stack.extend(y for y in node.ys if isinstance(y, SymbolicTensor))
    return out


def gradient_plan(targets: list, fed: set) -> tuple[list, list]:
    """The `GradientsNode`s upstream of `targets`, and for each target whether it needs them.

    Walks stop at fed tensors. Returns (gradient nodes in discovery order, [bool per target]).
    """
    memo: dict[int, bool] = {}
    nodes: dict[int, GradientsNode] = {}

    def needs(t: Tensor) -> bool:
        # Iterative post-order over nodes, memoised by node id.
        if not isinstance(t, SymbolicTensor) or id(t) in fed or t.node is None:
            return False
        root = t.node
        if id(root) in memo:
            return memo[id(root)]
        stack = [root]
        while stack:
            n = stack[-1]
            if id(n) in memo:
                stack.pop()
                continue
            if isinstance(n, GradientsNode):
                nodes.setdefault(id(n), n)
                memo[id(n)] = True
                stack.pop()
                continue
            pending = [i.node for i in n.inputs
                       if isinstance(i, SymbolicTensor) and id(i) not in fed and i.node is not None
                       and id(i.node) not in memo]
            if pending:
                stack.extend(pending)
                continue
            memo[id(n)] = any(
                isinstance(i, SymbolicTensor) and id(i) not in fed and i.node is not None
                and memo[id(i.node)] for i in n.inputs
            )
            stack.pop()
        return memo[id(root)]

    flags = [needs(t) for t in targets]
    return list(nodes.values()), flags


def gradients(ys: Any, xs: Any, grad_ys: Any = None, name: str = "gradients",
              colocate_gradients_with_ops: bool = False, gate_gradients: bool = False,
              aggregation_method: Any = None, stop_gradients: Any = None,
              unconnected_gradients: Any = "none") -> list:
    """Symbolic d(sum of `ys`)/d`x` for each `x` in `xs` (`tf.gradients`).

    Args:
        ys: a tensor or list of tensors to differentiate.
        xs: a tensor or list: variables, placeholders or intermediate tensors.
        grad_ys: optional upstream gradients, one per y.
        unconnected_gradients: "none" (None for an x that `ys` does not depend on) or "zero".

    Returns:
        A list with one symbolic gradient (shape of x) or None per x, computed when run in a
        `Session`.
    """
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    xs_list = list(xs) if isinstance(xs, (list, tuple)) else [xs]
    if grad_ys is not None:
        grad_ys = list(grad_ys) if isinstance(grad_ys, (list, tuple)) else [grad_ys]
        if len(grad_ys) != len(ys):
            raise ValueError(f"gradients: {len(grad_ys)} grad_ys for {len(ys)} ys.")
    mode = getattr(unconnected_gradients, "value", unconnected_gradients)
    upstream = reachable(ys)
    connected = []
    for x in xs_list:
        if not isinstance(x, Tensor):
            raise TypeError(f"gradients: xs must be tensors or variables, received {type(x).__name__}.")
        ok = (id(x) in upstream or id(_engine(x)) in upstream) and x.dtype.is_floating
        connected.append(ok)
    node = GradientsNode(ys, [x for x, ok in zip(xs_list, connected, strict=False) if ok], grad_ys)
    outs = []
    for x, ok in zip(xs_list, connected, strict=False):
        if ok:
            g = SymbolicTensor(tuple(x.shape), x.dtype, node, len(node.outputs),
                               name=f"{name}/{len(node.outputs)}")
            node.outputs.append(g)
            outs.append(g)
        elif mode == "zero" and x.dtype.is_floating:
            from tapeflow.compat.v1.lift import graph_call
            from tapeflow.ops.creation import zeros_like

            outs.append(graph_call(zeros_like, (x,), name=f"{name}/zeros"))
        else:
            outs.append(None)
    return outs

"""The order of a Functional model's `layers`, as Keras computes it.

Keras orders a graph's operations by depth (the longest path to an output), deepest first, and
breaks ties by the order in which a depth-first walk from the outputs first meets them. The order
is visible: `model.layers`, `summary()`, and loading a legacy `.h5` weights file by topology
(the n-th layer with weights takes the n-th saved one), which is how Keras's pretrained
application weights load.
"""

from __future__ import annotations

from typing import Any

from tapeflow.graph import SymbolicTensor


def _operation(item: Any) -> Any:
    """The operation of a graph item: a node's layer (or the node itself for a plain op); for a
    source tensor, the `InputLayer` that made it (or the tensor)."""
    if isinstance(item, SymbolicTensor):
        history = item._keras_history
        return history[0] if history else item
    return getattr(item, "layer", None) or item


def _walk(inputs: list, outputs: list) -> tuple[list, dict]:
    """Graph items in depth-first post-order from `outputs`, and each operation's first-visit index.

    An item is a node, or a source tensor (`keras.Input`); a declared input that some other graph
    computed is a boundary, outside this graph.
    """
    declared = {id(t) for t in inputs}
    order: list = []
    index: dict = {}
    finished: set = set()
    stack: list = [(t, False) for t in reversed(outputs)]
    while stack:
        item, expanded = stack.pop()
        if expanded:
            finished.add(id(item))
            order.append(item)
            continue
        if item.node is not None and id(item) in declared:
            continue
        if item.node is not None:
            item = item.node
        if id(item) in finished:
            continue
        index.setdefault(id(_operation(item)), len(index))
        stack.append((item, True))
        if not isinstance(item, SymbolicTensor):
            stack.extend((x, False) for x in reversed(item.inputs) if isinstance(x, SymbolicTensor))
    return order, index


def keras_operation_order(inputs: list, outputs: list) -> list:
    """The operations of the graph from `inputs` to `outputs` (layers, and the nodes of plain ops
    applied outside layers) in Keras's order."""
    order, index = _walk(inputs, outputs)
    in_graph = {id(item) for item in order}
    node_depth: dict = {}
    op_depth: dict = {}
    ops: dict = {}
    for item in reversed(order):
        op = _operation(item)
        depth = max(node_depth.setdefault(id(item), 0), op_depth.get(id(op), 0))
        op_depth[id(op)] = node_depth[id(item)] = depth
        ops[id(op)] = op
        if isinstance(item, SymbolicTensor):
            continue
        for x in item.inputs:
            if isinstance(x, SymbolicTensor):
                parent = x if x.node is None else x.node
                if id(parent) in in_graph:
                    node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:
        op = _operation(t)
        if t.node is None and id(op) not in op_depth:
            op_depth[id(op)], index[id(op)], ops[id(op)] = 0, -1, op
    ranked = sorted(ops, key=lambda k: (-op_depth[k], index[k]))
    return [ops[k] for k in ranked]


def keras_layer_order(inputs: list, outputs: list, layer_type: type) -> list:
    """The layers of the graph from `inputs` to `outputs`, in Keras's `model.layers` order."""
    return [op for op in keras_operation_order(inputs, outputs) if isinstance(op, layer_type)]

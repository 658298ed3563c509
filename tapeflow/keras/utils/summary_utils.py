"""Functional-graph helpers: `get_source_inputs`, `is_keras_tensor`, and the (x, y, sample_weight)
packing used by custom `train_step`s."""

from __future__ import annotations

from typing import Any

from tapeflow.graph import SymbolicTensor
from tapeflow.keras.models.data_handler import unpack_x_y_sample_weight

__all__ = ["get_source_inputs", "is_keras_tensor", "pack_x_y_sample_weight", "unpack_x_y_sample_weight"]


def is_keras_tensor(x: Any) -> bool:
    """Whether `x` is a symbolic Keras tensor: a `keras.Input` or a tensor computed from one by
    layers or ops. Eager tensors and `compat.v1` graph tensors are not."""
    if not isinstance(x, SymbolicTensor):
        return False
    seen: set = set()
    stack = [x]
    while stack:
        t = stack.pop()
        if getattr(t, "_keras_history", None) is not None:
            return True
        node = getattr(t, "node", None)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(i for i in node.inputs if isinstance(i, SymbolicTensor))
    return False


def get_source_inputs(tensor: Any) -> list:
    """The `keras.Input` tensors a symbolic tensor was computed from, in first-seen order.

    Raises:
        ValueError: for a value that is not a Keras tensor.
    """
    if not is_keras_tensor(tensor):
        raise ValueError(f"get_source_inputs expects a Keras tensor (from keras.Input or a layer applied to one), "
                         f"received {tensor!r:.200}")
    found: list = []
    seen: set = set()
    stack = [tensor]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = getattr(t, "node", None)
        if node is None:
            found.append(t)
            continue
        stack.extend(reversed([x for x in node.inputs if isinstance(x, SymbolicTensor)]))
    return found


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The tuple `fit` expects: `x` (or `(x,)` when `x` is itself a tuple/list), `(x, y)` or
    `(x, y, sample_weight)`."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)

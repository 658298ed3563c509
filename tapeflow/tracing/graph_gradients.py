"""`tf.gradients` and `tf.hessians`: symbolic gradients of graph tensors.

Inside a `tf.function` trace the reverse walk runs at trace time over every node recorded so
far (`symbolic_grad.gradient` with a window spanning the whole graph), so the gradient ops join
the same graph and replay with it; a Hessian is the gradient of each gradient element. In a
`tf.compat.v1` graph they are `compat.v1.gradients` (computed by `Session.run`). Eagerly both
raise TF's RuntimeError: use `tf.GradientTape`.
"""

from __future__ import annotations

from typing import Any

from tapeflow.errors import UnimplementedError
from tapeflow.tensor import Tensor
from tapeflow.tracing import state, symbolic_grad


class _WholeGraph:
    """Stands in a tape for the window: watches only what it is given."""

    _watch_accessed_variables = False


class _UpstreamWindow(symbolic_grad.TapeWindow):
    """Every node recorded so far that `ys` depend on (nodes after them, such as a `grad_ys`
    made from them, are not on any path and are left out)."""

    def __init__(self, graph: Any, ys: list, xs: list) -> None:
        super().__init__(_WholeGraph(), graph)
        self.start = 0
        self.watched = list(xs)
        self._ys = ys

    def nodes(self, graph: Any) -> list:
        everything = super().nodes(graph)
        wanted: set = set()
        stack = [getattr(t, "node", None) for t in self._ys if isinstance(t, Tensor)]
        while stack:
            node = stack.pop()
            if node is None or id(node) in wanted:
                continue
            wanted.add(id(node))
            stack.extend(getattr(x, "node", None) for x in node.inputs)
            stack.extend(getattr(c, "node", None) for c in getattr(node, "captured", ()) if isinstance(c, Tensor))
        return [n for n in everything if id(n) in wanted]


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _unconnected(x: Tensor, mode: str) -> Any:
    if mode == "zero":
        from tapeflow.ops.creation import zeros_like

        return zeros_like(x)
    return None


def gradients(ys: Any, xs: Any, grad_ys: Any = None, name: str = "gradients", gate_gradients: bool = False,
              aggregation_method: Any = None, stop_gradients: Any = None,
              unconnected_gradients: Any = "none") -> list:
    """d(sum of `ys`)/d`x` for each `x` in `xs`, as graph tensors (or None / zeros for an x the
    ys do not depend on, per `unconnected_gradients`). Only inside `tf.function` or a
    `tf.compat.v1` graph.

    Example:
        >>> @tf.function
        ... def f(x):
        ...     return tf.gradients(x ** 3, x)[0]
        >>> f(tf.constant(2.0))   # 12.0
    """
    mode = getattr(unconnected_gradients, "value", unconnected_gradients)
    if mode not in ("none", "zero"):
        raise ValueError(f"gradients: unconnected_gradients must be 'none' or 'zero', received {mode!r}.")
    graph = state.current()
    ys_list, xs_list = _as_list(ys), _as_list(xs)
    if graph is None:
        if any(getattr(t, "_value", 0) is None for t in ys_list):  # tensors of a compat.v1 graph
            from tapeflow.compat.v1.gradients import gradients as v1_gradients

            return v1_gradients(ys, xs, grad_ys, name, unconnected_gradients=mode)
        raise RuntimeError("tf.gradients is not supported when eager execution is enabled. Use tf.GradientTape "
                           "instead.")
    if stop_gradients is not None:
        raise UnimplementedError(None, None, "tf.gradients: `stop_gradients` is not supported here; wrap those "
                                 "tensors in tf.stop_gradient where they are computed.")
    ogs = None if grad_ys is None else _as_list(grad_ys)
    if ogs is not None and len(ogs) != len(ys_list):
        raise ValueError(f"gradients: {len(ogs)} grad_ys for {len(ys_list)} ys.")
    for x in xs_list:
        if not isinstance(x, Tensor):
            raise TypeError(f"gradients: xs must be tensors or variables, received {type(x).__name__}.")
    window = _UpstreamWindow(graph, ys_list, xs_list)
    try:
        grads = symbolic_grad.gradient(window, graph, ys_list, xs_list, ogs)
    except symbolic_grad.NotSymbolic as e:
        raise UnimplementedError(None, None, f"tf.gradients inside tf.function: the path from ys to xs cannot be "
                                 f"differentiated symbolically here ({e}); use tf.GradientTape in the "
                                 "function instead.") from None
    return [g if g is not None else _unconnected(x, mode) for g, x in zip(grads, xs_list, strict=True)]


def hessians(ys: Any, xs: Any, name: str = "hessians", colocate_gradients_with_ops: bool = False,
             gate_gradients: bool = False, aggregation_method: Any = None) -> list:
    """The Hessian of sum(`ys`) for each `x` in `xs`: shape x.shape + x.shape (None where ys do
    not depend on x). Only inside `tf.function` or a `tf.compat.v1` graph."""
    from tapeflow.ops.movement import reshape, stack

    if state.current() is None:
        raise RuntimeError("tf.gradients is not supported when eager execution is enabled. Use tf.GradientTape "
                           "instead.")
    xs_list = _as_list(xs)
    out = []
    for x, grad in zip(xs_list, gradients(ys, xs_list), strict=True):
        if grad is None:
            out.append(None)
            continue
        if x.shape.rank is None or None in tuple(x.shape):
            raise UnimplementedError(None, None, f"tf.hessians: x has unknown dimensions {x.shape}; give the "
                                     "tf.function an input_signature with known shapes.")
        shape = tuple(x.shape)
        flat = reshape(grad, (-1,))
        rows = []
        for i in range(int(flat.shape[0])):
            row = gradients(flat[i], x, unconnected_gradients="zero")[0]
            rows.append(reshape(row, (-1,)))
        n = int(flat.shape[0])
        matrix = stack(rows) if rows else reshape(flat, (0, 0))
        out.append(reshape(matrix, shape + shape) if n else reshape(matrix, shape + shape))
    return out

"""`Session` and `InteractiveSession`: run TF1 graphs with `run(fetches, feed_dict)`.

`run` converts the feed (placeholder dtype, shape checked against the placeholder), evaluates
every fetched tensor and every tensor the fetched operations need in one pass of
`tapeflow.graph.evaluate` (so a training step and the loss it reports share one forward pass),
then runs the operations. When gradient tensors are needed (`minimize`, `tf.gradients`), that
pass runs under a `GradientTape`, the tape's gradients are fed to whatever uses them, and the
updates run last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tapeflow import backend, graph, nest
from tapeflow.autodiff.tape import GradientTape
from tapeflow.compat.v1 import graph as _graph_mod
from tapeflow.compat.v1.gradients import gradient_plan
from tapeflow.compat.v1.operations import Operation
from tapeflow.compat.v1.placeholders import shape_text
from tapeflow.tensor import Reference, Tensor

# The default-session stack `SymbolicTensor.eval()` uses (never rebound, so aliasing is safe).
_default_sessions = graph.default_sessions

# Key of the set of ids of gradient tensors that came out None, in an operation's `values`.
NONE_GRADIENTS = "none_gradients"


def _is_symbolic(t: Any) -> bool:
    return isinstance(t, Tensor) and t._value is None


def _fetch_value(v: Any) -> Any:
    # A variable's numpy() is a copy, so later updates in this run do not change the result.
    return None if v is None else v.numpy()


class Session:
    """Runs operations and evaluates tensors of a TF1 graph (`tf.Session`).

    Args:
        target, config: accepted for compatibility (Tapeflow runs in-process).
        graph: the graph (default: the default graph).

    Example:
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer())
        ...     loss_value, _ = sess.run([loss, train_op], feed_dict={x: xb, y: yb})
    """

    def __init__(self, target: str = "", graph: Any = None, config: Any = None) -> None:
        self._graph = graph if graph is not None else _graph_mod.get_default_graph()
        self._closed = False
        self._plans: dict = {}
        self._context: list = []

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def graph(self) -> Any:
        return self._graph

    @property
    def sess_str(self) -> str:
        return ""

    def close(self) -> None:
        """Release the session; later `run` calls raise."""
        self._closed = True

    def __enter__(self) -> Session:
        _graph_mod._graph_stack.append(self._graph)
        graph.default_sessions.append(self)
        self._context.append(True)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._context.pop()
        _remove_last(graph.default_sessions, self)
        _remove_last(_graph_mod._graph_stack, self._graph)
        self.close()

    @contextlib.contextmanager
    def as_default(self) -> Iterator[Session]:
        """Make this the default session (for `Tensor.eval()` and `Operation.run()`) in a block."""
        graph.default_sessions.append(self)
        try:
            yield self
        finally:
            _remove_last(graph.default_sessions, self)

    # -- running --------------------------------------------------------------------------------
    def run(self, fetches: Any, feed_dict: dict | None = None, options: Any = None,
            run_metadata: Any = None) -> Any:
        """Evaluate `fetches` (a tensor, operation, or list/tuple/dict of them) with `feed_dict`.

        Args:
            fetches: what to compute; operations give None, tensors NumPy values.
            feed_dict: {placeholder (or any tensor): value}; values are converted to the
                placeholder's dtype and checked against its static shape.

        Returns:
            The values in the structure of `fetches`.

        Raises:
            InvalidArgumentError: a placeholder the fetches need was not fed.
            ValueError: a fed value's shape does not match its placeholder.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        leaves = nest.flatten(fetches)
        for leaf in leaves:
            if not isinstance(leaf, (Tensor, Operation)):
                raise TypeError(
                    f"Fetch argument {leaf!r} has invalid type {type(leaf).__name__}: must be a Tensor, "
                    "a Variable or an Operation (or a list, tuple or dict of them)."
                )
        feed = self._convert_feed(feed_dict)
        # 1. The operations to run, control inputs first.
        ops = _operations_in_order([x for x in leaves if isinstance(x, Operation)])
        # 2. Every symbolic tensor needed: fetched tensors and the operations' inputs.
        needed: list = []
        seen: set = set()
        for t in [x for x in leaves if isinstance(x, Tensor)] + [t for op in ops for t in op._tensors()]:
            if _is_symbolic(t) and id(t) not in seen:
                seen.add(id(t))
                needed.append(t)
        values = self._evaluate(needed, feed) if needed else {}
        # 3. Fetched values (read before the operations update variables), then the operations.
        results: dict[int, Any] = {}
        for leaf in leaves:
            if isinstance(leaf, Tensor):
                results[id(leaf)] = _fetch_value(values[id(leaf)] if _is_symbolic(leaf) else leaf)
        for op in ops:
            results[id(op)] = op._execute(values)
        return nest.pack_sequence_as(fetches, [results[id(x)] for x in leaves])

    def make_callable(self, fetches: Any, feed_list: Any = None, accept_options: bool = False) -> Callable:
        """A function running `fetches` with positional values for the tensors in `feed_list`."""
        feed_list = list(feed_list or [])

        def call(*args: Any, **kwargs: Any) -> Any:
            if len(args) != len(feed_list):
                raise TypeError(f"This callable takes {len(feed_list)} values, received {len(args)}.")
            return self.run(fetches, dict(zip(feed_list, args, strict=False)))

        return call

    # -- internals ------------------------------------------------------------------------------
    def _convert_feed(self, feed_dict: dict | None) -> dict:
        feed: dict[int, Tensor] = {}
        if not feed_dict:
            return feed
        xp = backend.default_xp()
        for key, value in feed_dict.items():
            if isinstance(key, Reference):
                key = key.deref()
            if not isinstance(key, Tensor) or not _is_symbolic(key):
                raise TypeError(
                    f"Cannot interpret feed_dict key {key!r} as a graph tensor: keys must be "
                    "placeholders (or other symbolic tensors) of the graph."
                )
            np_dtype = key.dtype._np
            if isinstance(value, Tensor):
                if value._value is None:
                    raise TypeError(
                        f"The value of a feed cannot be a symbolic tensor ({value.name}); feed NumPy "
                        "arrays, Python values or evaluated tensors."
                    )
                arr = value._value
                if arr.dtype != np_dtype:
                    arr = arr.astype(np_dtype)
            else:
                try:
                    arr = np.asarray(value, dtype=np_dtype)
                except (TypeError, ValueError) as e:
                    raise TypeError(
                        f"Cannot feed value {_short(value)} to {key.name} of dtype {key.dtype.name}: {e}"
                    ) from None
            unknown_rank = getattr(key, "unknown_rank", False) or key.shape.rank is None
            if not unknown_rank:
                shape = tuple(key.shape)
                if arr.ndim != len(shape) or any(d is not None and d != a for d, a in zip(shape, arr.shape,
                                                                                          strict=False)):
                    raise ValueError(
                        f"Cannot feed value of shape {tuple(arr.shape)} for Tensor {key.name!r}, which "
                        f"has shape {shape_text(shape)}."
                    )
            if xp is not np or backend.is_gpu_array(arr):
                arr = backend.asarray(arr, xp=xp)
            feed[id(key)] = Tensor(arr)
        return feed

    def _plan(self, targets: list, feed: dict) -> tuple[list, list]:
        key = (tuple(id(t) for t in targets), frozenset(feed))
        entry = self._plans.get(key)
        if entry is None:
            if len(self._plans) > 256:
                self._plans.clear()
            grad_nodes, flags = gradient_plan(targets, set(feed))
            # The entry keeps the targets alive, so their ids in the key stay theirs.
            entry = (list(targets), grad_nodes, flags)
            self._plans[key] = entry
        return entry[1], entry[2]

    def _evaluate(self, targets: list, feed: dict) -> dict:
        grad_nodes, flags = self._plan(targets, feed)
        if not grad_nodes:
            outs = graph.evaluate(targets, feed)
            return {id(t): v for t, v in zip(targets, outs, strict=False)}
        return _evaluate_with_gradients(targets, feed, grad_nodes, flags)


class InteractiveSession(Session):
    """A session that makes itself the default on creation, for interactive use.

    `tensor.eval(feed_dict=...)` and `operation.run(feed_dict=...)` then run in it until
    `close()`.
    """

    def __init__(self, target: str = "", graph: Any = None, config: Any = None) -> None:
        super().__init__(target, graph, config)
        _default_sessions.append(self)

    def close(self) -> None:
        _remove_last(_default_sessions, self)
        super().close()


def get_default_session() -> Session | None:
    """The innermost default session, or None."""
    return graph.default_sessions[-1] if graph.default_sessions else None


def _remove_last(stack: list, item: Any) -> None:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is item:
            del stack[i]
            return


def _short(value: Any) -> str:
    r = repr(value)
    return r if len(r) <= 60 else r[:57] + "..."


def _operations_in_order(ops: list) -> list:
    """`ops` and their control inputs, each once, control inputs before the ops that need them."""
    out: list = []
    done: set = set()
    for root in ops:
        stack: list = [(root, False)]
        while stack:
            op, expanded = stack.pop()
            if id(op) in done:
                continue
            if expanded:
                done.add(id(op))
                out.append(op)
                continue
            stack.append((op, True))
            for c in reversed(op.control_inputs):
                if id(c) not in done:
                    stack.append((c, False))
    return out


def _evaluate_with_gradients(targets: list, feed: dict, grad_nodes: list, flags: list) -> dict:
    from tapeflow.ops.creation import zeros_like

    feed = dict(feed)
    # 0. Symbolic non-variable sources (placeholders, intermediate tensors) get values first, so
    #    the tape can watch them.
    pending = []
    for n in grad_nodes:
        for x in n.xs:
            if _is_symbolic(x) and getattr(x, "_variable", None) is None and id(x) not in feed:
                pending.append(x)
    if pending:
        for x, v in zip(pending, graph.evaluate(pending, feed), strict=False):
            feed[id(x)] = v

    def source(x: Any) -> Tensor:
        inner = getattr(x, "_variable", None)
        if inner is not None:
            return inner
        return feed[id(x)] if _is_symbolic(x) else x

    # 1. The forward pass under a tape: targets that need no gradient, and every node's ys.
    first: list = []
    seen: set = set()
    for t, f in zip(targets, flags, strict=False):
        if not f and id(t) not in seen:
            seen.add(id(t))
            first.append(t)
    for n in grad_nodes:
        for y in list(n.ys) + list(n.grad_ys or []):
            if _is_symbolic(y) and id(y) not in seen:
                seen.add(id(y))
                first.append(y)
    tape = GradientTape(persistent=len(grad_nodes) > 1, watch_accessed_variables=False)
    with tape:
        for n in grad_nodes:
            for x in n.xs:
                tape.watch(source(x))
        outs = graph.evaluate(first, feed)
    values: dict = {id(t): v for t, v in zip(first, outs, strict=False)}

    def value(t: Any) -> Any:
        return values[id(t)] if _is_symbolic(t) else t

    # 2. The gradients, fed to what is built on them.
    none_ids: set = set()
    for n in grad_nodes:
        sources = [source(x) for x in n.xs]
        ogs = [value(g) for g in n.grad_ys] if n.grad_ys is not None else None
        grads = tape.gradient([value(y) for y in n.ys], sources, output_gradients=ogs)
        for out, g, s in zip(n.outputs, grads, sources, strict=False):
            if g is None:
                none_ids.add(id(out))
                g = zeros_like(s)
            values[id(out)] = g
    values[NONE_GRADIENTS] = none_ids
    # 3. Targets built on the gradients (clipping, apply_gradients inputs).
    rest = [t for t, f in zip(targets, flags, strict=False) if f and id(t) not in values]
    if rest:
        feed2 = dict(feed)
        feed2.update((k, v) for k, v in values.items() if isinstance(k, int))
        for t, v in zip(rest, graph.evaluate(rest, feed2), strict=False):
            values[id(t)] = v
    return values

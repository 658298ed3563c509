"""Differentiating inside a trace: `tape.gradient` as graph nodes built at trace time.

When everything a tape recorded between its target and sources is a primitive (a `Function`
node) with fully known shapes, the reverse walk runs once, while tracing: each primitive's
`backward` applied to graph tensors records the gradient ops into the same graph, exactly as a
tape recording a backward pass does for higher-order gradients. The training step then is one
graph of primitives (forward, backward, variable updates) that replays on raw arrays.

Anything else on the path — a lifted Keras layer, control flow, a backward that reads values —
raises `NotSymbolic`, and the caller falls back to enacting the
tape on every replay (`tape_nodes`).
"""

from __future__ import annotations

import copy
from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import recording_tapes
from tapeflow.autodiff.unbroadcast import sum_to
from tapeflow.tensor import Tensor, Variable


class NotSymbolic(Exception):
    """The tape's window cannot be differentiated at trace time."""


class TapeWindow:
    """What a traced tape recorded: the graph and node range it was active over, what it
    watched, the pauses, and whether some gradient had to be enacted at replay instead."""

    def __init__(self, tape: Any, graph: Any) -> None:
        self.tape = tape
        self.graph = graph
        self.start = len(graph.nodes)
        self.stop: int | None = None
        self.pauses: list = []  # [start, stop) node ranges while recording was paused
        self.watched: list = []
        self.enacted = False

    def nodes(self, graph: Any) -> list:
        if graph is not self.graph:
            raise NotSymbolic("gradient asked for in another graph than the tape's")
        stop = len(graph.nodes) if self.stop is None else self.stop
        out = []
        for i in range(self.start, stop):
            if any(a <= i < (len(graph.nodes) if b is None else b) for a, b in self.pauses):
                continue
            out.append(graph.nodes[i])
        return out


def _watches(window: TapeWindow, x: Any) -> bool:
    return (x.__class__ is Variable and x._trainable and window.tape._watch_accessed_variables)


def gradient(window: TapeWindow, graph: Any, targets: list, sources: list, output_gradients: Any) -> list:
    """Graph tensors (or None) for d(sum targets)/d(sources), recorded into `graph` now."""
    tracked = {id(t) for t in window.watched if _carries_gradient(t)}
    recorded = []
    for node in window.nodes(graph):
        if hasattr(node, "window"):
            continue  # another tape's enter/watch/exit: no values computed
        hit = [id(x) in tracked or _watches(window, x) for x in node.inputs]
        if not any(hit):
            captured = getattr(node, "captured", ())
            if any(isinstance(c, Tensor) and (id(c) in tracked or _watches(window, c)) for c in captured):
                raise NotSymbolic(f"{node.name} reads a watched variable inside a lifted call")
            continue
        fn = getattr(node, "function", None)
        if fn is None or hasattr(node, "run_in"):
            if not any(map(_carries_gradient, node.outputs)):
                continue  # no gradient flows through it (an assignment, printing, a shape)
            raise NotSymbolic(f"{node.name} is not a primitive")
        for x, h in zip(node.inputs, hit, strict=True):
            if h and x._value is not None:
                tracked.add(id(x))
        record = copy.copy(fn)
        record.inputs = tuple(node.inputs)
        record.outputs = tuple(node.outputs)
        record.needs_input_grad = tuple(hit)
        recorded.append(record)
        for o in node.outputs:
            if _carries_gradient(o):
                tracked.add(id(o))
    keep = {id(s) for s in sources}
    grads: dict = {}
    from tapeflow.ops.elementwise import add

    for i, t in enumerate(targets):
        if not isinstance(t, Tensor) or not t.dtype.is_floating:
            continue
        if not _known(t.shape):
            raise NotSymbolic("a target has unknown dimensions")
        og = None if output_gradients is None else output_gradients[i]
        if og is None:
            seed = Tensor(_ones(t))
        else:
            seed = og if isinstance(og, Tensor) else Tensor(_ones(t) * og)
        grads[id(t)] = seed if id(t) not in grads else add(grads[id(t)], seed)
    # A sentinel recording tape: every backward takes its differentiable (Tensor-op) path.
    sentinel = _Sentinel()
    recording_tapes.append(sentinel)
    try:
        for fn in reversed(recorded):
            outs = fn.outputs
            dys = [grads.get(id(o)) for o in outs]
            if all(d is None for d in dys):
                continue
            if len(outs) == 1:
                dxs = fn.backward(dys[0])
            else:
                dys = [Tensor(_zeros(o)) if d is None and _carries_gradient(o) else d
                       for o, d in zip(outs, dys, strict=True)]
                dxs = fn.backward(*dys)
            for o in outs:
                if id(o) not in keep:
                    grads.pop(id(o), None)
            for x, dx, need in zip(fn.inputs, dxs, fn.needs_input_grad, strict=False):
                if dx is None or not need:
                    continue
                if not _known(x.shape) or not _known(dx.shape):
                    raise NotSymbolic("unknown dimensions in the backward pass")
                if tuple(dx.shape) != tuple(x.shape):
                    dx = sum_to(dx, tuple(x.shape))
                old = grads.get(id(x))
                grads[id(x)] = dx if old is None else add(old, dx)
    except NotSymbolic:
        raise
    except Exception as e:  # a backward that needs its forward's saved values, ...
        raise NotSymbolic(str(e)) from e
    finally:
        recording_tapes.remove(sentinel)
    return [grads.get(id(s)) if s.dtype.is_floating else None for s in sources]


class _Sentinel:
    """Stands in a recording tape during the trace-time walk; it records nothing."""

    _tracked: dict = {}
    _watch_accessed_variables = False
    _records: list = []


def _carries_gradient(t: Tensor) -> bool:
    """Floating and complex tensors carry gradients (as the eager tape tracks them)."""
    return t.dtype.is_floating or t.dtype.is_complex


def _ones(t: Tensor) -> Any:
    return backend.default_xp().ones(tuple(t.shape), dtype=t.dtype._np)


def _zeros(t: Tensor) -> Any:
    return backend.default_xp().zeros(tuple(t.shape), dtype=t.dtype._np)


def _known(shape: Any) -> bool:
    """Whether every dimension of a static shape is known (its rank too)."""
    return shape.rank is not None and None not in tuple(shape)

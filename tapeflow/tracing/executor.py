"""Replaying a traced graph: a pruned program of nodes run in trace order on real values.

The program is built once per concrete function. Each step reads its inputs from the run's
environment (graph tensor id -> value) or from a captured tensor (a variable, read at run time;
a constant). With no tape recording, primitive nodes call their `Function` directly; under a
recording tape every node replays through the differentiable ops, so the tape records them
exactly as it would record the eager code.
"""

from __future__ import annotations

from typing import Any

from tapeflow.autodiff.function import recording_tapes
from tapeflow.tensor import Tensor


class RunState:
    """One replay's values (graph tensor id -> Tensor) and the tapes created by it."""

    __slots__ = ("env", "tapes")

    def __init__(self, env: dict) -> None:
        self.env = env
        self.tapes: dict = {}


def prune_dead_nodes(nodes: list, outputs: list) -> list:
    """Dead-code elimination: the nodes that produce `outputs` or change state, in order.

    A node is kept when it is stateful (assignment, printing, a lifted layer or optimizer call,
    a tape operation) or when a kept node or an output reads one of its outputs.
    """
    needed = {id(t) for t in outputs if isinstance(t, Tensor) and t._value is None}
    kept = []
    for node in reversed(nodes):
        if not (node.stateful or any(id(o) in needed for o in node.outputs)):
            continue
        kept.append(node)
        for x in node.inputs:
            if x._value is None:
                needed.add(id(x))
        for x in getattr(node, "free_inputs", ()):
            needed.add(id(x))
    kept.reverse()
    return kept


class Program:
    """The steps of a traced graph: `run(state)` executes them, filling `state.env`."""

    __slots__ = ("nodes", "_steps")

    def __init__(self, nodes: list, outputs: list) -> None:
        self.nodes = prune_dead_nodes(nodes, outputs)
        steps = []
        for node in self.nodes:
            reads = tuple((True, id(x)) if x._value is None else (False, x) for x in node.inputs)
            run_in = getattr(node, "run_in", None)
            kind = 2 if run_in is not None else (1 if getattr(node, "function", None) is not None else 0)
            steps.append((kind, node, reads, tuple(id(o) for o in node.outputs)))
        self._steps = steps

    def run(self, state: RunState) -> None:
        env = state.env
        for kind, node, reads, out_ids in self._steps:
            values = [env[r] if symbolic else r for symbolic, r in reads]
            if kind == 1 and not recording_tapes:
                out = node.function(*values)
                outs = out if type(out) is tuple else (out,)
            elif kind == 2:
                outs = node.run_in(values, state)
            else:
                outs = node.run(values)
            for k, v in zip(out_ids, outs, strict=False):
                env[k] = v


def read_output(t: Any, env: dict) -> Any:
    """The value of a traced output leaf: looked up when it is a graph tensor."""
    if isinstance(t, Tensor) and t._value is None:
        return env[id(t)]
    return t

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
    a tape operation) or when a kept node or an output reads one of its outputs. The operations
    of a tape whose gradients were all built into the graph at trace time are dropped.
    """
    needed = {id(t) for t in outputs if isinstance(t, Tensor) and t._value is None}
    kept = []
    for node in reversed(nodes):
        window = getattr(node, "window", None)
        if window is not None and not window.enacted:
            continue  # every gradient of that tape became graph ops: nothing to enact
        if not (node.stateful or any(id(o) in needed for o in node.outputs)):
            continue
        failed = getattr(node, "deferred_error", None)
        if failed is not None:
            raise failed  # a node that cannot run on these values is needed
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
        try:
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
        except BaseException:
            # A failed call must not leave the tapes it entered recording.
            for tape in state.tapes.values():
                tape._stop()
            raise


def read_output(t: Any, env: dict) -> Any:
    """The value of a traced output leaf: looked up when it is a graph tensor."""
    if isinstance(t, Tensor) and t._value is None:
        return env[id(t)]
    return t


class ArrayProgram:
    """A traced graph without tape enactment or control flow, replayed on raw arrays.

    Values live in a list of slots: the placeholders first, then each node's outputs; captured
    variables are read at the start of a run (assignments update their arrays in place),
    constants are stored once. A primitive step calls its `forward` directly (an error replays
    that node through the op itself, which raises the op's own message); a lifted call gets its
    inputs wrapped as Tensors and gives back its outputs' arrays.
    """

    __slots__ = ("_n_slots", "_constants", "_variables", "_steps", "_outputs")

    @staticmethod
    def supports(nodes: list) -> bool:
        return not any(hasattr(n, "run_in") for n in nodes)

    def __init__(self, nodes: list, placeholders: list, outputs: list) -> None:
        from tapeflow.tensor import Variable

        slots: dict = {id(p): i for i, p in enumerate(placeholders)}
        constants: list = []
        variables: list = []

        def slot_of(x: Any) -> int:
            k = id(x)
            if k not in slots:
                slots[k] = len(slots)
                if isinstance(x, Variable):
                    variables.append((slots[k], x))
                else:
                    constants.append((slots[k], x._value))
            return slots[k]

        steps = []
        for node in nodes:
            ins = tuple(slot_of(x) if x._value is not None else slots[id(x)] for x in node.inputs)
            outs = []
            for o in node.outputs:
                slots[id(o)] = len(slots)
                outs.append(slots[id(o)])
            fn = getattr(node, "function", None)
            primitive = fn is not None
            steps.append((primitive, fn.forward if primitive else node.run, ins,
                          outs[0] if primitive and len(outs) == 1 else tuple(outs), node))
        self._outputs = [None if not isinstance(o, Tensor) else slot_of(o) if o._value is not None else slots[id(o)]
                         for o in outputs]
        self._n_slots = len(slots)
        self._constants = constants
        self._variables = variables
        self._steps = steps

    def run(self, inputs: list) -> list:
        """Output arrays (None for non-tensor outputs) for placeholder arrays `inputs`."""
        env = [None] * self._n_slots
        env[: len(inputs)] = inputs
        for i, v in self._constants:
            env[i] = v
        for i, var in self._variables:
            env[i] = var._value
        for primitive, call, ins, out, node in self._steps:
            if primitive:
                try:
                    result = call(*[env[i] for i in ins])
                except Exception:
                    node.function(*[Tensor(env[i]) for i in ins])  # raises the op's error message
                    raise
                if type(out) is int:
                    env[out] = result
                    continue
            else:
                result = [r._value for r in call([Tensor(env[i]) for i in ins])]
            for i, r in zip(out, result, strict=True):
                env[i] = r
        return [None if i is None else env[i] for i in self._outputs]

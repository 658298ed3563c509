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

    Lowering pass: the pruned nodes become the source of one Python function (one local per
    value, one line per node, as torch.fx generates code), compiled once, so a replay does no
    interpretation: no environment list, no per-step dispatch. The placeholders arrive as
    arguments; captured variables are read at the start of a run (assignments update their
    arrays in place); constants are bound once. A primitive line calls the op's `forward`; a
    lifted call gets its inputs wrapped as Tensors and gives back its outputs' arrays. When a
    primitive fails, the failing line is found from the traceback and replayed through the op
    itself, which raises the op's own message.
    """

    __slots__ = ("_run", "_lines", "source", "reused_buffers")

    @staticmethod
    def supports(nodes: list) -> bool:
        return not any(hasattr(n, "run_in") for n in nodes)

    def __init__(self, nodes: list, placeholders: list, outputs: list) -> None:
        from tapeflow.tensor import Variable

        names: dict = {id(p): f"v{i}" for i, p in enumerate(placeholders)}
        params = list(names.values())
        namespace: dict = {"T": Tensor}
        prologue: list = []  # variables, read once at the start of a run

        def ref(x: Any) -> str:
            """The local holding `x`: a graph tensor's, or a new one for a captured value
            (a variable is read in the prologue; a constant is a global of the function)."""
            k = id(x)
            if k not in names:
                if x._value is None:
                    raise ValueError(f"ArrayProgram: graph tensor {x!r} is used before any node produces it.")
                names[k] = f"v{len(names)}"
                if isinstance(x, Variable):
                    namespace["V" + names[k]] = x
                    prologue.append(f"    {names[k]} = V{names[k]}._value")
                else:
                    namespace[names[k]] = x._value
            return names[k]

        from tapeflow.tracing.passes import plan_buffer_reuse

        reuse = plan_buffer_reuse(nodes, outputs)
        self.reused_buffers = len(reuse)
        body: list = []
        primitive_lines: dict = {}  # index in body -> (node, input locals), to name a failing op
        for k, node in enumerate(nodes):
            ins = [ref(x) for x in node.inputs]
            outs = []
            for o in node.outputs:
                names[id(o)] = f"v{len(names)}"
                outs.append(names[id(o)])
            fn = getattr(node, "function", None)
            array_fn = getattr(node, "array_fn", None)
            if array_fn is not None:
                namespace[f"A{k}"] = array_fn
                body.append(f"    A{k}({', '.join(ins)})")
                continue
            if fn is not None and k in reuse:
                namespace[f"F{k}"] = fn.forward_into
                call = f"F{k}({ins[reuse[k]]}, {', '.join(ins)})"
                target = outs[0]
                primitive_lines[len(body)] = (node, ins)
            elif fn is not None:
                namespace[f"F{k}"] = fn.forward
                call = f"F{k}({', '.join(ins)})"
                target = outs[0] if len(outs) == 1 else ", ".join(outs) + ","
                primitive_lines[len(body)] = (node, ins)
            else:
                namespace[f"N{k}"] = node.run
                call = f"[r._value for r in N{k}([{', '.join(f'T({i})' for i in ins)}])]"
                target = ", ".join(outs) + "," if outs else ""
            body.append(f"    {target} = {call}" if target else f"    {call}")
        returns = ", ".join("None" if not isinstance(o, Tensor) else ref(o) for o in outputs)
        first_body_line = 2 + len(prologue)  # after `def run(...):` and the prologue
        self._lines = {first_body_line + j: v for j, v in primitive_lines.items()}
        self.source = "\n".join([f"def run({', '.join(params)}):", *prologue, *body,
                                 f"    return [{returns}]"]) + "\n"
        exec(compile(self.source, "<traced tf.function>", "exec"), namespace)  # noqa: S102
        self._run = namespace["run"]

    def run(self, inputs: list) -> list:
        """Output arrays (None for non-tensor outputs) for placeholder arrays `inputs`."""
        try:
            return self._run(*inputs)
        except Exception as e:
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename != "<traced tf.function>":
                tb = tb.tb_next
            failed = self._lines.get(tb.tb_lineno) if tb is not None else None
            if failed is not None:
                node, ins = failed
                local = tb.tb_frame.f_locals
                node.function(*[Tensor(local[i] if i in local else tb.tb_frame.f_globals[i]) for i in ins])
            raise

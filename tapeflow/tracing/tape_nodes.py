"""`tf.GradientTape` inside a trace: the tape's operations become graph nodes.

Tracing does not differentiate anything. It records where the tape is entered, what it
watches, where gradients are asked for and where it is exited; each replay enacts those steps
with a real tape (`RunState.tapes`), so the ops replayed in between are recorded by it exactly
as in eager code, and `gradient` returns real gradients. Which sources are connected to the
target is decided at trace time from the graph, so unconnected ones are `None` as in TF.
"""

from __future__ import annotations

from typing import Any

from tapeflow import nest
from tapeflow.autodiff.function import recording_tapes
from tapeflow.tensor import Tensor
from tapeflow.tracing import func_graph, state, symbolic_grad
from tapeflow.tracing.func_graph import CallNode


class TapeNode(CallNode):
    """One tape operation (`op(real_tape, *args)`) enacted on this replay's real tape.
    `tape_op` names it (enter, exit, watch, pause, resume, reset, gradient) for SavedModel."""

    tape_op = ""
    connected: list = []

    def __init__(self, op: Any, tape: Any, args: tuple, name: str) -> None:
        super().__init__(op, args, {}, name, stateful=True)
        self.tape = tape

    def run_in(self, values: list, run: Any) -> list:
        saved = self.fn
        # Entering starts a fresh real tape for the traced one (again on every iteration of a
        # graph loop); the other operations act on the real tape entered last.
        tape = self.tape if saved is _enter else run.tapes.get(id(self.tape), self.tape)
        self.fn = lambda *a: saved(tape, run, *a)
        try:
            return CallNode.run(self, values)
        finally:
            self.fn = saved


def _enter(tape: Any, run: Any) -> None:
    from tapeflow.autodiff.tape import GradientTape

    real = GradientTape(persistent=tape._persistent, watch_accessed_variables=tape._watch_accessed_variables)
    run.tapes[id(tape)] = real
    real.__enter__()


def _exit(tape: Any, run: Any) -> None:
    tape._stop()


def _watch(tape: Any, run: Any, tensors: Any) -> None:
    tape.watch(tensors)


def _pause(tape: Any, run: Any) -> None:
    tape._stop()


def _resume(tape: Any, run: Any) -> None:
    recording_tapes.append(tape)


def _reset(tape: Any, run: Any) -> None:
    tape.reset()


def _window(tape: Any) -> Any:
    return getattr(state.current(), "tape_windows", {}).get(id(tape))


def record(tape: Any, op: str, *args: Any) -> None:
    """Record one tape operation (enter, exit, watch, pause, resume, reset): a node enacted at
    replay if some gradient of the tape needs it, and the tape's window for trace-time
    gradients (`symbolic_grad`)."""
    graph = state.current()
    if op == "enter":
        graph.tape_windows[id(tape)] = symbolic_grad.TapeWindow(tape, graph)
    window = _window(tape)
    if window is not None:
        n = len(graph.nodes)
        if op == "exit":
            window.stop = n
        elif op == "watch":
            window.watched.extend(t for t in nest.flatten(args[0]) if isinstance(t, Tensor))
        elif op == "pause":
            window.pauses.append([n, None])
        elif op == "resume" and window.pauses:
            window.pauses[-1][1] = n
        elif op == "reset":
            window.start, window.watched, window.pauses = n, [], []
    fn = {"enter": _enter, "exit": _exit, "watch": _watch, "pause": _pause, "resume": _resume,
          "reset": _reset}[op]
    node = TapeNode(fn, tape, args, name=f"tape_{op}")
    node.tape_op = op
    if window is not None:
        node.window = window


def gradient(tape: Any, target: Any, sources: Any, output_gradients: Any, mode: str) -> Any:
    """`tape.gradient` inside a trace: graph tensors for connected sources, None (or zeros for
    `unconnected_gradients="zero"`) for the others."""
    flat_targets = nest.flatten(target)
    flat_sources = nest.flatten(sources)
    for s in flat_sources:
        if not isinstance(s, Tensor):
            raise TypeError(f"GradientTape.gradient: sources must be tensors or variables, received "
                            f"{type(s).__name__}.")
    reach = func_graph.reachable(flat_targets)
    connected = [id(s) in reach and s.dtype.is_floating for s in flat_sources]
    ogs = None if output_gradients is None else nest.flatten(output_gradients)
    window = _window(tape)
    if window is not None:
        try:
            grads = symbolic_grad.gradient(window, state.current(), flat_targets, flat_sources, ogs)
        except symbolic_grad.NotSymbolic:
            window.enacted = True
        else:
            from tapeflow.autodiff.tape import gradient_hooks

            for hook in gradient_hooks:  # (tf.distribute: all-reduce buckets as they are produced)
                hook.traced(state.current(), flat_sources, grads)
            return _pack(sources, [_unconnected(s, mode) if g is None else g
                                   for s, g in zip(flat_sources, grads, strict=True)])

    def run_gradient(real: Any, run: Any, targets: list, srcs: list, grads_in: Any) -> list:
        gs = real.gradient(targets, srcs, output_gradients=grads_in)
        out = []
        for s, g, c in zip(srcs, gs, connected, strict=True):
            if not c:
                continue
            if g is None:
                # NOTE: connected in the graph but not recorded by this tape (computed before
                # it was entered): zeros, where eager code would get None.
                from tapeflow.ops.creation import zeros_like

                g = zeros_like(s)
            out.append(g)
        return out

    node = TapeNode(run_gradient, tape, (flat_targets, flat_sources, ogs), name="gradients")
    node.tape_op, node.connected = "gradient", connected
    from tapeflow import graph

    outs = [graph.new_output(s.shape, s.dtype, node, k, "gradients")
            for k, s in enumerate(s for s, c in zip(flat_sources, connected, strict=True) if c)]
    node.outputs = outs
    node._out_slots = list(range(len(outs)))
    it = iter(outs)
    result = [next(it) if c else _unconnected(s, mode) for s, c in zip(flat_sources, connected, strict=True)]
    return _pack(sources, result)


def _unconnected(source: Tensor, mode: str) -> Any:
    if mode == "zero" and source.dtype.is_floating and source.shape.is_fully_defined():
        from tapeflow.ops.creation import zeros

        return zeros(tuple(source.shape), source.dtype)
    return None


def _pack(sources: Any, result: list) -> Any:
    if isinstance(sources, Tensor):
        return result[0]
    return nest.pack_sequence_as(sources, result)

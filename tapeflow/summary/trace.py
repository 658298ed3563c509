"""`tf.summary.graph`, `trace_on`, `trace_off`, `trace_export`: the graphs of traced tf.functions
for TensorBoard's Graphs dashboard.

`trace_on(graph=True)` notes every concrete function called until `trace_export(name, step)`,
which writes them as TF does: one summary `name` (plugin "graph_run_metadata_graph") holding a
serialized `RunMetadata` with one `function_graphs` entry per function, its
`pre_optimization_graph` the function's GraphDef (`ConcreteFunction.graph.as_graph_def()`:
placeholders, then one node per recorded op). `graph(g)` writes a graph as an event's
`graph_def`. The op types are Tapeflow's primitive names (MatMul, Relu, ...), close to TF's.
There is no profiler: `profiler=True` is refused.
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any

from tapeflow.summary import writer as _writer
from tapeflow.summary._tensorboard import tensorboard
from tapeflow.tracing import state as _trace_state


class _Trace(threading.local):
    def __init__(self) -> None:
        self.graphs: dict = {}  # id(FuncGraph) -> FuncGraph, in call order
        self.profiling = False  # trace_on(profiler=True) started tf.profiler


_trace = _Trace()


def _observe(concrete: Any) -> None:
    _trace.graphs.setdefault(id(concrete.graph), concrete.graph)


def _graph_def_proto(graph_data: Any) -> Any:
    from tensorboard.compat.proto import graph_pb2

    if isinstance(graph_data, graph_pb2.GraphDef):
        return graph_data
    gd = graph_data.as_graph_def() if hasattr(graph_data, "as_graph_def") else graph_data
    nodes = getattr(gd, "node", None)
    if nodes is None:
        raise TypeError(
            "tf.summary.graph: graph_data must be a tf.function graph (ConcreteFunction.graph) or a "
            f"GraphDef, received {type(graph_data).__name__}."
        )
    proto = graph_pb2.GraphDef()
    for n in nodes:
        proto.node.add(name=n.name, op=n.op, input=list(n.input))
    return proto


def trace_on(graph: bool = True, profiler: bool = False, profiler_outdir: str | None = None) -> None:
    """Start noting the graphs of the tf.functions called from now on (for `trace_export`)."""
    if _trace_state.graphs and _trace_state.graphs[-1] is not None:
        warnings.warn("Cannot enable trace inside a tf.function.", stacklevel=2)
        return
    if _observe in _trace_state.call_observers or _trace.profiling:
        warnings.warn("Trace already enabled", stacklevel=2)
        return
    if profiler:
        if profiler_outdir is None:
            warnings.warn("No `profiler_outdir` passed to trace_on(). Profiler won't be enabled.", stacklevel=2)
        else:
            from tapeflow.profiler import experimental as _profiler

            _profiler.start(profiler_outdir)
            _trace.profiling = True
    if graph or profiler:  # (TF: enabling the profiler implies graph collection)
        _trace.graphs = {}
        _trace_state.call_observers.append(_observe)


def trace_off() -> None:
    """Stop noting graphs and forget the ones noted."""
    if _observe in _trace_state.call_observers:
        _trace_state.call_observers.remove(_observe)
    _trace.graphs = {}
    if _trace.profiling:
        _trace.profiling = False
        from tapeflow.profiler import experimental as _profiler

        try:
            _profiler.stop()
        except Exception as e:  # noqa: BLE001 - as TF: a failed stop is a warning here
            warnings.warn(f"Error while stopping profiler: {e}", stacklevel=2)


def trace_export(name: str, step: Any = None, profiler_outdir: str | None = None) -> None:
    """Write the noted graphs to the default writer under `name` at `step`, then `trace_off()`.

    Raises:
        ValueError: without a step (argument or `tf.summary.experimental.set_step`).
    """
    if profiler_outdir is not None and _trace.profiling:
        warnings.warn("Ignoring `profiler_outdir` passed to trace_export(). Please pass it to trace_on() "
                      "instead.", stacklevel=2)
    if step is None:
        step = _writer.get_step()
    if step is None:
        raise ValueError("Must provide step to trace_export(), or set default step via "
                         "tf.summary.experimental.set_step().")
    try:
        writer, condition, _ = _writer.capture()
        target = _writer.recording_writer(writer, condition)
        if target is None:
            return
        from tensorboard.compat.proto import config_pb2

        tb = tensorboard()
        run_metadata = config_pb2.RunMetadata()
        for g in _trace.graphs.values():
            run_metadata.function_graphs.add().pre_optimization_graph.CopyFrom(_graph_def_proto(g))
        metadata = tb.summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "graph_run_metadata_graph"
        metadata.plugin_data.content = b"1"
        tensor = tb.tensor_util.make_tensor_proto([run_metadata.SerializeToString()], dtype="string")
        value = tb.summary_pb2.Summary.Value(tag=name, tensor=tensor, metadata=metadata)
        target._write(value, int(getattr(step, "numpy", lambda: step)()))
    finally:
        trace_off()


def graph(graph_data: Any) -> bool:
    """Write `graph_data` (a traced function's graph or a GraphDef) as the run's graph; returns
    whether it was written (False without a default writer, or while `record_if` is off)."""
    writer, condition, _ = _writer.capture()
    target = _writer.recording_writer(writer, condition)
    if target is None:
        return False
    proto = _graph_def_proto(graph_data)
    event = tensorboard().event_pb2.Event(wall_time=time.time(), step=0, graph_def=proto.SerializeToString())
    return target._write_event(event)

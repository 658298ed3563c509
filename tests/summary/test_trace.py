"""tf.summary.graph / trace_on / trace_export / trace_off: graphs of traced functions for TensorBoard."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest

import tapeflow as tf

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader  # noqa: E402
from tensorboard.compat.proto import config_pb2, graph_pb2  # noqa: E402


def _events(logdir):
    (path,) = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    return [e for e in LegacyEventFileLoader(path).Load() if e.WhichOneof("what") != "file_version"]


def _trace_and_export(tf_mod, logdir):
    writer = tf_mod.summary.create_file_writer(logdir)

    @tf_mod.function
    def f(x):
        return tf_mod.nn.relu(x * 2.0) + 1.0

    tf_mod.summary.trace_on(graph=True, profiler=False)
    f(tf_mod.constant([1.0, -2.0]))
    with writer.as_default():
        tf_mod.summary.trace_export(name="my_trace", step=3)
    writer.flush()
    return _events(logdir)


def _layout(events):
    """(kind, step, tag, plugin name, plugin content) per event."""
    out = []
    for e in events:
        kind = e.WhichOneof("what")
        if kind == "summary":
            for v in e.summary.value:
                out.append((kind, e.step, v.tag, v.metadata.plugin_data.plugin_name, v.metadata.plugin_data.content))
        else:
            out.append((kind, e.step, None, None, None))
    return out


def test_trace_export_writes_the_called_functions_graphs(tmp_path):
    events = _trace_and_export(tf, str(tmp_path))
    assert _layout(events) == [("summary", 3, "my_trace", "graph_run_metadata_graph", b"1")]
    (raw,) = events[0].summary.value[0].tensor.string_val
    run_metadata = config_pb2.RunMetadata.FromString(raw)
    (fg,) = run_metadata.function_graphs
    nodes = fg.pre_optimization_graph.node
    assert nodes[0].op == "Placeholder"
    ops = [n.op for n in nodes]
    assert "Relu" in ops and len(ops) >= 4
    names = {n.name for n in nodes}
    assert all(i.split(":")[0] in names for n in nodes for i in n.input)  # inputs name graph nodes
    # Export turned tracing off: calls are no longer noted and nothing more is written.
    from tapeflow.tracing import state

    assert state.call_observers == []


def test_graph_writes_a_graph_def_event_and_errors_are_clear(tmp_path):
    @tf.function
    def g(x):
        return tf.matmul(x, x)

    concrete = g.get_concrete_function(tf.TensorSpec((2, 2)))
    writer = tf.summary.create_file_writer(str(tmp_path))
    assert tf.summary.graph(concrete.graph) is False  # no default writer
    with writer.as_default():
        assert tf.summary.graph(concrete.graph) is True
    writer.flush()
    (event,) = _events(str(tmp_path))
    graph = graph_pb2.GraphDef.FromString(event.graph_def)
    assert [n.op for n in graph.node][0] == "Placeholder" and "MatMul" in [n.op for n in graph.node]
    with pytest.warns(UserWarning, match="profiler_outdir"):  # TF: a warning, no profile
        tf.summary.trace_on(graph=True, profiler=True)
    tf.summary.trace_off()
    tf.summary.trace_on()
    tf.summary.experimental.set_step(None)  # other tests may have set a default step
    with pytest.raises(ValueError, match="Must provide step"):
        tf.summary.trace_export("t")
    tf.summary.trace_off()
    with pytest.raises(TypeError, match="graph_data"):
        with writer.as_default():
            tf.summary.graph(np.zeros(3))


@pytest.mark.oracle
def test_same_events_as_tensorflow(tmp_path):
    real = pytest.importorskip("tensorflow")
    ours = _layout(_trace_and_export(tf, str(tmp_path / "ours")))
    theirs = _layout(_trace_and_export(real, str(tmp_path / "theirs")))
    assert ours == theirs

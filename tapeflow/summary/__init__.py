"""`tf.summary`: TensorBoard summaries (scalars, histograms, images, audio, text) written to event files.

Needs the optional `tensorboard` package (`pip install 'tapeflow[tensorboard]'`), whose event
writer and summary builders produce the files; using a writer without it raises an ImportError
naming the extra.

`graph`, `trace_on`, `trace_off` and `trace_export` write the GraphDefs of traced tf.functions
for the Graphs dashboard (op types are Tapeflow's primitives; there is no profiler).

Example:
    >>> writer = tf.summary.create_file_writer("logs")
    >>> with writer.as_default():
    ...     for step in range(3):
    ...         tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
"""

from __future__ import annotations

from tapeflow.summary import experimental
from tapeflow.summary.ops import audio, histogram, image, scalar, text, write
from tapeflow.summary.trace import graph, trace_export, trace_off, trace_on
from tapeflow.summary.writer import (
    SummaryWriter, create_file_writer, create_noop_writer, flush, record_if, should_record_summaries,
)

del annotations

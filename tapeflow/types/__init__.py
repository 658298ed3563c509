"""`tf.types`: the public base types user code extends (`tf.types.experimental.TraceType`)."""

from tapeflow.types import experimental

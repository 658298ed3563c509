"""`tf.experimental`: the NumPy API on tensors (`tf.experimental.numpy`)."""

from tapeflow.experimental import numpy  # noqa: F401

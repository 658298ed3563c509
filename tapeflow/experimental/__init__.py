"""`tf.experimental`: the NumPy API on tensors (`tf.experimental.numpy`), and `Optional`."""

from tapeflow.data.optional import Optional  # noqa: F401
from tapeflow.experimental import numpy  # noqa: F401

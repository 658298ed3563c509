"""`tf.profiler`: the in-process profiler of `tf.profiler.experimental` (see experimental.py)."""

from tapeflow.profiler import experimental

__all__ = ["experimental"]

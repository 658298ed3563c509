"""`tf.security`: the dtype annotation classes of TF's fuzzing harness (`tf.security.fuzzing.py`)."""

from tapeflow.security import fuzzing

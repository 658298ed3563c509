"""`tf.security.fuzzing`."""

from tapeflow.security.fuzzing import py

"""`tf.security.fuzzing.py`."""

from tapeflow.security.fuzzing.py import annotation_types

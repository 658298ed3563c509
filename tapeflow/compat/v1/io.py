"""`tf.compat.v1.io` (and `tf.compat.v1.python_io`): TF 2's `tf.io` plus the TF 1 record names
`tf_record_iterator` and `TFRecordCompressionType`."""

from tapeflow.io import *  # noqa: F403
from tapeflow.io import __all__ as _v2_names
from tapeflow.io.records import TFRecordCompressionType, tf_record_iterator

__all__ = [*_v2_names, "TFRecordCompressionType", "tf_record_iterator"]

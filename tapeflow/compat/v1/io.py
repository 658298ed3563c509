"""`tf.compat.v1.io` (and `tf.compat.v1.python_io`): TF 2's `tf.io` plus the TF 1 record names
`tf_record_iterator` and `TFRecordCompressionType`."""

from tapeflow.io import *  # noqa: F403
from tapeflow.io import __all__ as _v2_names
from tapeflow.io.records import TFRecordCompressionType, tf_record_iterator

__all__ = [*_v2_names, "TFRecordCompressionType", "tf_record_iterator"]


def __getattr__(name: str) -> object:
    # TF 1 names that are TF 2 objects (the generated table compat/v1/v2_names.py), on first use.
    from tapeflow.compat.v1.v2_alias import lookup

    return lookup("io", name)

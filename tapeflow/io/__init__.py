"""`tf.io`, the tensor parts: serialize_tensor / parse_tensor (TF's TensorProto bytes),
read_file / write_file, decode_raw, and `tf.io.gfile`."""

from tapeflow.io import gfile
from tapeflow.io.ops import decode_raw, parse_tensor, read_file, serialize_tensor, write_file

__all__ = ["decode_raw", "gfile", "parse_tensor", "read_file", "serialize_tensor", "write_file"]

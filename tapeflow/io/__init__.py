"""`tf.io`: TFRecord files (TFRecordWriter, TFRecordOptions), tf.train.Example parsing
(parse_example, parse_single_example, parse_sequence_example and the feature configs),
serialize_tensor / parse_tensor (TF's TensorProto bytes), read_file / write_file, decode_raw,
the image codecs of `tf.image`, and `tf.io.gfile`."""

from tapeflow.io import gfile
from tapeflow.io.ops import decode_raw, parse_tensor, read_file, serialize_tensor, write_file
from tapeflow.io.records import TFRecordOptions, TFRecordWriter

__all__ = ["TFRecordOptions", "TFRecordWriter", "decode_raw", "gfile", "parse_tensor", "read_file",
           "serialize_tensor", "write_file"]

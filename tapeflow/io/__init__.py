"""`tf.io`: TFRecord files (TFRecordWriter, TFRecordOptions), tf.train.Example parsing
(parse_example, parse_single_example, parse_sequence_example and the feature configs),
serialize_tensor / parse_tensor (TF's TensorProto bytes), read_file / write_file, decode_raw,
the image codecs of `tf.image`, and `tf.io.gfile`."""

from tapeflow.image.codecs import (
    decode_and_crop_jpeg,
    decode_bmp,
    decode_gif,
    decode_image,
    decode_jpeg,
    decode_png,
    encode_jpeg,
    encode_png,
    extract_jpeg_shape,
    is_jpeg,
)
from tapeflow.io import gfile
from tapeflow.io.ops import decode_raw, parse_tensor, read_file, serialize_tensor, write_file
from tapeflow.io.json_example import decode_json_example
from tapeflow.io.parsing import (
    FixedLenFeature,
    FixedLenSequenceFeature,
    RaggedFeature,
    SparseFeature,
    VarLenFeature,
    parse_example,
    parse_sequence_example,
    parse_single_example,
    parse_single_sequence_example,
)
from tapeflow.io.records import TFRecordOptions, TFRecordWriter

__all__ = [
    "FixedLenFeature", "FixedLenSequenceFeature", "RaggedFeature", "SparseFeature", "TFRecordOptions",
    "TFRecordWriter", "VarLenFeature", "decode_and_crop_jpeg", "decode_bmp", "decode_gif", "decode_image",
    "decode_jpeg", "decode_png", "encode_jpeg", "encode_png", "extract_jpeg_shape", "is_jpeg",
    "decode_json_example", "decode_raw", "gfile", "parse_example",
    "parse_sequence_example", "parse_single_example", "parse_single_sequence_example", "parse_tensor",
    "read_file", "serialize_tensor", "write_file",
]

"""`tf.io`: TFRecord files (TFRecordWriter, TFRecordOptions), tf.train.Example parsing
(parse_example, parse_single_example, parse_sequence_example and the feature configs),
serialize_tensor / parse_tensor (TF's TensorProto bytes), read_file / write_file, decode_raw,
decode_csv, base64 and compressed strings, SparseTensor serialization, matching_files, the image
codecs of `tf.image`, and `tf.io.gfile`. decode_proto / encode_proto / write_graph / decode_jxl
raise UnimplementedError (see unavailable.py)."""

from tapeflow.image.codecs import (
    decode_and_crop_jpeg,
    decode_bmp,
    decode_gif,
    decode_image,
    decode_jpeg,
    decode_png,
    decode_webp,
    encode_jpeg,
    encode_png,
    extract_jpeg_shape,
    is_jpeg,
)
from tapeflow.io import gfile
from tapeflow.io.csv import decode_csv
from tapeflow.io.encoding import decode_base64, decode_compressed, encode_base64
from tapeflow.io.ops import (
    decode_raw,
    match_filenames_once,
    matching_files,
    parse_tensor,
    read_file,
    serialize_tensor,
    write_file,
)
from tapeflow.io.json_example import decode_json_example
from tapeflow.io.features import (
    FixedLenFeature,
    FixedLenSequenceFeature,
    RaggedFeature,
    SparseFeature,
    VarLenFeature,
)
from tapeflow.io.parsing import (
    parse_example,
    parse_sequence_example,
    parse_single_example,
    parse_single_sequence_example,
)
from tapeflow.io.records import TFRecordOptions, TFRecordWriter
from tapeflow.io.sparse_io import deserialize_many_sparse, serialize_many_sparse, serialize_sparse
from tapeflow.io.unavailable import decode_jxl, decode_proto, encode_proto, write_graph

__all__ = [
    "FixedLenFeature", "FixedLenSequenceFeature", "RaggedFeature", "SparseFeature", "TFRecordOptions",
    "TFRecordWriter", "VarLenFeature", "decode_and_crop_jpeg", "decode_bmp", "decode_gif", "decode_image",
    "decode_jpeg", "decode_png", "encode_jpeg", "encode_png", "extract_jpeg_shape", "is_jpeg",
    "decode_json_example", "decode_webp", "decode_csv", "decode_base64", "decode_compressed", "encode_base64",
    "match_filenames_once", "matching_files", "deserialize_many_sparse", "serialize_many_sparse",
    "serialize_sparse", "decode_jxl", "decode_proto", "encode_proto", "write_graph", "decode_raw", "gfile",
    "parse_example",
    "parse_sequence_example", "parse_single_example", "parse_single_sequence_example", "parse_tensor",
    "read_file", "serialize_tensor", "write_file",
]

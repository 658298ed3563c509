"""`tf.strings`: ops on `tf.string` tensors (UTF-8 bytes), with TF's values and errors."""

from tapeflow.strings.ops import (
    as_string, format, join, length, lower, ngrams, reduce_join, strip, substr, to_hash_bucket,
    to_hash_bucket_fast, to_hash_bucket_strong, to_number, unsorted_segment_join, upper,
)
from tapeflow.strings.regex import regex_full_match, regex_replace
from tapeflow.strings.script import unicode_script
from tapeflow.strings.split import split
from tapeflow.strings.unicode import (
    bytes_split, unicode_decode, unicode_decode_with_offsets, unicode_encode, unicode_split,
    unicode_split_with_offsets, unicode_transcode,
)

__all__ = [
    "as_string", "bytes_split", "format", "join", "length", "lower", "ngrams", "reduce_join",
    "regex_full_match", "regex_replace", "split", "strip", "substr", "to_hash_bucket",
    "to_hash_bucket_fast", "to_hash_bucket_strong", "to_number", "unicode_decode",
    "unicode_decode_with_offsets", "unicode_encode", "unicode_script", "unicode_split", "unicode_split_with_offsets",
    "unicode_transcode", "unsorted_segment_join", "upper",
]

# tf.strings.join takes RaggedTensors (joined value by value), through the composite dispatch.
from tapeflow import dispatch as _dispatch  # noqa: E402

join = _dispatch.api_function(join, "strings_join", "list")

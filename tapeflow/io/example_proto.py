"""TF's `tf.train.Example` messages (feature.proto, example.proto), on the message runtime of
`tapeflow.io.protobuf`: same field numbers, so the bytes are TensorFlow's."""

from __future__ import annotations

from tapeflow.io.protobuf import Field, Message


class BytesList(Message):
    """`tf.train.BytesList`: a list of byte strings (`value`)."""

    FULL_NAME = "tensorflow.BytesList"
    FIELDS = (Field("value", 1, "bytes", repeated=True),)


class FloatList(Message):
    """`tf.train.FloatList`: a list of float32 values (`value`), packed on the wire."""

    FULL_NAME = "tensorflow.FloatList"
    FIELDS = (Field("value", 1, "float", repeated=True),)


class Int64List(Message):
    """`tf.train.Int64List`: a list of int64 values (`value`), packed on the wire."""

    FULL_NAME = "tensorflow.Int64List"
    FIELDS = (Field("value", 1, "int64", repeated=True),)


class Feature(Message):
    """`tf.train.Feature`: one of `bytes_list`, `float_list`, `int64_list` (the oneof "kind")."""

    FULL_NAME = "tensorflow.Feature"
    FIELDS = (Field("bytes_list", 1, "message", message="BytesList", oneof="kind"),
              Field("float_list", 2, "message", message="FloatList", oneof="kind"),
              Field("int64_list", 3, "message", message="Int64List", oneof="kind"))


class Features(Message):
    """`tf.train.Features`: a map from feature name to `Feature` (`feature`)."""

    FULL_NAME = "tensorflow.Features"
    FIELDS = (Field("feature", 1, "map", message="Feature"),)


class FeatureList(Message):
    """`tf.train.FeatureList`: a list of `Feature`s (`feature`), one per step of a sequence."""

    FULL_NAME = "tensorflow.FeatureList"
    FIELDS = (Field("feature", 1, "message", repeated=True, message="Feature"),)


class FeatureLists(Message):
    """`tf.train.FeatureLists`: a map from name to `FeatureList` (`feature_list`)."""

    FULL_NAME = "tensorflow.FeatureLists"
    FIELDS = (Field("feature_list", 1, "map", message="FeatureList"),)


class Example(Message):
    """`tf.train.Example`: one record of named features (`features`)."""

    FULL_NAME = "tensorflow.Example"
    FIELDS = (Field("features", 1, "message", message="Features"),)


class SequenceExample(Message):
    """`tf.train.SequenceExample`: `context` features and per-step `feature_lists`."""

    FULL_NAME = "tensorflow.SequenceExample"
    FIELDS = (Field("context", 1, "message", message="Features"),
              Field("feature_lists", 2, "message", message="FeatureLists"))

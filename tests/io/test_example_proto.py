"""tf.train.Example messages: construction, presence and oneof rules, wire format and text format,
against TensorFlow's protobuf messages."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.io.protobuf import DecodeError

T = tf.train


def _sample(mod):
    ex = mod.Example()
    ex.features.feature["z"].int64_list.value.extend([3, -1, 2**63 - 1])
    ex.features.feature["a"].bytes_list.value.append(b"a\n\x00\xff'\"\\ \x7f")
    ex.features.feature["f"].float_list.value[:] = [np.exp(1), 1e10, 0.1, -0.0, float("inf"), 1e-7, 3.0]
    return ex


def test_presence_oneof_and_containers():
    f = T.Feature()
    assert f.WhichOneof("kind") is None and str(f) == ""
    f.int64_list.value.append(1)
    assert f.WhichOneof("kind") == "int64_list" and f.HasField("int64_list")
    f.float_list.value.append(2.5)
    assert f.WhichOneof("kind") == "float_list" and not f.HasField("int64_list")
    ex = T.Example()
    assert not ex.HasField("features") and ex.features.feature.get("x") is None
    ex.features.feature["x"].bytes_list.value.append(b"v")
    assert ex.HasField("features") and "x" in ex.features.feature and len(ex.features.feature) == 1
    with pytest.raises(AttributeError, match="Assignment not allowed"):
        ex.features = T.Features()
    with pytest.raises(TypeError, match="expected bytes, str found"):
        T.BytesList(value=["text"])
    with pytest.raises(TypeError, match="expected an int"):
        T.Int64List(value=[1.5])
    with pytest.raises(ValueError, match="out of range"):
        T.Int64List(value=[2**63])
    assert T.Int64List(value=[True, np.int32(3), tf.constant(5)]).value == [1, 3, 5]
    assert T.FloatList(value=[0.1]).value[0] == float(np.float32(0.1))
    seq = T.SequenceExample()
    seq.feature_lists.feature_list["s"].feature.add().int64_list.value.append(7)
    assert seq.HasField("feature_lists") and not seq.HasField("context")
    assert T.Features(feature={"k": {"int64_list": {"value": [1]}}}).feature["k"].int64_list.value == [1]


def test_wire_round_trip_equality_copy_pickle():
    ex = _sample(T)
    data = ex.SerializeToString()
    back = T.Example.FromString(data)
    assert back == ex and back.SerializeToString() == data and ex.ByteSize() == len(data)
    other = T.Example()
    assert other.ParseFromString(data) == len(data) and other == ex
    assert copy.deepcopy(ex) == ex and pickle.loads(pickle.dumps(ex)) == ex
    merged = T.Example()
    merged.MergeFrom(ex)
    merged.MergeFrom(ex)
    assert len(merged.features.feature["z"].int64_list.value) == 6
    merged.CopyFrom(ex)
    assert merged == ex
    merged.Clear()
    assert merged == T.Example() and merged != ex
    with pytest.raises(DecodeError, match="tensorflow.Example"):
        T.Example.FromString(b"\x0a\x05abc")


@pytest.mark.oracle
def test_bytes_and_text_match_tensorflow():
    real = pytest.importorskip("tensorflow")
    ours, theirs = _sample(T), _sample(real.train)
    # Map entries print in an order protobuf does not fix: compare one entry at a time.
    for key in ("z", "a", "f"):
        assert str(ours.features.feature[key]) == str(theirs.features.feature[key])
        one = T.Example()
        one.features.feature[key].CopyFrom(ours.features.feature[key])
        assert str(one) == str(real.train.Example.FromString(one.SerializeToString()))
    assert T.Example.FromString(theirs.SerializeToString()) == ours
    assert real.train.Example.FromString(ours.SerializeToString()) == theirs
    seq_ours, seq_theirs = T.SequenceExample(), real.train.SequenceExample()
    for s in (seq_ours, seq_theirs):
        s.context.feature["c"].float_list.value.append(1.5)
        fl = s.feature_lists.feature_list["steps"]
        fl.feature.add().int64_list.value[:] = [1, 2]
        fl.feature.add()
    assert str(seq_ours) == str(seq_theirs)
    assert seq_ours.SerializeToString() == seq_theirs.SerializeToString()
    assert real.train.SequenceExample.FromString(seq_ours.SerializeToString()) == seq_theirs


@pytest.mark.oracle
def test_protobuf_text_format_reads_and_writes_our_messages():
    """google.protobuf.text_format (the ragged-tensor guide's `pbtext.Merge(s, tf.train.Example())`)
    works on these messages through their descriptors, as on TF's."""
    text_format = pytest.importorskip("google.protobuf.text_format")
    ttf = pytest.importorskip("tensorflow")
    text = ('features { feature {key: "colors" value {bytes_list {value: ["red", "blue"]} } }\n'
            '  feature {key: "lengths" value {int64_list {value: [7, -2]} } } }')
    ours, theirs = text_format.Merge(text, T.Example()), text_format.Merge(text, ttf.train.Example())
    assert ttf.train.Example.FromString(ours.SerializeToString()) == theirs  # map order is free on the wire
    assert text_format.MessageToString(ours) == text_format.MessageToString(theirs) == str(ours)
    assert text_format.Parse(str(ours), T.Example()) == ours
    seq = ('context { feature { key: "a" value { float_list { value: [1.5, 2] } } } } feature_lists { '
           'feature_list { key: "b" value { feature { int64_list { value: 3 } } '
           'feature { int64_list { value: [4] } } } } }')
    assert (text_format.Parse(seq, T.SequenceExample()).SerializeToString()
            == text_format.Parse(seq, ttf.train.SequenceExample()).SerializeToString())
    both = 'features { feature { key: "a" value { bytes_list { value: "x" } int64_list { value: 1 } } } }'
    with pytest.raises(text_format.ParseError, match='another member of oneof "kind"'):
        text_format.Parse(both, T.Example())

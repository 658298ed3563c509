"""tf.io.parse_example and friends: every feature configuration against TensorFlow, errors, and
parsing inside tf.function / Dataset.map."""

from __future__ import annotations

import pytest

import tapeflow as tf


def _example(mod, **features):
    ex = mod.train.Example()
    for k, v in features.items():
        f = ex.features.feature[k]
        if v and isinstance(v[0], bytes):
            f.bytes_list.value.extend(v)
        elif v and isinstance(v[0], float):
            f.float_list.value.extend(v)
        else:
            f.int64_list.value.extend(v)
    return ex.SerializeToString()


def _sequence_example(mod, context, lists):
    s = mod.train.SequenceExample()
    for k, v in context.items():
        s.context.feature[k].int64_list.value.extend(v)
    for k, steps in lists.items():
        fl = s.feature_lists.feature_list[k]
        for step in steps:
            f = fl.feature.add()
            (f.float_list if k.startswith("w") else f.int64_list).value.extend(step)
    return s.SerializeToString()


RECORDS = [dict(a=[1, 2], b=[1.5], c=[b"x", b"y", b"z"], i=[3, 0], v=[0.5, 0.25], l=[2, 0], s=[5, 6]),
           dict(a=[3, 4], c=[b"w"], l=[0, 0])]


def _configs(mod, ragged):
    """Dense with sparse, or dense with ragged features (TF refuses one key read both ways)."""
    io, R = mod.io, mod.io.RaggedFeature
    dense = {"a": io.FixedLenFeature([1, 2], mod.int64), "b": io.FixedLenFeature([], mod.float32, default_value=-1.0)}
    if not ragged:
        return {**dense, "c": io.VarLenFeature(mod.string), "sp": io.SparseFeature("i", "v", mod.float32, 5),
                "s": io.FixedLenSequenceFeature([], mod.int64, allow_missing=True, default_value=-7)}
    return {**dense, "r": io.RaggedFeature(mod.string, value_key="c"),
            "rp": io.RaggedFeature(mod.float32, value_key="v", partitions=[R.RowLengths("l")]),
            "ru": io.RaggedFeature(mod.string, value_key="c", partitions=[R.UniformRowLength(1)])}


def _plain(value):
    if hasattr(value, "dense_shape"):
        return ("sparse", value.indices.numpy().tolist(), value.values.numpy().tolist(),
                value.dense_shape.numpy().tolist())
    if hasattr(value, "to_list"):
        return ("ragged", value.to_list())
    return ("dense", value.numpy().tolist(), tuple(value.shape), value.dtype.name)


@pytest.mark.oracle
@pytest.mark.parametrize("ragged", [False, True])
def test_parse_example_matches_tensorflow(ragged):
    real = pytest.importorskip("tensorflow")
    serialized = [_example(real, **r) for r in RECORDS]
    ours = tf.io.parse_example(serialized, _configs(tf, ragged))
    theirs = real.io.parse_example(serialized, _configs(real, ragged))
    assert list(ours) == list(theirs)
    for key in theirs:
        assert _plain(ours[key]) == _plain(theirs[key]), key
    single_ours = tf.io.parse_single_example(serialized[0], _configs(tf, ragged))
    single_theirs = real.io.parse_single_example(serialized[0], _configs(real, ragged))
    for key in single_theirs:
        assert _plain(single_ours[key]) == _plain(single_theirs[key]), key


@pytest.mark.oracle
def test_parse_sequence_example_matches_tensorflow():
    real = pytest.importorskip("tensorflow")
    data = [_sequence_example(real, {"n": [3]}, {"tok": [[1], [2], [3]], "w": [[1.0, 2.0], [3.0]],
                                                 "fix": [[1, 2], [3, 4]], "w2": [[1.0], [], [2.0, 3.0]]}),
            _sequence_example(real, {"n": [1]}, {"tok": [[4]], "w": [[5.0]], "fix": [[5, 6]], "w2": [[4.0]]})]

    def configs(mod):
        return ({"n": mod.io.FixedLenFeature([], mod.int64)},
                {"tok": mod.io.FixedLenSequenceFeature([], mod.int64), "w": mod.io.VarLenFeature(mod.float32),
                 "fix": mod.io.FixedLenSequenceFeature([2], mod.int64),
                 "r": mod.io.RaggedFeature(mod.float32, value_key="w2"),
                 "gone": mod.io.FixedLenSequenceFeature([], mod.int64, allow_missing=True)})

    ours = tf.io.parse_sequence_example(data, *configs(tf))
    theirs = real.io.parse_sequence_example(data, *configs(real))
    for o, t in zip(ours, theirs, strict=True):
        assert list(o) == list(t)
        for key in t:
            assert _plain(o[key]) == _plain(t[key]), key
    ours1 = tf.io.parse_single_sequence_example(data[0], *configs(tf))
    theirs1 = real.io.parse_single_sequence_example(data[0], *configs(real))
    for o, t in zip(ours1, theirs1, strict=True):
        for key in t:
            assert _plain(o[key]) == _plain(t[key]), key


@pytest.mark.oracle
def test_decode_json_example_matches_tensorflow():
    real = pytest.importorskip("tensorflow")
    text = ('{"features": {"feature": {"a": {"int64List": {"value": ["1", 2]}}, '
            '"b": {"floatList": {"value": [1.5]}}, "c": {"bytesList": {"value": ["YWJj"]}}}}}')
    ours = tf.train.Example.FromString(tf.io.decode_json_example(text).numpy())
    theirs = tf.train.Example.FromString(real.io.decode_json_example(text).numpy())
    assert ours == theirs


def test_errors_name_the_feature():
    data = _example(tf, a=[1, 2], b=[1.5])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Feature: x \\(data type: float\\) is required"):
        tf.io.parse_single_example(data, {"x": tf.io.FixedLenFeature([], tf.float32)})
    with pytest.raises(tf.errors.InvalidArgumentError, match="Key: a.  Data types don't match. Data type: int64 "
                                                             "but expected type: float"):
        tf.io.parse_single_example(data, {"a": tf.io.FixedLenFeature([2], tf.float32)})
    with pytest.raises(tf.errors.InvalidArgumentError, match="Values size: 2 but output shape: \\[3\\]"):
        tf.io.parse_single_example(data, {"a": tf.io.FixedLenFeature([3], tf.int64)})
    with pytest.raises(tf.errors.InvalidArgumentError, match="Could not parse example input"):
        tf.io.parse_single_example(b"\x0a\x05abc", {"a": tf.io.FixedLenFeature([2], tf.int64)})
    with pytest.raises(ValueError, match="must be a scalar"):
        tf.io.parse_single_example([data], {"a": tf.io.FixedLenFeature([2], tf.int64)})
    with pytest.raises(ValueError, match="requires allow_missing to be True"):
        tf.io.parse_example([data], {"a": tf.io.FixedLenSequenceFeature([], tf.int64)})
    with pytest.raises(ValueError, match="dtype int32"):
        tf.io.parse_example([data], {"a": tf.io.FixedLenFeature([2], tf.int32)})
    with pytest.raises(ValueError, match="default_value"):
        tf.io.parse_example([data], {"q": tf.io.FixedLenFeature([2], tf.int64, default_value=0)})


def test_parsing_in_dataset_map_and_tf_function(tmp_path):
    path = str(tmp_path / "r.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for r in RECORDS:
            w.write(_example(tf, **r))
    feats = {"a": tf.io.FixedLenFeature([2], tf.int64), "b": tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
             "c": tf.io.FixedLenSequenceFeature([], tf.string, allow_missing=True),
             "r": tf.io.RaggedFeature(tf.string, value_key="c")}
    ds = tf.data.TFRecordDataset(path).map(lambda r: tf.io.parse_single_example(r, feats))
    assert ds.element_spec == {"a": tf.TensorSpec([2], tf.int64), "b": tf.TensorSpec([], tf.float32),
                               "c": tf.TensorSpec([None], tf.string), "r": tf.TensorSpec([None], tf.string)}
    got = list(ds)
    assert [g["c"].numpy().tolist() for g in got] == [[b"x", b"y", b"z"], [b"w"]]
    assert [float(g["b"]) for g in got] == [1.5, 0.0]
    batched = tf.data.TFRecordDataset(path).batch(2).map(
        lambda r: tf.io.parse_example(r, {k: v for k, v in feats.items() if k != "r"}))
    assert batched.element_spec["c"] == tf.TensorSpec([None, None], tf.string)
    assert next(iter(batched))["c"].numpy().tolist() == [[b"x", b"y", b"z"], [b"w", b"", b""]]

    @tf.function
    def ints(r):
        return tf.io.parse_example(r, {"a": tf.io.FixedLenFeature([2], tf.int64)})["a"] * 2

    assert ints(tf.constant([_example(tf, **r) for r in RECORDS])).numpy().tolist() == [[2, 4], [6, 8]]

    @tf.function
    def sparse(r):
        return tf.io.parse_example(r, {"c": tf.io.VarLenFeature(tf.string)})["c"].values

    # VarLen results are SparseTensors of graph tensors inside tf.function, as in TF.
    assert sparse(tf.constant([_example(tf, **RECORDS[0])])).numpy().tolist() == [b"x", b"y", b"z"]


def test_var_len_made_dense_in_map_has_unknown_length(tmp_path):
    path = str(tmp_path / "v.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for v in ([1, 2, 3], [4], [5, 6]):
            w.write(_example(tf, c=v))
    ds = tf.data.TFRecordDataset(path).map(
        lambda r: tf.sparse.to_dense(tf.io.parse_single_example(r, {"c": tf.io.VarLenFeature(tf.int64)})["c"]))
    assert ds.element_spec == tf.TensorSpec([None], tf.int64)
    assert next(iter(ds.padded_batch(3))).numpy().tolist() == [[1, 2, 3], [4, 0, 0], [5, 6, 0]]


@pytest.mark.oracle
def test_ragged_map_results_batch_and_unbatch_as_tensorflow(tmp_path):
    real = pytest.importorskip("tensorflow")
    path = str(tmp_path / "v.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for v in ([1, 2, 3], [4], [5, 6]):
            w.write(_example(tf, c=v))

    def pipeline(mod):
        ds = mod.data.TFRecordDataset(path).batch(2).map(
            lambda r: mod.io.parse_example(r, {"c": mod.io.RaggedFeature(mod.int64)})["c"])
        return ds, ds.unbatch()

    for ours, theirs in zip(pipeline(tf), pipeline(real), strict=True):
        assert repr(ours.element_spec) == repr(theirs.element_spec)
        assert [_plain(x) for x in ours] == [_plain(x) for x in theirs]


@pytest.mark.oracle
def test_sparse_map_results_batch_and_unbatch_as_tensorflow(tmp_path):
    real = pytest.importorskip("tensorflow")
    path = str(tmp_path / "v.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for v in ([1, 2, 3], [4], [5, 6]):
            w.write(_example(tf, c=v))

    def pipelines(mod):
        single = mod.data.TFRecordDataset(path).map(
            lambda r: mod.io.parse_single_example(r, {"c": mod.io.VarLenFeature(mod.int64)})["c"])
        batched = mod.data.TFRecordDataset(path).batch(2).map(
            lambda r: mod.io.parse_example(r, {"c": mod.io.VarLenFeature(mod.int64)}))
        return single, single.batch(2), batched, batched.unbatch()

    for ours, theirs in zip(pipelines(tf), pipelines(real), strict=True):
        assert repr(ours.element_spec) == repr(theirs.element_spec)
        flat = lambda d: d["c"] if isinstance(d, dict) else d  # noqa: E731
        assert [_plain(flat(x)) for x in ours] == [_plain(flat(x)) for x in theirs]

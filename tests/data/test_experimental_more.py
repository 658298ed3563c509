"""tf.data.experimental from_list, get_structure, at, pad_to_cardinality, SHARD_HINT,
Reducer / group_by_reducer, parse_example_dataset against TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.errors import OutOfRangeError


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, dict):
            assert sorted(x) == sorted(y)
            for k in x:
                np.testing.assert_array_equal(x[k], y[k])
        elif isinstance(x, tuple):
            _same(list(x), list(y))
        else:
            np.testing.assert_array_equal(x, y)


@pytest.mark.oracle
def test_from_list_at_and_structure_match_tf():
    ttf = pytest.importorskip("tensorflow")
    for elements in ([(1, "a"), (2, "b")], [{"a": [1.0, 2.0]}, {"a": [3.0]}], [[1, 2], [3, 4, 5]]):
        ours = tf.data.experimental.from_list(elements)
        theirs = ttf.data.experimental.from_list(elements)
        assert repr(ours.element_spec).replace("tapeflow", "tf") == repr(theirs.element_spec)
        assert repr(tf.data.experimental.get_structure(ours)) == repr(ours.element_spec)
        _same(list(ours.as_numpy_iterator()), list(theirs.as_numpy_iterator()))
        assert int(ours.cardinality()) == len(elements)
    assert int(tf.data.experimental.at(tf.data.Dataset.range(10), 3)) == 3
    with pytest.raises(OutOfRangeError):
        tf.data.experimental.at(tf.data.Dataset.range(3), 5)
    with pytest.raises(ValueError, match="should not be empty"):
        tf.data.experimental.from_list([])
    assert tf.data.experimental.SHARD_HINT == ttf.data.experimental.SHARD_HINT


@pytest.mark.oracle
def test_pad_to_cardinality_matches_tf():
    ttf = pytest.importorskip("tensorflow")
    data = {"a": [1, 2, 3], "b": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]}
    ours = tf.data.Dataset.from_tensor_slices(data).apply(tf.data.experimental.pad_to_cardinality(5))
    theirs = ttf.data.Dataset.from_tensor_slices(data).apply(ttf.data.experimental.pad_to_cardinality(5))
    _same(list(ours.as_numpy_iterator()), list(theirs.as_numpy_iterator()))
    with pytest.raises(ValueError, match="less than the target cardinality"):
        tf.data.Dataset.from_tensor_slices(data).apply(tf.data.experimental.pad_to_cardinality(2))
    with pytest.raises(ValueError, match="requires its input dataset to be a dictionary"):
        tf.data.Dataset.range(2).apply(tf.data.experimental.pad_to_cardinality(4))


@pytest.mark.oracle
def test_group_by_reducer_matches_tf():
    ttf = pytest.importorskip("tensorflow")

    def run(mod):
        reducer = mod.data.experimental.Reducer(lambda k: (mod.constant(0, mod.int64), k),
                                                lambda s, x: (s[0] + x, s[1]),
                                                lambda total, key: {"key": key, "sum": total})
        ds = mod.data.Dataset.range(10).apply(mod.data.experimental.group_by_reducer(lambda x: (x + 2) % 3, reducer))
        return list(ds.as_numpy_iterator())

    _same(run(tf), run(ttf))


@pytest.mark.oracle
def test_parse_example_dataset_matches_tf():
    ttf = pytest.importorskip("tensorflow")
    records = []
    for i in range(5):
        ex = ttf.train.Example(features=ttf.train.Features(feature={
            "x": ttf.train.Feature(float_list=ttf.train.FloatList(value=[i, i * 2.0])),
            "tag": ttf.train.Feature(int64_list=ttf.train.Int64List(value=list(range(i))))}))
        records.append(ex.SerializeToString())

    def run(mod):
        features = {"x": mod.io.FixedLenFeature([2], mod.float32), "tag": mod.io.VarLenFeature(mod.int64)}
        ds = mod.data.Dataset.from_tensor_slices(records).batch(2).apply(
            mod.data.experimental.parse_example_dataset(features))
        return [(e["x"].numpy(), e["tag"].values.numpy(), e["tag"].dense_shape.numpy()) for e in ds]

    _same(run(tf), run(ttf))

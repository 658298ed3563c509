"""Oracle: the same tf.data pipelines built with tapeflow and with TensorFlow give the same
element specs (as printed), cardinalities and elements."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow

pytestmark = pytest.mark.oracle

X = np.arange(40, dtype=np.float32).reshape(10, 4)
Y = np.arange(10)

# name -> pipeline(tf module); each is built with both modules
PIPELINES = {
    "slices": lambda m: m.data.Dataset.from_tensor_slices((X, Y)),
    "dict": lambda m: m.data.Dataset.from_tensor_slices({"b": X, "a": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}),
    "batch": lambda m: m.data.Dataset.from_tensor_slices((X, Y)).batch(3),
    "batch_drop": lambda m: m.data.Dataset.from_tensor_slices((X, Y)).batch(3, drop_remainder=True),
    "map_cast": lambda m: m.data.Dataset.from_tensor_slices(Y).map(lambda v: m.cast(v, m.float32) / 2.0),
    "map_fill": lambda m: m.data.Dataset.range(1, 4).map(lambda n: m.fill([n], n)),
    "padded": lambda m: m.data.Dataset.range(1, 5).map(lambda n: m.fill([n], n)).padded_batch(2),
    "filter": lambda m: m.data.Dataset.range(10).filter(lambda v: v % 3 == 0),
    "repeat_take": lambda m: m.data.Dataset.range(4).repeat(3).take(7),
    "repeat_inf": lambda m: m.data.Dataset.range(4).repeat(),
    "skip": lambda m: m.data.Dataset.range(4).skip(1),
    "shard": lambda m: m.data.Dataset.range(11).shard(3, 1),
    "zip": lambda m: m.data.Dataset.zip((m.data.Dataset.range(3), m.data.Dataset.range(5))),
    "concat": lambda m: m.data.Dataset.range(3).concatenate(m.data.Dataset.range(2)),
    "enumerate": lambda m: m.data.Dataset.from_tensor_slices(X[:3]).enumerate(),
    "window": lambda m: m.data.Dataset.range(7).window(3, 2),
    "window_drop": lambda m: m.data.Dataset.range(7).window(3, 2, drop_remainder=True),
    "unbatch": lambda m: m.data.Dataset.from_tensor_slices(X).batch(4).unbatch(),
    "from_tensors": lambda m: m.data.Dataset.from_tensors((X[0], 1.5)),
    "scan": lambda m: m.data.Dataset.range(5).scan(np.int64(0), lambda s, v: (s + v, s)),
    "prefetch": lambda m: m.data.Dataset.from_tensor_slices((X, Y)).batch(4).prefetch(m.data.AUTOTUNE),
    "cache": lambda m: m.data.Dataset.range(5).cache(),
    "take_while": lambda m: m.data.Dataset.range(5).take_while(lambda v: v < 3),
    "rebatch": lambda m: m.data.Dataset.range(10).batch(4).rebatch(3),
    "interleave": lambda m: m.data.Dataset.range(3).interleave(
        lambda v: m.data.Dataset.from_tensors(v).repeat(2), cycle_length=2),
    "flat_map": lambda m: m.data.Dataset.range(4).flat_map(lambda v: m.data.Dataset.range(v)),
    "padded_shapes": lambda m: m.data.Dataset.range(1, 4).map(lambda n: m.fill([n], n)).padded_batch(
        2, padded_shapes=[5]),
    "group": lambda m: m.data.Dataset.range(10).group_by_window(
        lambda v: v % 2, lambda k, w: w.batch(3), window_size=3),
    "bucket": lambda m: m.data.Dataset.range(1, 8).map(lambda n: m.fill([n], n)).bucket_by_sequence_length(
        lambda s: m.shape(s)[0], [4], [2, 2]),
    "unique": lambda m: m.data.Dataset.from_tensor_slices(np.array([1, 1, 2, 1, 3], np.int64)).unique(),
    "zip_inf": lambda m: m.data.Dataset.zip((m.data.Dataset.range(3).repeat(), m.data.Dataset.range(2))),
    "concat_inf": lambda m: m.data.Dataset.range(3).repeat().concatenate(m.data.Dataset.range(2)),
    "filter_repeat": lambda m: m.data.Dataset.range(3).filter(lambda v: v > 0).repeat(),
    "window_stride": lambda m: m.data.Dataset.range(10).window(4, 3, 2, drop_remainder=True),
    "map_dict_tuple": lambda m: m.data.Dataset.from_tensor_slices({"a": np.zeros(2)}).map(
        lambda d: (d["a"], {"b": d["a"] + 1})),
}


@pytest.fixture(scope="module")
def tf_ref():
    return pytest.importorskip("tensorflow")


def _elements(ds):
    out = []
    for element in ds.take(20).as_numpy_iterator() if int(ds.cardinality()) < 0 else ds.as_numpy_iterator():
        out.append(element)
    return out


def _same(a, b):
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            _same(u, v)
    else:
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_pipeline_matches_tensorflow(tf_ref, name):
    ours, theirs = PIPELINES[name](tapeflow), PIPELINES[name](tf_ref)
    assert repr(ours.element_spec) == repr(theirs.element_spec)
    assert int(ours.cardinality()) == int(theirs.cardinality())
    if name.startswith("window"):
        got = [list(w.as_numpy_iterator()) for w in ours]
        want = [list(w.as_numpy_iterator()) for w in theirs]
        assert [[int(v) for v in w] for w in got] == [[int(v) for v in w] for w in want]
        return
    got, want = _elements(ours), _elements(theirs)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        _same(a, b)


def test_dataset_repr_matches_tensorflow(tf_ref):
    for name in ("slices", "batch", "map_cast", "filter", "zip"):
        ours, theirs = PIPELINES[name](tapeflow), PIPELINES[name](tf_ref)
        assert repr(ours) == repr(theirs), name


def test_len_errors_match_tensorflow(tf_ref):
    for m in (tapeflow, tf_ref):
        with pytest.raises(TypeError, match="The dataset is infinite."):
            len(m.data.Dataset.range(2).repeat())
        with pytest.raises(TypeError, match="The dataset length is unknown."):
            len(m.data.Dataset.range(2).filter(lambda v: v > 0))

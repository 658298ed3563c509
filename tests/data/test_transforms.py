"""tf.data transformations: map/filter/..., order and count, batching, windows and groups."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf

D = tf.data.Dataset


def values(ds):
    return [v.tolist() if isinstance(v, np.ndarray) else v for v in ds.as_numpy_iterator()]


def test_map_unpacks_tuples_and_traces_specs():
    ds = D.from_tensor_slices((np.zeros((4, 3), np.float32), np.arange(4)))
    seen = []
    mapped = ds.map(lambda x, y: (seen.append((x.shape, y.shape)), (x + 1.0, tf.cast(y, tf.float32) * 2))[1])
    out = list(mapped.as_numpy_iterator())
    assert {(tuple(a), tuple(b)) for a, b in seen} == {((3,), ())}  # traced and eager calls alike
    assert out[3][1] == 6.0 and out[0][0].tolist() == [1.0, 1.0, 1.0]
    assert mapped.element_spec == (tf.TensorSpec((3,), tf.float32), tf.TensorSpec((), tf.float32))
    # A shape that depends on values is unknown in the spec, as TF's trace gives.
    assert D.range(4).map(lambda n: tf.fill([n], n)).element_spec == tf.TensorSpec((None,), tf.int64)
    # Lists returned by the function are tuples.
    assert isinstance(D.range(2).map(lambda x: [x, x]).element_spec, tuple)


def test_map_after_batch_runs_once_per_batch():
    calls = []

    def f(x):
        calls.append(1)
        return tf.reduce_sum(x, axis=-1)  # not elementwise: never vectorised by itself

    out = values(D.from_tensor_slices(np.ones((10, 3))).batch(4).map(f))
    assert out == [[3.0] * 4, [3.0] * 4, [3.0] * 2]
    assert len(calls) <= 3 + 2  # per batch (plus the one trace)


def test_elementwise_map_is_vectorised_and_exact():
    x = np.random.default_rng(0).integers(0, 255, (600, 4, 4)).astype(np.uint8)
    ds = D.from_tensor_slices(x).map(lambda im: tf.cast(im, tf.float32) / 255.0)
    assert ds._index_plan() is not None
    np.testing.assert_allclose(np.stack(list(ds.as_numpy_iterator())), x / np.float32(255.0), rtol=1e-6)
    batched = list(ds.batch(256).as_numpy_iterator())
    assert [b.shape[0] for b in batched] == [256, 256, 88]
    # A reduction inside the function keeps the per-element path (and per-element results).
    centred = D.from_tensor_slices(x.astype(np.float32)).map(lambda im: im - tf.reduce_mean(im))
    assert centred._index_plan() is None
    first = next(iter(centred)).numpy()
    np.testing.assert_allclose(first, x[0] - x[0].mean(), rtol=1e-5)


def test_map_bad_return_names_the_function():
    def returns_object(x):
        return object()  # (a string would be a tf.string tensor, as in TF)

    with pytest.raises(TypeError, match="function `returns_object` must return a tensor"):
        list(D.range(2).map(returns_object))
    with pytest.raises(TypeError, match="expected a callable"):
        D.range(2).map(3)


def test_filter_take_while_scan_reduce_unique():
    assert values(D.range(10).filter(lambda x: x % 3 == 0)) == [0, 3, 6, 9]
    with pytest.raises(ValueError, match="scalar boolean"):
        list(D.range(3).filter(lambda x: x))
    assert values(D.range(10).take_while(lambda x: x < 4)) == [0, 1, 2, 3]
    assert values(D.range(5).scan(np.int64(0), lambda s, x: (s + x, s * 10))) == [0, 0, 10, 30, 60]
    assert int(D.range(5).reduce(np.int64(0), lambda s, x: s + x)) == 10
    assert values(D.from_tensor_slices([1, 2, 1, 3, 2]).unique()) == [1, 2, 3]


def test_shuffle_seeds_and_reshuffle():
    ds = D.range(50).shuffle(10, seed=4)
    first, second = values(ds), values(ds)
    assert sorted(first) == list(range(50)) and first != list(range(50)) and first != second
    assert values(D.range(50).shuffle(10, seed=4)) == first  # reproducible with a seed
    fixed = D.range(20).shuffle(20, reshuffle_each_iteration=False)
    assert values(fixed) == values(fixed)
    # A buffer of 1 keeps the order; a buffer of k moves an element at most k-1 places earlier.
    assert values(D.range(10).shuffle(1)) == list(range(10))
    out = values(D.from_generator(lambda: iter(range(30)), output_signature=tf.TensorSpec((), tf.int64))
                 .shuffle(3))
    assert sorted(out) == list(range(30)) and all(v <= i + 2 for i, v in enumerate(out))


def test_repeat_take_skip_shard_cardinality():
    ds = D.range(5)
    assert values(ds.repeat(2)) == [0, 1, 2, 3, 4] * 2 and len(ds.repeat(2)) == 10
    assert values(ds.repeat().take(7)) == [0, 1, 2, 3, 4, 0, 1] and len(ds.repeat().take(7)) == 7
    assert values(ds.skip(3)) == [3, 4] and len(ds.skip(3)) == 2 and len(ds.skip(-1)) == 0
    assert values(ds.take(-1)) == values(ds)
    assert values(ds.shard(2, 1)) == [1, 3] and len(ds.shard(2, 0)) == 3
    with pytest.raises(ValueError, match="index"):
        ds.shard(2, 2)
    assert values(D.range(0).repeat()) == []


def test_batch_drop_remainder_specs_and_index_gather():
    x = np.arange(20).reshape(10, 2)
    ds = D.from_tensor_slices(x)
    assert ds.batch(4).element_spec == tf.TensorSpec((None, 2), tf.int64)
    assert ds.batch(4, drop_remainder=True).element_spec == tf.TensorSpec((4, 2), tf.int64)
    assert len(ds.batch(4)) == 3 and len(ds.batch(4, drop_remainder=True)) == 2
    batches = list(ds.repeat(2).batch(4).as_numpy_iterator())
    np.testing.assert_array_equal(batches[2], np.concatenate([x[8:], x[:2]]))  # across passes
    shuffled = np.concatenate(list(ds.shuffle(10).batch(3).as_numpy_iterator()))
    assert sorted(shuffled[:, 0].tolist()) == x[:, 0].tolist()
    assert list(ds.batch(4, num_parallel_calls=2).as_numpy_iterator())[0].tolist() == x[:4].tolist()


def test_batch_shape_mismatch_points_at_padded_batch():
    ds = D.range(1, 4).map(lambda n: tf.fill([n], n))
    with pytest.raises(ValueError, match=r"shape \(1,\) and element 1 had shape \(2,\).*padded_batch"):
        list(ds.batch(3))


def test_padded_batch_unbatch_rebatch():
    ds = D.range(1, 4).map(lambda n: tf.fill([n], n))
    assert values(ds.padded_batch(2)) == [[[1, 0], [2, 2]], [[3, 3, 3]]]
    assert values(ds.padded_batch(2, padded_shapes=[4], padding_values=np.int64(-1)))[0] == [
        [1, -1, -1, -1], [2, 2, -1, -1]]
    assert ds.padded_batch(2).element_spec == tf.TensorSpec((None, None), tf.int64)
    with pytest.raises(ValueError, match="larger than the padded shape"):
        list(ds.padded_batch(3, padded_shapes=[2]))
    flat = D.from_tensor_slices(np.arange(10)).batch(4)
    assert values(flat.unbatch()) == list(range(10))
    assert flat.unbatch().element_spec == tf.TensorSpec((), tf.int64)
    assert values(flat.rebatch(3)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_window_interleave_flat_map():
    windows = D.range(7).window(3, shift=2)
    assert repr(windows.element_spec) == (
        "DatasetSpec(TensorSpec(shape=(), dtype=tf.int64, name=None), TensorShape([]))")
    assert [values(w) for w in windows] == [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6]]
    assert len(windows) == 4 and len(D.range(7).window(3, 2, drop_remainder=True)) == 3
    assert [values(w) for w in D.range(7).window(2, 3, stride=2, drop_remainder=True)] == [[0, 2], [3, 5]]
    flat = D.range(7).window(3, 2, drop_remainder=True).flat_map(lambda w: w.batch(3))
    assert values(flat) == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    inter = D.range(1, 4).interleave(lambda x: D.from_tensors(x).repeat(4), cycle_length=2, block_length=2)
    assert values(inter) == [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 3, 3]
    par = D.range(1, 4).interleave(lambda x: D.from_tensors(x).repeat(4), cycle_length=2, block_length=2,
                                   num_parallel_calls=2)
    assert values(par) == values(inter)


def test_group_by_window_and_bucket_by_sequence_length():
    grouped = D.range(10).group_by_window(key_func=lambda x: x % 2, reduce_func=lambda k, w: w.batch(5),
                                          window_size=5)
    assert sorted(values(grouped)) == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]
    seqs = D.from_generator(lambda: (np.ones(n, np.int32) for n in [1, 5, 2, 6, 3, 7]),
                            output_signature=tf.TensorSpec((None,), tf.int32))
    buckets = seqs.bucket_by_sequence_length(lambda s: tf.shape(s)[0], bucket_boundaries=[4],
                                             bucket_batch_sizes=[3, 3])
    shapes = sorted(b.shape for b in buckets.as_numpy_iterator())
    assert shapes == [(3, 3), (3, 7)]
    with pytest.raises(ValueError, match="len\\(bucket_boundaries\\) \\+ 1"):
        seqs.bucket_by_sequence_length(lambda s: tf.shape(s)[0], [4], [3])


def test_ignore_errors_drops_failing_elements():
    def check(x):
        if int(x) == 2:
            raise ValueError("bad element")
        return x

    assert values(D.range(5).map(check).ignore_errors()) == [0, 1, 3, 4]
    with pytest.raises(ValueError, match="bad element"):
        list(D.range(5).map(check))


def test_iterating_inside_tf_function_gives_values():
    @tf.function
    def total(ds):
        s = tf.constant(0, tf.int64)
        for v in ds:
            s += v
        return s

    assert int(total(D.range(4).map(lambda v: v * 10))) == 60

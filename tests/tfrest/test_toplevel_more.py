"""More top-level tf.* against TF: tf.sets, edit_distance, tf.audio, tf.lookup, tf.conv and the v2
conv2d backprops, extract_volume_patches, make_tensor_proto; tf.queue, tf.test, CriticalSection,
TensorArraySpec behaviour; float64 gradients of the convolution entry points."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)


def _sp_equal(ours, theirs):
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.dense_shape.numpy(), theirs.dense_shape.numpy())
    assert ours.values.dtype.name == theirs.values.dtype.name


@pytest.mark.oracle
def test_sets_and_edit_distance_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    a, b = np.array([[1, 2, 2], [3, 3, 0]]), np.array([[2, 5, 5], [0, 0, 0]])
    sa = ([[0, 0], [0, 1], [1, 1]], np.array([4, 1, 2]), [2, 2])
    for name in ("union", "intersection", "difference"):
        _sp_equal(getattr(tf.sets, name)(a, b), getattr(ttf.sets, name)(a, b))
        _sp_equal(getattr(tf.sets, name)(a, tf.SparseTensor(*sa)), getattr(ttf.sets, name)(a, ttf.SparseTensor(*sa)))
    _sp_equal(tf.sets.difference(a, b, aminusb=False), ttf.sets.difference(a, b, aminusb=False))
    words = np.array([[b"a", b"b"], [b"c", b"a"]], object)
    _sp_equal(tf.sets.union(words, words[::-1].copy()), ttf.sets.union(words, words[::-1].copy()))
    np.testing.assert_array_equal(tf.sets.size(tf.SparseTensor(*sa)).numpy(), ttf.sets.size(ttf.SparseTensor(*sa)))
    with pytest.raises(TypeError, match="SparseTensor"):
        tf.sets.size(a)
    _sp_equal(tf.sets.difference(tf.SparseTensor(*sa), a), ttf.sets.difference(ttf.SparseTensor(*sa), a))
    h = ([[0, 0], [0, 1], [1, 0]], np.array([b"a", b"b", b"c"], object), [2, 2])
    t = ([[0, 0], [1, 0], [1, 1]], np.array([b"a", b"c", b"d"], object), [3, 2])
    for normalize in (True, False):
        ours = tf.edit_distance(tf.SparseTensor(*h), tf.SparseTensor(*t), normalize=normalize)
        theirs = ttf.edit_distance(ttf.SparseTensor(*h), ttf.SparseTensor(*t), normalize=normalize)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    empty = ([[0, 0]], np.array([b"x"], object), [2, 2])
    np.testing.assert_array_equal(tf.edit_distance(tf.SparseTensor(*h), tf.SparseTensor(*empty)).numpy(),
                                  ttf.edit_distance(ttf.SparseTensor(*h), ttf.SparseTensor(*empty)).numpy())


@pytest.mark.oracle
def test_audio_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    audio = np.array([[0.5, 0.25], [-1, 1], [0.3, -0.7], [1.5, -2]], np.float32)
    ours = tf.audio.encode_wav(audio, 16000)
    theirs = ttf.audio.encode_wav(audio, 16000)
    assert ours.numpy() == theirs.numpy()
    for kw in ({}, {"desired_channels": 1, "desired_samples": 6}, {"desired_channels": 3, "desired_samples": 2}):
        a, r = tf.audio.decode_wav(theirs.numpy(), **kw)
        ta, tr = ttf.audio.decode_wav(theirs, **kw)
        np.testing.assert_array_equal(a.numpy(), ta.numpy())
        assert int(r) == int(tr) and r.dtype == tf.int32
    mono = ttf.audio.encode_wav(audio[:, :1], 8000)
    np.testing.assert_array_equal(tf.audio.decode_wav(mono.numpy(), desired_channels=2).audio.numpy(),
                                  ttf.audio.decode_wav(mono, desired_channels=2).audio.numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match="too short"):
        tf.audio.decode_wav(b"abc")


@pytest.mark.oracle
def test_lookup_against_tensorflow(tmp_path):
    ttf = pytest.importorskip("tensorflow")
    keys, vals = np.array([b"emerson", b"lake", b"palmer"], object), np.array([0, 1, 2], np.int64)
    query = np.array([[b"emerson", b"lake"], [b"tarkus", b"palmer"]], object)
    tkeys = ttf.constant(keys)
    ours = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, vals), -1)
    theirs = ttf.lookup.StaticHashTable(ttf.lookup.KeyValueTensorInitializer(tkeys, vals), -1)
    np.testing.assert_array_equal(ours.lookup(query).numpy(), theirs.lookup(ttf.constant(query)).numpy())
    assert int(ours.size()) == int(theirs.size())
    for buckets in (1, 5):
        ours = tf.lookup.StaticVocabularyTable(tf.lookup.KeyValueTensorInitializer(keys, vals), buckets)
        theirs = ttf.lookup.StaticVocabularyTable(ttf.lookup.KeyValueTensorInitializer(tkeys, vals), buckets)
        q = np.array([b"emerson", b"tarkus", b"karn evil", b"palmer", b""], object)
        np.testing.assert_array_equal(ours.lookup(q).numpy(), theirs.lookup(ttf.constant(q)).numpy())
        assert int(ours.size()) == int(theirs.size())
    ints = tf.lookup.StaticVocabularyTable(tf.lookup.KeyValueTensorInitializer(np.array([10, 20], np.int64),
                                                                               np.array([0, 1], np.int64)), 4)
    tints = ttf.lookup.StaticVocabularyTable(ttf.lookup.KeyValueTensorInitializer(np.array([10, 20], np.int64),
                                                                                  np.array([0, 1], np.int64)), 4)
    q = np.array([10, 7, 20, 12345], np.int64)
    np.testing.assert_array_equal(ints.lookup(q).numpy(), tints.lookup(ttf.constant(q)).numpy())
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"apple\t7\nbanana\t8\ncherry\t9\n")
    for args in ((tf.string, -2, tf.int64, -1), (tf.string, 0, tf.int64, 1)):
        targs = tuple(getattr(ttf, a.name) if isinstance(a, tf.DType) else a for a in args)
        ours = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(str(path), *args, delimiter="\t"), -5)
        theirs = ttf.lookup.StaticHashTable(ttf.lookup.TextFileInitializer(str(path), *targs, delimiter="\t"), -5)
        q = np.array([b"banana", b"apple\t7", b"cherry", b"kiwi"], object)
        np.testing.assert_array_equal(ours.lookup(q).numpy(), theirs.lookup(ttf.constant(q)).numpy())
    rt = tf.ragged.constant([[b"lake"], [b"x", b"palmer"]])
    table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, vals), -1)
    assert table.lookup(rt).to_list() == [[1], [-1, 2]]
    m = tf.lookup.experimental.MutableHashTable(tf.string, tf.int64, -1)
    m.insert(keys, vals)
    m.remove(np.array([b"lake"], object))
    np.testing.assert_array_equal(m.lookup(query).numpy(), [[0, -1], [-1, 2]])
    d = tf.lookup.experimental.DenseHashTable(tf.int64, tf.float32, 0.0, empty_key=-1, deleted_key=-2)
    d.insert(np.array([3, 4], np.int64), np.array([0.5, 1.5], np.float32))
    np.testing.assert_array_equal(d.lookup(np.array([4, 5], np.int64)).numpy(), [1.5, 0.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="empty_key"):
        d.insert(np.array([-1], np.int64), np.array([1.0], np.float32))
    with pytest.raises(TypeError, match="keys must be string"):
        table.lookup(np.array([1, 2]))


@pytest.mark.oracle
def test_conv_entry_points_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    x = RNG.normal(size=(2, 7, 6, 3)).astype(np.float32)
    w = RNG.normal(size=(3, 2, 3, 4)).astype(np.float32)
    for pad, explicit in (("SAME", []), ("VALID", []), ("EXPLICIT", [0, 0, 1, 2, 0, 1, 0, 0])):
        kw = {"explicit_paddings": explicit, "dilations": [1, 2, 1, 1]}
        np.testing.assert_allclose(tf.conv(x, w, [1, 1, 2, 1], pad, **kw).numpy(),
                                   ttf.conv(x, w, [1, 1, 2, 1], pad, **kw).numpy(), rtol=1e-4, atol=1e-4)
        y = ttf.nn.conv2d(np.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]]) if pad == "EXPLICIT" else x, w, 1,
                          "VALID" if pad == "EXPLICIT" else pad)
        dy = RNG.normal(size=y.shape).astype(np.float32)
        kw = {"explicit_paddings": explicit}
        # TF registers no CPU kernels for the V2 ops: compare with the V1 ops (sizes instead of tensors)
        raw = ttf.raw_ops
        np.testing.assert_allclose(tf.conv2d_backprop_filter_v2(x, w, dy, [1, 1, 1, 1], pad, **kw).numpy(),
                                   raw.Conv2DBackpropFilter(input=x, filter_sizes=w.shape, out_backprop=dy,
                                                            strides=[1, 1, 1, 1], padding=pad, **kw).numpy(),
                                   rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(tf.conv2d_backprop_input_v2(x, w, dy, [1, 1, 1, 1], pad, **kw).numpy(),
                                   raw.Conv2DBackpropInput(input_sizes=x.shape, filter=w, out_backprop=dy,
                                                           strides=[1, 1, 1, 1], padding=pad, **kw).numpy(),
                                   rtol=1e-4, atol=1e-4)
    v = RNG.normal(size=(2, 5, 4, 6, 2)).astype(np.float32)
    for pad in ("SAME", "VALID"):
        for k, s in (([1, 2, 2, 3, 1], [1, 1, 2, 2, 1]), ([1, 3, 1, 2, 1], [1, 2, 1, 3, 1])):
            np.testing.assert_array_equal(tf.extract_volume_patches(v, k, s, pad).numpy(),
                                          ttf.extract_volume_patches(v, k, s, pad).numpy())
    proto = tf.make_tensor_proto([[1.5, 2.0], [3.0, 4.0]], tf.float32)
    assert proto.SerializeToString() == ttf.make_tensor_proto(np.array([[1.5, 2.0], [3.0, 4.0]], np.float32),
                                                              ttf.float32).SerializeToString()
    np.testing.assert_array_equal(tf.make_ndarray(proto), [[1.5, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(tf.make_ndarray(tf.make_tensor_proto(7, tf.int32, shape=[2, 2])), np.full((2, 2), 7))
    assert tf.as_string(3.5).numpy() == ttf.as_string(3.5).numpy()


def test_conv_entry_point_gradients():
    x, w = RNG.normal(size=(1, 4, 4, 2)), RNG.normal(size=(2, 2, 2, 3))
    check_gradients(lambda a, b: tf.conv(a, b, [1, 1, 1, 1], "EXPLICIT", explicit_paddings=[0, 0, 1, 0, 0, 1, 0, 0]),
                    [x, w])
    dy = RNG.normal(size=(1, 3, 3, 3))
    check_gradients(lambda a, g: tf.conv2d_backprop_filter_v2(a, w, g, [1, 1, 1, 1], "VALID"), [x, dy])
    check_gradients(lambda b, g: tf.conv2d_backprop_input_v2(x, b, g, [1, 1, 1, 1], "VALID"), [w, dy])
    check_gradients(lambda a: tf.extract_volume_patches(a, [1, 2, 2, 1, 1], [1, 1, 2, 1, 1], "SAME"),
                    [RNG.normal(size=(1, 3, 3, 2, 2))])
    with pytest.raises(ValueError, match="batch_dims"):
        tf.conv(x, w, [1, 1, 1, 1], "VALID", batch_dims=2)


def test_queues():
    q = tf.queue.FIFOQueue(3, [tf.int32, tf.string], shapes=[[], []])
    q.enqueue_many([np.array([1, 2], np.int32), np.array([b"a", b"b"], object)])
    q.enqueue((np.int32(3), b"c"))
    assert int(q.size()) == 3
    first = q.dequeue()
    assert int(first[0]) == 1 and first[1].numpy() == b"a"
    many = q.dequeue_many(2)
    np.testing.assert_array_equal(many[0].numpy(), [2, 3])
    q.close()
    with pytest.raises(tf.errors.OutOfRangeError):
        q.dequeue()
    with pytest.raises(tf.errors.CancelledError):
        q.enqueue((np.int32(4), b"d"))
    padded = tf.queue.PaddingFIFOQueue(5, [tf.float32], shapes=[[None]])
    padded.enqueue([np.ones(2, np.float32)])
    padded.enqueue([np.ones(3, np.float32)])
    np.testing.assert_array_equal(padded.dequeue_many(2).numpy(), [[1, 1, 0], [1, 1, 1]])
    prio = tf.queue.PriorityQueue(5, [tf.string], shapes=[[]])
    for p, v in ((5, b"low"), (1, b"high"), (3, b"mid")):
        prio.enqueue((np.int64(p), v))
    assert [prio.dequeue()[1].numpy() for _ in range(3)] == [b"high", b"mid", b"low"]
    shuffle = tf.queue.RandomShuffleQueue(10, 2, [tf.int32], seed=3)
    shuffle.enqueue_many([np.arange(6, dtype=np.int32)])
    shuffle.close()
    got = sorted(int(shuffle.dequeue()) for _ in range(6))
    assert got == list(range(6))
    waiting = tf.queue.FIFOQueue(1, [tf.int32])
    out = []
    consumer = threading.Thread(target=lambda: out.append(int(waiting.dequeue())))
    consumer.start()
    waiting.enqueue(np.int32(9))
    consumer.join(5)
    assert out == [9]


def test_tf_test_module_and_helpers():
    class Case(tf.test.TestCase):
        def runTest(self):  # noqa: N802
            self.assertAllClose(tf.constant([1.0, 2.0]), [1.0, 2.0 + 1e-7])
            self.assertAllEqual(tf.constant([[1, 2]]), np.array([[1, 2]]))
            self.assertNotAllClose([1.0], [2.0])
            self.assertAllInRange(tf.constant([0.5, 1.0]), 0, 1)
            self.assertAllInSet([1, 2], {1, 2, 3})
            self.assertEqual(self.evaluate({"a": tf.constant(3)}), {"a": 3})
            with self.assertRaises(AssertionError):
                self.assertAllEqual([1, 2], [1, 3])

    result = Case().run()
    assert result.wasSuccessful(), result.errors + result.failures
    theoretical, numerical = tf.test.compute_gradient(lambda v: v * v, [np.array([1.0, 2.0])])
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-6)
    np.testing.assert_allclose(theoretical[0], np.diag([2.0, 4.0]))
    assert tf.test.gpu_device_name() in ("", "/device:GPU:0") and tf.test.is_built_with_rocm() is False
    section = tf.CriticalSection()
    counter = tf.Variable(0)
    threads = [threading.Thread(target=lambda: section.execute(lambda: counter.assign_add(1))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert int(counter.numpy()) == 8
    spec = tf.TensorArraySpec([2], tf.int32)
    assert spec == tf.TensorArraySpec([2], tf.int32) and spec.dtype == tf.int32
    assert spec.value_type is tf.TensorArray


@pytest.mark.oracle
def test_ragged_fill_empty_rows_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    args = {"value_rowids": np.array([1, 1, 3], np.int64), "values": np.array([10.0, 20.0, 30.0], np.float32),
            "nrows": np.int64(5), "default_value": np.float32(-1.0)}
    ours, theirs = tf.ragged_fill_empty_rows(**args), ttf.ragged_fill_empty_rows(**args)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert a.dtype.name == b.dtype.name
    grads = np.arange(6.0, dtype=np.float32)
    for a, b in zip(tf.ragged_fill_empty_rows_grad(ours[3], grads), ttf.ragged_fill_empty_rows_grad(theirs[3], grads),
                    strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match="vector"):
        tf.ragged_fill_empty_rows([0], [[1.0]], 2, 0.0)
    check_gradients(lambda v, d: tf.ragged_fill_empty_rows([0, 2], v, 4, d).output_values,
                    [np.array([1.0, 2.0]), np.array(0.5)])


def test_tensor_conversion_functions_and_operation():
    class Meters:
        def __init__(self, value):
            self.value = value

    tf.register_tensor_conversion_function(
        Meters, lambda v, dtype=None, name=None, as_ref=False: tf.constant(v.value, dtype=dtype))
    assert tf.add(Meters([1.0, 2.0]), 1.0).numpy().tolist() == [2.0, 3.0]
    assert tf.convert_to_tensor(Meters([1, 2]), dtype=tf.int64).dtype == tf.int64
    with pytest.raises(TypeError, match="numeric"):
        tf.register_tensor_conversion_function(int, lambda v, dtype=None, name=None, as_ref=False: v)
    with pytest.raises(TypeError, match="Cannot convert"):
        tf.convert_to_tensor(object())
    assert tf.Operation is tf.compat.v1.Operation or tf.Operation.__name__ == "Operation"


def test_optional_spec():
    spec = tf.OptionalSpec(tf.TensorSpec([2], tf.float32))
    assert spec == tf.OptionalSpec(tf.TensorSpec([2], tf.float32)) and spec.value_type is tf.experimental.Optional
    got = tf.OptionalSpec.from_value(tf.experimental.Optional.from_value(tf.constant([1.0, 2.0])))
    assert got.is_compatible_with(spec) and not got.is_compatible_with(tf.OptionalSpec(tf.TensorSpec([3], tf.int32)))
    assert repr(spec).startswith("OptionalSpec(TensorSpec(")

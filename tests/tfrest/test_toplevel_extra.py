"""The rest of the top-level tf.* names: scatters, meshgrid, searchsorted, unique, bitcast, roll,
masks, partitions, histograms, space/batch reshuffles, map_fn/scan/folds, framework helpers."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 3)).astype(np.float32)


def _same(ours, theirs):
    if isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _same(a, b)
        return
    a, b = np.asarray(ours), theirs.numpy()
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.oracle
def test_array_ops_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    idx = np.array([[1], [3], [1]])
    upd = RNG.normal(size=(3, 3)).astype(np.float32)
    cases = [
        ("scatter_nd", (idx, upd, [5, 3])),
        ("tensor_scatter_nd_update", (X, np.array([[0, 1], [2, 2]]), np.array([9.0, 8.0], np.float32))),
        ("tensor_scatter_nd_add", (X, idx, upd)),
        ("tensor_scatter_nd_sub", (X, idx, upd)),
        ("tensor_scatter_nd_max", (X, idx, upd)),
        ("tensor_scatter_nd_min", (X, idx, upd)),
        ("searchsorted", (np.sort(X, 1), X[:, :2])),
        ("bitcast", (X, "int32")),
        ("bitcast", (X, "uint8")),
        ("roll", (X, [1, -1], [0, 1])),
        ("sequence_mask", ([1, 3, 2],)),
        ("reverse_sequence", (X, [1, 3, 2, 0], 1, 0)),
        ("unravel_index", ([3, 7], [2, 4])),
        ("histogram_fixed_width", (X, [-1.0, 1.0], 5)),
        ("histogram_fixed_width_bins", (X, [-1.0, 1.0], 5)),
        ("broadcast_dynamic_shape", ([2, 1], [1, 3])),
        ("truncatediv", (np.array([-7, 7]), np.array([2, -2]))),
        ("truncatemod", (np.array([-7.0, 7.0]), np.array([2.0, -2.0]))),
        ("matrix_square_root", (X.T @ X + np.eye(3, dtype=np.float32),)),
    ]
    for name, args in cases:
        ours, theirs = getattr(tf, name)(*args), getattr(ttf, name)(*args)
        _same(ours, theirs)
    _same(tf.meshgrid([1, 2, 3], [4, 5]), ttf.meshgrid([1, 2, 3], [4, 5]))
    _same(tf.meshgrid([1, 2, 3], [4, 5], [6], indexing="ij"), ttf.meshgrid([1, 2, 3], [4, 5], [6], indexing="ij"))
    _same(tf.unique([4, 1, 4, 2, 1]), ttf.unique([4, 1, 4, 2, 1]))
    _same(tf.unique_with_counts([4, 1, 4, 2, 1]), ttf.unique_with_counts([4, 1, 4, 2, 1]))
    _same(tf.dynamic_partition(X, [0, 2, 0, 1], 3), ttf.dynamic_partition(X, [0, 2, 0, 1], 3))
    _same(tf.dynamic_stitch([[0, 2], [1, 3]], [X[:2], X[2:]]), ttf.dynamic_stitch([[0, 2], [1, 3]], [X[:2], X[2:]]))
    img = RNG.normal(size=(2, 4, 6, 3)).astype(np.float32)
    s2b = ttf.space_to_batch_nd(img, [2, 3], [[0, 0], [0, 0]])
    _same(tf.space_to_batch_nd(img, [2, 3], [[0, 0], [0, 0]]), s2b)
    _same(tf.space_to_batch(img, [2, 2], [[1, 1], [0, 2]]), ttf.space_to_batch(img, [2, 2], [[1, 1], [0, 2]]))
    _same(tf.batch_to_space(s2b.numpy(), [2, 3], [[0, 1], [1, 0]]), ttf.batch_to_space(s2b, [2, 3], [[0, 1], [1, 0]]))
    _same(tf.required_space_to_batch_paddings([5, 7], [2, 3]), ttf.required_space_to_batch_paddings([5, 7], [2, 3]))
    assert tf.broadcast_static_shape(tf.TensorShape([2, 1]), tf.TensorShape([3])) == (2, 3)


def test_errors_are_tf_errors():
    with pytest.raises(tf.errors.InvalidArgumentError, match="do not index"):
        tf.scatter_nd([[5]], [1.0], [3])
    with pytest.raises(tf.errors.InvalidArgumentError, match="not compatible"):
        tf.ensure_shape(tf.ones([2, 3]), [2, 4])
    assert tf.ensure_shape(tf.ones([2, 3]), [None, 3]).shape == (2, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
        tf.truncatediv(tf.constant([1]), tf.constant([0]))


@pytest.mark.oracle
def test_map_fn_scan_folds_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    elems = np.arange(1, 5, dtype=np.float32)
    _same(tf.map_fn(lambda x: x * x, elems), ttf.map_fn(lambda x: x * x, elems))
    _same(tf.map_fn(lambda p: (p[0] + p[1], p[0] * p[1]), (elems, elems)),
          ttf.map_fn(lambda p: (p[0] + p[1], p[0] * p[1]), (elems, elems)))
    _same(tf.map_fn(lambda x: tf.cast(x, tf.int32), elems, fn_output_signature=tf.int32),
          ttf.map_fn(lambda x: ttf.cast(x, ttf.int32), elems, fn_output_signature=ttf.int32))
    _same(tf.vectorized_map(lambda x: x + 1.0, X), ttf.vectorized_map(lambda x: x + 1.0, X))
    _same(tf.scan(lambda a, x: a + x, elems), ttf.scan(lambda a, x: a + x, elems))
    _same(tf.scan(lambda a, x: a * x, elems, initializer=2.0, reverse=True),
          ttf.scan(lambda a, x: a * x, elems, initializer=2.0, reverse=True))
    _same(tf.foldl(lambda a, x: a - x, elems, 10.0), ttf.foldl(lambda a, x: a - x, elems, 10.0))
    _same(tf.foldr(lambda a, x: a - x, elems), ttf.foldr(lambda a, x: a - x, elems))


def test_framework_helpers():
    assert tf.get_static_value(tf.constant(3)) == 3
    with tf.control_dependencies([tf.constant(1)]):
        y = tf.constant(2) + 1
    assert int(y) == 3 and tf.no_op() is None and tf.group(y) is None
    assert [int(t) for t in tf.tuple([tf.constant(1)])] == [1]
    assert tf.DeviceSpec.from_string("/job:localhost/device:GPU:0").to_string() == "/job:localhost/device:GPU:0"
    assert isinstance(tf.TensorSpec([2]), tf.TypeSpec)
    assert tf.type_spec_from_value(tf.constant([1.0, 2.0])) == tf.TensorSpec([2], tf.float32)
    assert tf.timestamp().dtype == tf.float64 and not tf.inside_function()
    assert [v.name for v in tf.VariableAggregation] == ["NONE", "SUM", "MEAN", "ONLY_FIRST_REPLICA"]
    s = tf.IndexedSlices(tf.constant([[1.0, 2.0]]), tf.constant([1]), tf.constant([3, 2]))
    np.testing.assert_array_equal(s.to_dense().numpy(), [[0, 0], [1, 2], [0, 0]])
    init = tf.constant_initializer(2.0)
    np.testing.assert_array_equal(init([2], tf.float32).numpy(), [2.0, 2.0])

    @tf.function
    def inside():
        return tf.constant(tf.inside_function())

    assert bool(inside())


def test_gradients_float64():
    x = RNG.normal(size=(4, 3))
    idx = np.array([[1], [3], [1]])
    check_gradients(lambda u: tf.scatter_nd(idx, u, [5, 3]), [RNG.normal(size=(3, 3))])
    check_gradients(lambda t, u: tf.tensor_scatter_nd_update(t, [[0], [2]], u), [x, RNG.normal(size=(2, 3))])
    check_gradients(lambda t, u: tf.tensor_scatter_nd_add(t, idx, u), [x, RNG.normal(size=(3, 3))])
    check_gradients(lambda t, u: tf.tensor_scatter_nd_max(t, idx, u), [x, RNG.normal(size=(3, 3))])
    check_gradients(lambda t: tf.roll(t, 1, 0), [x])
    check_gradients(lambda t: tf.reverse_sequence(t, [1, 3, 2, 0], 1, 0), [x])
    check_gradients(lambda t: tf.map_fn(lambda r: r * r, t), [x])
    check_gradients(lambda t: tf.scan(lambda a, r: a * r, t), [x])
    check_gradients(lambda t: tf.batch_to_space(tf.space_to_batch(t[None, :, :, None], [2, 1], [[0, 0], [0, 0]]),
                                                [2, 1], [[0, 0], [0, 0]]), [x])
    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.grad_pass_through(tf.round)(v) * 2.0)
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), np.full((4, 3), 2.0))  # straight-through
    check_gradients(tf.recompute_grad(lambda t: tf.sin(t) * t), [x])

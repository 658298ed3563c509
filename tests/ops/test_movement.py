"""Shape and data movement ops: values against NumPy, gradients (first and second order)."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import OpCase, available_devices, run_case

IDX = np.array([2, 0, 2, 1])  # repeated index: the backward must scatter-add


def _getitem(key):
    return lambda x: x[key]


CASES = [
    OpCase("reshape", lambda x: tf.reshape(x, (4, -1)), [(2, 3, 2)]),
    OpCase("reshape/tensor_method_chain", lambda x: tf.reshape(x * x, [6]), [(2, 3)]),
    OpCase("transpose/default", tf.transpose, [(2, 3, 4)]),
    OpCase("transpose/perm", lambda x: tf.transpose(x, perm=[1, 2, 0]), [(2, 3, 4)]),
    OpCase("expand_dims", lambda x: tf.expand_dims(x, -1) * tf.expand_dims(x, 1), [(2, 3)]),
    OpCase("squeeze/all", tf.squeeze, [(1, 3, 1)]),
    OpCase("squeeze/axis", lambda x: tf.squeeze(x, axis=[2]), [(1, 3, 1)]),
    OpCase("broadcast_to", lambda x: tf.broadcast_to(x, (2, 3, 4)), [(3, 1)]),
    OpCase("getitem/int", _getitem(1), [(3, 4)]),
    OpCase("getitem/negative_int", _getitem(-1), [(3, 4)]),
    OpCase("getitem/slice", _getitem(slice(1, 3)), [(4, 3)]),
    OpCase("getitem/step", _getitem((slice(None), slice(0, None, 2))), [(3, 5)]),
    OpCase("getitem/negative_step", _getitem(slice(None, None, -1)), [(4, 3)]),
    OpCase("getitem/negative_step_range", _getitem((slice(None), slice(3, 0, -2))), [(2, 5)]),
    OpCase("getitem/ellipsis", _getitem((Ellipsis, 1)), [(2, 3, 4)]),
    OpCase("getitem/newaxis", _getitem((None, slice(None), tf.newaxis, 0)), [(3, 4)]),
    OpCase("getitem/int_array_gather", _getitem(IDX), [(3, 4)]),
    OpCase("getitem/int_tensor_gather", _getitem(tf.constant(IDX)), [(3, 4)]),
    OpCase("getitem/int_array_axis1", _getitem((slice(None), IDX)), [(2, 3)]),
    OpCase("getitem/bool_mask", _getitem(np.array([True, False, True])), [(3, 4)]),
    OpCase("getitem/mixed", _getitem((slice(None, None, -1), Ellipsis, None, 2)), [(2, 3, 4)]),
    OpCase("slice", lambda x: tf.slice(x, [1, 0], [2, -1]), [(4, 3)]),
    OpCase("strided_slice", lambda x: tf.strided_slice(x, [0, 3], [3, 0], [2, -1]), [(4, 4)]),
    OpCase("reverse", lambda x: tf.reverse(x, [0, -1]), [(3, 4)]),
    OpCase("gather/axis0", lambda p: tf.gather(p, IDX), [(3, 4)]),
    OpCase("gather/axis1", lambda p: tf.gather(p, IDX, axis=1), [(2, 3, 2)]),
    OpCase("gather/2d_indices", lambda p: tf.gather(p, np.array([[0, 1], [2, 2]]), axis=-1), [(2, 3)]),
    OpCase("gather/batch_dims1",
           lambda p: tf.gather(p, np.array([[0, 2, 2], [1, 0, 1]]), axis=1, batch_dims=1), [(2, 3, 4)]),
    OpCase("gather/batch_dims1_axis2",
           lambda p: tf.gather(p, np.array([[0, 3], [1, 1]]), axis=2, batch_dims=1), [(2, 3, 4)]),
    OpCase("gather_nd/elements", lambda p: tf.gather_nd(p, np.array([[0, 1], [2, 3], [0, 1]])), [(3, 4)]),
    OpCase("gather_nd/rows", lambda p: tf.gather_nd(p, np.array([[1], [0], [1]])), [(2, 3, 2)]),
    OpCase("boolean_mask", lambda x: tf.boolean_mask(x, np.array([True, False, True])), [(3, 4)]),
    OpCase("boolean_mask/2d", lambda x: tf.boolean_mask(x, np.array([[True, False], [False, True]])),
           [(2, 2, 3)]),
    OpCase("boolean_mask/axis1", lambda x: tf.boolean_mask(x, np.array([False, True, True]), axis=1),
           [(2, 3)]),
    OpCase("pad/constant", lambda x: tf.pad(x, [[1, 2], [0, 1]]), [(2, 3)]),
    OpCase("pad/constant_value", lambda x: tf.pad(x, [[1, 0], [2, 2]], constant_values=3.0) * x[0, 0],
           [(2, 3)]),
    OpCase("pad/reflect", lambda x: tf.pad(x, [[1, 2], [2, 1]], mode="REFLECT"), [(3, 4)]),
    OpCase("pad/symmetric", lambda x: tf.pad(x, [[2, 1], [0, 3]], mode="SYMMETRIC"), [(3, 4)]),
    OpCase("tile", lambda x: tf.tile(x, [2, 3]), [(2, 3)]),
    OpCase("tile/rank3", lambda x: tf.tile(x, [1, 2, 2]), [(2, 1, 3)]),
    OpCase("concat/axis0", lambda a, b: tf.concat([a, b, a], axis=0), [(2, 3), (1, 3)]),
    OpCase("concat/axis-1", lambda a, b: tf.concat([a, b], axis=-1), [(2, 3), (2, 2)]),
    OpCase("stack", lambda a, b: tf.stack([a, b, a]), [(2, 3), (2, 3)]),
    OpCase("stack/axis1", lambda a, b: tf.stack([a, b], axis=1), [(2, 3), (2, 3)]),
    OpCase("unstack", lambda x: [u * (i + 1.0) for i, u in enumerate(tf.unstack(x, axis=1))], [(2, 3)]),
    OpCase("split/num", lambda x: tf.split(x, 2, axis=1), [(2, 4)]),
    OpCase("split/sizes", lambda x: tf.split(x, [1, -1, 2], axis=0), [(5, 2)]),
    OpCase("split/partial_use", lambda x: tf.split(x, 3)[1], [(6, 2)]),
    OpCase("sort/ascending", lambda x: tf.sort(x), [(3, 5)], domain="distinct"),
    OpCase("sort/descending_axis0", lambda x: tf.sort(x, axis=0, direction="DESCENDING"), [(3, 5)],
           domain="distinct"),
    OpCase("top_k", lambda x: tf.math.top_k(x, k=3).values, [(2, 5)], domain="distinct"),
    OpCase("repeat", lambda x: tf.repeat(x, 2, axis=1), [(2, 3)]),
    OpCase("identity", tf.identity, [(2, 3)]),
]


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradients(case: OpCase, device: str) -> None:
    with tf.device(device):
        run_case(case)


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------

X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

KEYS = [
    1, -1, slice(1, None), slice(None, None, -1), (Ellipsis, 2), (None, 0), (0, slice(None), None),
    (slice(None), [2, 0, 2]), np.array([1, 0]), (Ellipsis, slice(3, 0, -2)), X[..., 0] > 5,
    (slice(None), 1, slice(None, None, 2)),
]


@pytest.mark.parametrize("key", KEYS, ids=lambda k: repr(k)[:30])
def test_getitem_values(key) -> None:
    out = tf.constant(X)[key]
    np.testing.assert_array_equal(out.numpy(), X[key])
    assert out.shape == X[key].shape


def test_getitem_with_scalar_tensor_index() -> None:
    i = tf.constant(2)
    np.testing.assert_array_equal(tf.constant(X)[0, i].numpy(), X[0, 2])


def test_getitem_out_of_bounds_names_axis_and_shape() -> None:
    with pytest.raises(IndexError, match=r"Index 5 is out of bounds for axis 1 with size 3 .*\(2, 3, 4\)"):
        tf.constant(X)[0, 5]


def test_getitem_of_variable_is_snapshot() -> None:
    v = tf.Variable([1.0, 2.0, 3.0])
    s = v[1:]
    v.assign([9.0, 9.0, 9.0])
    np.testing.assert_array_equal(s.numpy(), [2.0, 3.0])


def test_reshape_transpose_expand_squeeze_values() -> None:
    t = tf.constant(X)
    assert tf.reshape(t, [-1, 4]).shape == (6, 4)
    np.testing.assert_array_equal(tf.transpose(t).numpy(), X.T)
    np.testing.assert_array_equal(tf.transpose(t, [2, 0, 1]).numpy(), X.transpose(2, 0, 1))
    assert tf.expand_dims(t, 1).shape == (2, 1, 3, 4)
    assert tf.expand_dims(t, -1).shape == (2, 3, 4, 1)
    assert tf.squeeze(tf.zeros((1, 2, 1))).shape == (2,)
    with pytest.raises(ValueError, match="Squeeze: cannot squeeze axis 1 of size 2"):
        tf.squeeze(tf.zeros((1, 2, 1)), axis=1)


def test_reshape_error_names_sizes_and_shapes() -> None:
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Reshape: .*24 values.*\(2, 3, 4\).*\[5, 5\]"):
        tf.reshape(tf.constant(X), [5, 5])


def test_transpose_bad_perm() -> None:
    with pytest.raises(ValueError, match="Transpose: perm"):
        tf.transpose(tf.constant(X), [0, 0, 1])


def test_gather_values() -> None:
    p = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(tf.gather(p, [2, 0]).numpy(), p[[2, 0]])
    np.testing.assert_array_equal(tf.gather(p, [[1], [3]], axis=1).numpy(), np.take(p, [[1], [3]], axis=1))
    idx = np.array([[0, 2], [1, 1], [3, 0]])
    want = np.stack([np.take(p[i], idx[i], axis=0) for i in range(3)])
    np.testing.assert_array_equal(tf.gather(p, idx, axis=1, batch_dims=1).numpy(), want)
    p3 = np.arange(24.0).reshape(2, 3, 4)
    idx3 = np.array([[0, 3], [1, 1]])
    want3 = np.stack([np.take(p3[b], idx3[b], axis=1) for b in range(2)])
    np.testing.assert_array_equal(tf.gather(p3, idx3, axis=2, batch_dims=1).numpy(), want3)


def test_gather_out_of_range_is_invalid_argument() -> None:
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"GatherV2: index 5 is out of range \[0, 3\)"):
        tf.gather(tf.zeros((3, 2)), [0, 5])
    with pytest.raises(TypeError, match="indices must be integers"):
        tf.gather(tf.zeros((3, 2)), tf.constant([0.0]))


def test_gather_nd_values() -> None:
    p = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(tf.gather_nd(p, [[0, 1], [1, 2]]).numpy(), p[[0, 1], [1, 2]])
    np.testing.assert_array_equal(tf.gather_nd(p, [[1, 2, 3]]).numpy(), [p[1, 2, 3]])
    np.testing.assert_array_equal(tf.gather_nd(p, [[[1]], [[0]]]).numpy(), p[np.array([[1], [0]])])


def test_boolean_mask_values() -> None:
    x = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(tf.boolean_mask(x, [True, False, True]).numpy(), x[[0, 2]])
    np.testing.assert_array_equal(tf.boolean_mask(x, [False, True], axis=1).numpy(), x[:, [1]])
    with pytest.raises(ValueError, match="BooleanMask: mask shape"):
        tf.boolean_mask(x, [True, False])


@pytest.mark.parametrize("mode", ["CONSTANT", "REFLECT", "SYMMETRIC"])
def test_pad_values(mode) -> None:
    x = np.arange(12.0).reshape(3, 4)
    pads = [[1, 2], [2, 1]]
    np_mode = {"CONSTANT": "constant", "REFLECT": "reflect", "SYMMETRIC": "symmetric"}[mode]
    np.testing.assert_array_equal(tf.pad(x, pads, mode=mode).numpy(), np.pad(x, pads, mode=np_mode))
    assert tf.pad(x, pads, mode=mode.lower()).shape == (6, 7)


def test_pad_errors() -> None:
    with pytest.raises(ValueError, match="REFLECT"):
        tf.pad(tf.zeros((2, 2)), [[2, 0], [0, 0]], mode="REFLECT")
    with pytest.raises(ValueError, match="mode must be"):
        tf.pad(tf.zeros((2, 2)), [[1, 0], [0, 0]], mode="WRAP")


def test_concat_stack_split_unstack_tile_values() -> None:
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(3.0).reshape(1, 3)
    np.testing.assert_array_equal(tf.concat([a, b], 0).numpy(), np.concatenate([a, b]))
    np.testing.assert_array_equal(tf.stack([a, a], axis=-1).numpy(), np.stack([a, a], -1))
    parts = tf.split(np.arange(10.0), [3, -1, 2])
    assert [p.shape for p in parts] == [(3,), (5,), (2,)]
    us = tf.unstack(a)
    assert len(us) == 2 and us[1].shape == (3,)
    np.testing.assert_array_equal(tf.tile(a, [2, 1]).numpy(), np.tile(a, (2, 1)))
    with pytest.raises(ValueError, match=r"ConcatV2: .*\(2, 3\) and \(1, 2\)"):
        tf.concat([a, np.zeros((1, 2))], 0)
    with pytest.raises(ValueError, match="Split: dimension 10"):
        tf.split(np.arange(10.0), 3)


def test_sort_argsort_top_k_values() -> None:
    x = np.array([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, -1.0, 4.0]], np.float32)
    np.testing.assert_array_equal(tf.sort(x).numpy(), np.sort(x))
    np.testing.assert_array_equal(tf.sort(x, direction="DESCENDING").numpy(), -np.sort(-x))
    np.testing.assert_array_equal(tf.argsort(x).numpy(), [[1, 3, 2, 0], [2, 0, 3, 1]])
    vals, idx = tf.math.top_k(x, k=2)
    np.testing.assert_array_equal(vals.numpy(), [[3.0, 2.0], [5.0, 4.0]])
    np.testing.assert_array_equal(idx.numpy(), [[0, 2], [1, 3]])
    assert idx.dtype == tf.int32
    ties = tf.math.top_k(tf.constant([1.0, 2.0, 2.0]), k=2)
    np.testing.assert_array_equal(ties.indices.numpy(), [1, 2])  # lower index first


def test_shape_size_rank_identity() -> None:
    t = tf.constant(X)
    np.testing.assert_array_equal(tf.shape(t).numpy(), [2, 3, 4])
    assert tf.shape(t).dtype == tf.int32
    assert int(tf.size(t)) == 24 and int(tf.rank(t)) == 3
    i = tf.identity(t)
    assert i is not t
    np.testing.assert_array_equal(i.numpy(), X)


def test_broadcast_to_values_and_error() -> None:
    out = tf.broadcast_to(tf.constant([1.0, 2.0]), (3, 2))
    np.testing.assert_array_equal(out.numpy(), [[1, 2]] * 3)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"BroadcastTo: cannot broadcast a tensor of shape \(2,\) to shape \(3, 3\)"):
        tf.broadcast_to(tf.constant([1.0, 2.0]), (3, 3))


@pytest.mark.parametrize("shape,key,vshape", [
    ((50, 16), (np.array([3, 7, 3, 49, 0, 3]),), (6, 16)),
    ((50,), (np.array([3, 3, 1]),), (3,)),
    ((6, 5, 3), (np.array([[0, 5], [5, 5]]), np.array([[4, 4], [0, 4]])), (2, 2, 3)),
    ((6, 4), (np.array([-1, 5, -6, 0]),), (4, 4)),  # negative: NumPy's own add.at decides
    ((6, 4), (np.array([1, 1, 2]),), (4,)),  # broadcast values
    ((6, 4), (slice(None), np.array([0, 3, 3])), (6, 3)),
])
def test_scatter_add_matches_numpy_add_at_bitwise(shape, key, vshape) -> None:
    """The flat one-dimensional add.at path sums repeated indices in NumPy's order."""
    from tapeflow.ops.movement import _scatter_add

    values = np.random.default_rng(0).standard_normal(vshape).astype(np.float32)
    k = key if len(key) > 1 else key[0]
    want = np.zeros(shape, np.float32)
    np.add.at(want, k, values)
    got = np.zeros(shape, np.float32)
    _scatter_add(np, got, k, values)
    assert np.array_equal(got, want)


def test_scatter_add_out_of_range_raises_numpy_index_error() -> None:
    from tapeflow.ops.movement import _scatter_add

    with pytest.raises(IndexError):
        _scatter_add(np, np.zeros((5, 2)), np.array([7]), np.ones(2))


def test_embedding_style_gather_gradient_sums_repeats() -> None:
    table = tf.Variable(np.arange(24, dtype=np.float32).reshape(6, 4))
    ids = tf.constant([[1, 5, 1], [1, 0, 5]])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.gather(table, ids) * tf.reshape(tf.range(24, dtype=tf.float32), (2, 3, 4)))
    g = tf.convert_to_tensor(tape.gradient(y, table)).numpy()
    want = np.zeros((6, 4), np.float32)
    np.add.at(want, ids.numpy().reshape(-1), np.arange(24, dtype=np.float32).reshape(6, 4))
    assert np.array_equal(g, want)

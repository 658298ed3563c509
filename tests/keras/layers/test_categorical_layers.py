"""CategoryEncoding and Discretization: Keras oracle, adapt, tracing, config and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers

_INTS = [[3, 2, 0, 1], [[0, 1], [0, 0], [1, 2], [3, 1]], [[1], [2]], 2, [[[0, 1], [2, 2]], [[3, 3], [1, 0]]]]
_FLOATS = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])


def _keras():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("x", _INTS[:4], ids=["rank1", "rank2", "trailing1", "scalar"])
def test_category_encoding_against_keras(mode, x):
    k = _keras()
    ours = layers.CategoryEncoding(4, output_mode=mode)(x)
    ref = np.asarray(k.layers.CategoryEncoding(4, output_mode=mode)(x))
    assert ours.dtype == tf.float32
    np.testing.assert_array_equal(ours.numpy(), ref)
    shape = np.shape(x)
    assert (layers.CategoryEncoding(4, output_mode=mode).compute_output_shape(shape)
            == k.layers.CategoryEncoding(4, output_mode=mode).compute_output_shape(shape))


def test_category_encoding_count_weights_against_keras():
    k = _keras()
    x = [[0, 1], [0, 0], [1, 2], [3, 1]]
    w = np.array([[0.1, 0.2], [0.1, 0.1], [0.2, 0.3], [0.4, 0.2]])
    ours = layers.CategoryEncoding(4, output_mode="count")(x, count_weights=w)
    ref = k.layers.CategoryEncoding(4, output_mode="count")(x, count_weights=w)
    np.testing.assert_allclose(ours.numpy(), np.asarray(ref), rtol=1e-6)


def test_category_encoding_higher_rank_and_binary_alias():
    x = np.array(_INTS[4])
    hot = layers.CategoryEncoding(4, output_mode="binary")(x).numpy()
    expected = np.zeros((2, 2, 4), np.float32)
    for i in range(2):
        for j in range(2):
            expected[i, j, x[i, j]] = 1
    np.testing.assert_array_equal(hot, expected)
    assert layers.CategoryEncoding(4).output_mode == "multi_hot"


def test_category_encoding_errors():
    with pytest.raises(ValueError, match="num_tokens must be set"):
        layers.CategoryEncoding()
    with pytest.raises(ValueError, match="num_tokens=0"):
        layers.CategoryEncoding(0)
    with pytest.raises(ValueError, match="output_mode='tf_idf'"):
        layers.CategoryEncoding(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="sparse=True and output_mode=int"):
        layers.Discretization([0.0], sparse=True)
    with pytest.raises(ValueError, match="num_tokens=3; received values from -1 to 2"):
        layers.CategoryEncoding(3)([[-1, 2]])
    with pytest.raises(ValueError, match="count_weights"):
        layers.CategoryEncoding(3, output_mode="one_hot")([0, 1], count_weights=[1.0, 2.0])


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_against_keras(mode):
    k = _keras()
    ours = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode=mode)(_FLOATS)
    ref = np.asarray(k.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode=mode)(_FLOATS))
    assert ours.dtype.name == ref.dtype.name
    np.testing.assert_array_equal(ours.numpy(), ref)


@pytest.mark.parametrize("n, epsilon, bins", [(8, 0.01, 4), (1000, 0.01, 4), (5000, 0.1, 3), (777, 0.05, 7)])
def test_discretization_adapt_against_keras(n, epsilon, bins):
    k = _keras()
    data = np.random.default_rng(n).normal(size=(n, 3)).astype("float32")
    ours = layers.Discretization(num_bins=bins, epsilon=epsilon)
    ours.adapt(data)
    ref = k.layers.Discretization(num_bins=bins, epsilon=epsilon)
    ref.adapt(data)
    np.testing.assert_allclose(ours.bin_boundaries, ref.bin_boundaries, rtol=1e-6)
    np.testing.assert_array_equal(ours(data).numpy(), np.asarray(ref(data)))


def test_discretization_adapt_on_batches_against_keras():
    k = _keras()
    import tensorflow as real_tf

    data = np.random.default_rng(1).exponential(size=(300,)).astype("float32")
    ours = layers.Discretization(num_bins=5)
    ours.adapt(tf.data.Dataset.from_tensor_slices(data).batch(64))
    ref = k.layers.Discretization(num_bins=5)
    ref.adapt(real_tf.data.Dataset.from_tensor_slices(data).batch(64))
    np.testing.assert_allclose(ours.bin_boundaries, ref.bin_boundaries, rtol=1e-6)
    again = layers.Discretization(num_bins=5)
    again.adapt([data[i:i + 64] for i in range(0, 300, 64)], steps=2)
    first_two = layers.Discretization(num_bins=5)
    first_two.adapt(tf.data.Dataset.from_tensor_slices(data[:128]).batch(64))
    assert again.bin_boundaries == first_two.bin_boundaries


def test_discretization_adapt_gives_quantiles():
    data = np.arange(1000, dtype="float32")
    layer = layers.Discretization(num_bins=4, epsilon=0.001)
    layer.adapt(data)
    np.testing.assert_allclose(layer.bin_boundaries, [250, 500, 750], atol=2)
    counts = np.bincount(layer(data).numpy(), minlength=4)
    assert counts.min() >= 248 and counts.max() <= 252


def test_discretization_errors_and_config():
    with pytest.raises(ValueError, match="either `num_bins` or `bin_boundaries`"):
        layers.Discretization()
    with pytest.raises(ValueError, match="should not be set"):
        layers.Discretization(bin_boundaries=[0.0], num_bins=2)
    with pytest.raises(ValueError, match="num_bins=-1"):
        layers.Discretization(num_bins=-1)
    with pytest.raises(ValueError, match="Cannot adapt"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(np.ones(3))
    with pytest.raises(ValueError, match="call `adapt"):
        layers.Discretization(num_bins=3)(np.ones(3))
    with pytest.raises(ValueError, match="steps"):
        layers.Discretization(num_bins=3).adapt(np.ones(3), steps=1)
    adapted = layers.Discretization(num_bins=3)
    adapted.adapt(np.arange(30.0))
    clone = layers.Discretization.from_config(adapted.get_config())
    assert clone.bin_boundaries == adapted.bin_boundaries
    np.testing.assert_array_equal(clone(np.arange(30.0)).numpy(), adapted(np.arange(30.0)).numpy())


def test_layers_trace_and_train_in_a_model():
    encode = layers.CategoryEncoding(5, output_mode="one_hot")
    traced = tf.function(lambda x: encode(x))
    np.testing.assert_array_equal(traced(tf.constant([1, 4, 0])).numpy(), np.eye(5, dtype="float32")[[1, 4, 0]])
    bucket = layers.Discretization(bin_boundaries=[0.0, 1.0])
    doubled = tf.function(lambda x: bucket(x) * 2)
    np.testing.assert_array_equal(doubled(tf.constant([[-1.0, 0.5, 3.0]])).numpy(), [[0, 2, 4]])

    inputs = keras.Input((3,))
    hot = layers.Discretization(bin_boundaries=[0.5, 1.0, 1.5], output_mode="multi_hot")(inputs)
    model = keras.Model(inputs, layers.Dense(1)(hot))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.random.default_rng(0).uniform(0, 2, size=(64, 3)).astype("float32")
    y = (x.max(axis=1, keepdims=True) > 1.5).astype("float32")
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def _sparse_parts(st):
    return np.asarray(st.indices), np.asarray(st.values), np.asarray(st.dense_shape)


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_sparse_outputs_against_keras(mode):
    k = _keras()
    import tensorflow as real_tf

    x = [[0, 1], [3, 3], [2, 0]]
    ours = layers.CategoryEncoding(4, output_mode=mode, sparse=True)(tf.constant(x))
    theirs = k.layers.CategoryEncoding(4, output_mode=mode, sparse=True)(real_tf.constant(x))
    assert isinstance(ours, tf.SparseTensor) and ours.dtype == tf.float32
    for a, b in zip(_sparse_parts(ours), _sparse_parts(theirs), strict=True):
        np.testing.assert_array_equal(a, b)
    f = _FLOATS[0]
    ours = layers.Discretization([0.0, 1.0], output_mode=mode, sparse=True)(tf.constant(f))
    theirs = k.layers.Discretization([0.0, 1.0], output_mode=mode, sparse=True)(real_tf.constant(f))
    for a, b in zip(_sparse_parts(ours), _sparse_parts(theirs), strict=True):
        np.testing.assert_array_equal(a, b)
    traced = tf.function(lambda t: layers.CategoryEncoding(4, output_mode=mode, sparse=True)(t))
    np.testing.assert_array_equal(tf.sparse.to_dense(traced(tf.constant(x))),
                                  layers.CategoryEncoding(4, output_mode=mode)(tf.constant(x)))

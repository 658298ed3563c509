"""The "mixed_bfloat16" and "bfloat16" dtype policies (ml_dtypes' bfloat16), against Keras 3.

Layers compute in bfloat16 with float32 variables; GEMM-based kernels (matmul, einsum,
convolutions) accumulate in float32 and round once, as TensorFlow's CPU kernels do.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


@pytest.fixture(autouse=True)
def _reset_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")
    keras.config.set_floatx("float32")


def _build(k):
    L = k.layers
    k.mixed_precision.set_global_policy("mixed_bfloat16")
    img = k.Input((12, 12, 3), name="img")
    x = L.Conv2D(6, 3, activation="relu")(img)
    x = L.BatchNormalization()(x)
    x = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.MaxPooling2D()(x)
    x = L.SeparableConv2D(4, 3)(x)
    x = L.GlobalAveragePooling2D()(x)
    seq = k.Input((7,), name="seq", dtype="int32")
    e = L.Embedding(20, 8)(seq)
    e = L.LayerNormalization()(e)
    e = L.MultiHeadAttention(2, 4)(e, e)
    e = L.LSTM(5, return_sequences=True)(e)
    e = L.GRU(4)(e)
    h = L.Concatenate()([x, e])
    h = L.Dense(16, activation="gelu")(h)
    out = L.Activation("softmax", dtype="float32")(L.Dense(3)(h))
    model = k.Model([img, seq], out)
    k.mixed_precision.set_global_policy("float32")
    return model


def _data():
    rng = np.random.default_rng(0)
    return ([rng.random((8, 12, 12, 3)).astype("float32"), rng.integers(0, 20, (8, 7)).astype("int32")],
            rng.integers(0, 3, 8))


def test_mixed_bfloat16_layers_compute_in_bfloat16_with_float32_variables():
    model = _build(keras)
    conv = model.layers[1]
    assert (conv.compute_dtype, conv.variable_dtype, conv.kernel.dtype) == ("bfloat16", "float32", tf.float32)
    x, _ = _data()
    assert conv(x[0]).dtype == tf.bfloat16
    assert model(x).dtype == tf.float32
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x, training=True))
    grads = tape.gradient(loss, model.trainable_weights)
    assert all(g is not None and g.dtype == tf.float32 for g in grads)


def test_bfloat16_targets_have_gradients():
    x = tf.constant([1.0, 2.0], tf.bfloat16)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    g = tape.gradient(y, x)
    assert g.dtype == tf.bfloat16
    np.testing.assert_array_equal(g.numpy().astype("float32"), [2.0, 4.0])
    assert tf.reduce_mean(tf.constant([1.0, 2.0], tf.bfloat16)).numpy().astype("float32") == 1.5


@pytest.mark.oracle
def test_mixed_bfloat16_model_matches_keras():
    k3 = pytest.importorskip("keras")
    k3.utils.set_random_seed(1)
    theirs = _build(k3)
    try:
        x, y = _data()
        ours = _build(keras)
        ours.set_weights(theirs.get_weights())
        # bfloat16 keeps 8 significant bits: agreement to a few bfloat16 steps of the outputs.
        np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=3e-3)
        theirs.compile(k3.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        ours.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        np.testing.assert_allclose(ours.train_on_batch(x, y), theirs.train_on_batch(x, y), rtol=1e-3)
        for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, atol=3e-3)
    finally:
        k3.mixed_precision.set_global_policy("float32")


def test_bfloat16_policy_variables_are_bfloat16():
    layer = keras.layers.Dense(3, dtype="bfloat16")
    out = layer(np.ones((2, 4), "float32"))
    assert out.dtype == tf.bfloat16 and layer.kernel.dtype == tf.bfloat16

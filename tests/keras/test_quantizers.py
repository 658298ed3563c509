"""keras.quantizers and int8 quantization of Dense / EinsumDense."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.testing import check_gradients

q = keras.quantizers


def test_abs_max_quantize_and_quantizer_object() -> None:
    x = np.array([[1.0, -2.0, 0.5], [0.1, 0.2, -0.4]], "float32")
    values, scale = q.abs_max_quantize(x, axis=-1)
    np.testing.assert_allclose(scale.numpy(), 127 / (np.abs(x).max(-1, keepdims=True) + 1e-7), rtol=1e-6)
    np.testing.assert_array_equal(values.numpy(), np.clip(np.round(x * scale.numpy()), -127, 127))
    assert values.dtype == tf.int8
    v2, s2 = q.AbsMaxQuantizer()(x, axis=0, to_numpy=True)
    assert tuple(s2.shape) == (1, 3) and v2.dtype == tf.int8
    assert q.get("AbsMaxQuantizer").get_config()["value_range"] == (-127, 127)
    with pytest.raises(ValueError, match="within the interval"):
        q.AbsMaxQuantizer(value_range=(-200, 200))
    back = q.deserialize(q.serialize(q.AbsMaxQuantizer(axis=1)))
    assert back.axis == (1,)


def test_pack_unpack_int4_round_trip() -> None:
    arr = np.array([[-8, 7, 3], [1, -1, 0], [5, -5, 2]], "int8")
    packed, shape, n = q.pack_int4(arr, axis=0)
    assert shape == (2, 3) and n == 3 and packed.dtype == tf.int8
    np.testing.assert_array_equal(q.unpack_int4(packed, n, axis=0).numpy(), arr)
    with pytest.raises(TypeError, match="int8 tensor"):
        q.pack_int4(arr.astype("int32"))


def test_fake_quant_values_and_gradient() -> None:
    x = tf.constant([-1.2, -0.3, 0.0, 0.26, 0.9, 2.0])
    lo, hi = tf.Variable(-1.0), tf.Variable(1.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = q.fake_quant_with_min_max_vars(x, lo, hi, num_bits=3)
        loss = tf.reduce_sum(y * tf.constant([1.0, 2, 3, 4, 5, 6]))
    dx, dlo, dhi = tape.gradient(loss, [x, lo, hi])
    # 3 bits over [-1, 1]: step 2/7, the range nudged to [-6/7, 8/7] so that 0 is exact.
    np.testing.assert_allclose(y.numpy(), np.array([-6, -2, 0, 2, 6, 8]) / 7, rtol=1e-6)
    np.testing.assert_allclose(dx.numpy(), [0, 2, 3, 4, 5, 0])
    assert float(dlo) == 1.0 and float(dhi) == 6.0


def test_float8_helpers_and_emulated_rounding() -> None:
    history = q.compute_float8_amax_history(tf.constant([1.0, -3.0]), tf.constant([0.5, 0.25, 0.0]))
    np.testing.assert_allclose(history.numpy(), [3.0, 0.0, 0.5])
    np.testing.assert_allclose(q.compute_float8_scale(tf.constant(2.0), tf.constant(1.0), 448.0).numpy(), 2 / 448)
    # amax 0 keeps the old scale (and warns about nothing)
    np.testing.assert_allclose(q.compute_float8_scale(tf.constant(0.0), tf.constant(0.5), 448.0).numpy(), 0.5)
    ml_dtypes = pytest.importorskip("ml_dtypes")
    rng = np.random.default_rng(0)
    for name, top in (("float8_e4m3fn", 448.0), ("float8_e5m2", 57344.0)):
        x = np.concatenate([rng.standard_normal(20000) * s for s in (1e-5, 1e-2, 1.0, 100.0)]).astype("float32")
        # powers of two and exact ties (1 + odd/16 lies between two e4m3 values; /8 for e5m2)
        x = np.concatenate([x, 2.0 ** np.arange(-22, 9), 1 + np.arange(1, 16, 2) / 16, 1 + np.arange(1, 8, 2) / 8,
                            [0.0, top, -top]]).astype("float32")
        x = np.clip(x, -top, top)
        expected = x.astype(getattr(ml_dtypes, name)).astype("float32")
        np.testing.assert_array_equal(q.quantize_and_dequantize(x, 1.0, name, "float32").numpy(), expected)
        np.testing.assert_array_equal(q.quantize_and_dequantize(x * 3, 3.0, name, "float32").numpy(),
                                      np.clip(x * 3 / np.float32(3), -top, top).astype(getattr(ml_dtypes, name))
                                      .astype("float32") * np.float32(3))
    np.testing.assert_allclose(q.quantize_and_dequantize(tf.constant([1.26]), 0.1, "int8", "float32").numpy(),
                               [1.3], rtol=1e-6)


def test_dense_int8_quantize_close_to_float_and_trains_inputs() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 8)).astype("float32")
    dense = keras.layers.Dense(4, activation="relu")
    y_float = dense(x).numpy()
    dense.quantize("int8")
    assert dense.quantization_mode == "int8" and dense.dtype_policy.name == "int8_from_float32"
    assert [(w.name, w.dtype.name) for w in dense.weights] == [("bias", "float32"), ("kernel", "int8"),
                                                                ("kernel_scale", "float32")]
    assert dense.trainable_weights == [dense.bias]
    np.testing.assert_allclose(dense(x).numpy(), y_float, atol=0.05)
    with pytest.raises(ValueError, match="already quantized"):
        dense.quantize("int8")
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        keras.layers.Dense(2).quantize("int3")
    with pytest.raises(ValueError, match="isn't yet built"):
        keras.layers.Dense(2).quantize("int8")

    # The input gradient is that of the dequantized kernel (straight-through).
    kernel = dense.kernel.numpy() / dense.kernel_scale.numpy()
    linear = keras.layers.Dense(4, dtype="int8_from_float32")
    linear.build((None, 8))
    linear.kernel.assign(dense.kernel.numpy())
    linear.kernel_scale.assign(dense.kernel_scale.numpy())
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = tf.reduce_sum(linear(xt) * tf.constant(np.arange(4.0, dtype="float32")))
    np.testing.assert_allclose(tape.gradient(out, xt).numpy(), np.tile(kernel @ np.arange(4.0), (5, 1)), rtol=1e-5)


def test_einsum_dense_and_model_quantize_save_load(tmp_path) -> None:
    rng = np.random.default_rng(1)
    inputs = keras.Input((5, 4))
    h = keras.layers.EinsumDense("abc,cd->abd", (5, 3), bias_axes="d")(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(h))
    model = keras.Model(inputs, outputs)
    x = rng.standard_normal((3, 5, 4)).astype("float32")
    before = model.predict(x, verbose=0)
    with pytest.warns(UserWarning, match="does not have a `quantize` method"):
        model.quantize("int8")
    after = model.predict(x, verbose=0)
    np.testing.assert_allclose(after, before, atol=0.05)
    assert tuple(model.layers[1].kernel_scale.shape) == (1, 1, 3)
    path = tmp_path / "q.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), after)
    assert loaded.layers[1].dtype_policy.name == "int8_from_float32"


@pytest.mark.oracle
def test_int8_dense_and_einsum_dense_match_keras() -> None:
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6)).astype("float32")
    theirs = k.layers.Dense(3)
    theirs.build((None, 6))
    ours = keras.layers.Dense(3)
    ours.build((None, 6))
    ours.set_weights(theirs.get_weights())
    theirs.quantize("int8")
    ours.quantize("int8")
    np.testing.assert_array_equal(ours.kernel.numpy(), np.asarray(theirs._kernel))
    np.testing.assert_allclose(ours.kernel_scale.numpy(), np.asarray(theirs.kernel_scale), rtol=1e-6)
    np.testing.assert_allclose(ours(x).numpy(), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)
    assert ours.get_config()["dtype"] == theirs.get_config()["dtype"]

    x3 = rng.standard_normal((2, 5, 4)).astype("float32")
    te = k.layers.EinsumDense("abc,cd->abd", (5, 3), bias_axes="d")
    te.build((None, 5, 4))
    oe = keras.layers.EinsumDense("abc,cd->abd", (5, 3), bias_axes="d")
    oe.build((None, 5, 4))
    oe.kernel.assign(np.asarray(te.kernel))
    oe.bias.assign(np.asarray(te.bias))
    te.quantize("int8")
    oe.quantize("int8")
    np.testing.assert_allclose(oe.kernel_scale.numpy(), np.asarray(te.kernel_scale), rtol=1e-6)
    np.testing.assert_allclose(oe(x3).numpy(), np.asarray(te(x3)), rtol=1e-5, atol=1e-6)

    kernel = rng.standard_normal((10, 4)).astype("float32")
    for ours, theirs in zip(q.abs_max_quantize_grouped_with_zero_point(kernel, block_size=4),
                            k.quantizers.abs_max_quantize_grouped_with_zero_point(kernel, block_size=4), strict=True):
        assert ours.dtype.name == str(np.asarray(theirs).dtype)
        np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=1e-6)
    for ours, theirs in zip(q.abs_max_quantize(kernel, axis=0), k.quantizers.abs_max_quantize(kernel, axis=0),
                            strict=True):
        np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=1e-6)
    nibbles = rng.integers(-8, 8, (5, 3)).astype("int8")
    packed, shape, n = q.pack_int4(nibbles, axis=0)
    their_packed, their_shape, their_n = k.quantizers.pack_int4(nibbles, axis=0)
    np.testing.assert_array_equal(packed.numpy(), np.asarray(their_packed))
    assert (shape, n) == (tuple(their_shape), their_n)

    xs = rng.standard_normal((3, 4)).astype("float32") * 2
    lo, hi = np.array([-1.0, -0.5, -2.0, 0.1], "float32"), np.array([1.0, 0.7, 0.5, 2.0], "float32")
    for kwargs in ({"num_bits": 4}, {"num_bits": 8, "narrow_range": True}):
        np.testing.assert_allclose(q.fake_quant_with_min_max_vars(xs, lo, hi, axis=-1, **kwargs).numpy(),
                                   np.asarray(k.quantizers.fake_quant_with_min_max_vars(xs, lo, hi, axis=-1, **kwargs)),
                                   rtol=1e-6, atol=1e-6)


def test_quantized_product_gradient_float64_check() -> None:
    layer = keras.layers.Dense(3, dtype="float64")
    layer.build((None, 4))
    layer.quantize("int8")
    x = np.random.default_rng(3).standard_normal((2, 4))

    def dequantized(t):
        kernel = tf.cast(layer.kernel, "float64") / tf.cast(layer.kernel_scale, "float64")
        return tf.matmul(t, kernel)

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        ours = tf.reduce_sum(tf.sin(layer(xt) - layer.bias))
    with tf.GradientTape() as tape2:
        tape2.watch(xt)
        ref = tf.reduce_sum(tf.sin(dequantized(xt)))
    np.testing.assert_allclose(tape.gradient(ours, xt).numpy(), tape2.gradient(ref, xt).numpy(), rtol=0.05, atol=0.02)
    check_gradients(dequantized, [x])

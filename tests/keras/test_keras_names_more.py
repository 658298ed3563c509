"""Keras 3 names added to keras.activations, keras.backend, keras.initializers and
keras.callbacks: oracle values, float64 gradients, configs and behaviour in fit."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(3)
X = (RNG.standard_normal((4, 6)) * 1.5).astype("float32")


@pytest.fixture(scope="module")
def K():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras", minversion="3")


def _sparsemax_reference(z):
    """Martins & Astudillo (2016), Algorithm 1, on the last axis."""
    s = -np.sort(-z, axis=-1)
    cum = np.cumsum(s, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    support = 1 + k * s > cum
    kz = support.sum(-1, keepdims=True)
    tau = (np.take_along_axis(cum, kz - 1, -1) - 1) / kz
    return np.maximum(z - tau, 0)


def test_sparsemax_is_the_simplex_projection():
    got = keras.activations.sparsemax(X).numpy()
    np.testing.assert_allclose(got, _sparsemax_reference(X.astype("float64")), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-6)
    got0 = keras.activations.sparsemax(X, axis=0).numpy()
    np.testing.assert_allclose(got0, _sparsemax_reference(X.T.astype("float64")).T, rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
def test_sparsemax_matches_keras_where_keras_is_right(K):
    # Keras 3.15's sparsemax takes tau from the sum of the support's cumulative sums rather than
    # the last one, so it is only the simplex projection when one input is in the support (its
    # other rows do not sum to 1). Compare those rows.
    want = np.asarray(K.activations.sparsemax(X))
    ok = np.isclose(want.sum(-1), 1.0)
    assert ok.sum() >= 2
    np.testing.assert_allclose(keras.activations.sparsemax(X).numpy()[ok], want[ok], rtol=1e-6, atol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("name,kwargs", [
    ("sparse_sigmoid", {}), ("threshold", {"threshold": 0.3, "default_value": -1.0}),
])
def test_activations_match_keras(K, name, kwargs):
    got = getattr(keras.activations, name)(X, **kwargs).numpy()
    want = np.asarray(getattr(K.activations, name)(X, **kwargs))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert keras.activations.get(name) is getattr(keras.activations, name)
    assert keras.activations.serialize(getattr(keras.activations, name)) == name


@pytest.mark.parametrize("name,kwargs", [
    ("sparse_sigmoid", {}), ("sparsemax", {}), ("threshold", {"threshold": 0.3, "default_value": -1.0}),
])
def test_activation_gradients_float64(name, kwargs):
    x = X.astype("float64")
    # Stay off the kinks (|x| = 1 for sparse_sigmoid, x = threshold, support changes of sparsemax).
    x = x + 0.05 * np.sign(x)
    check_gradients(lambda t: getattr(keras.activations, name)(t, **kwargs), [x])


def test_activation_in_a_layer():
    layer = keras.layers.Dense(3, activation="sparsemax")
    out = layer(X).numpy()
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
    assert layer.get_config()["activation"] == "sparsemax"


@pytest.mark.oracle
def test_backend_dtype_predicates_match_keras(K):
    for dtype in ("float8_e4m3fn", "float8_e5m2", "float16", "bfloat16",
                  "float32", "float64", "int8", "int32", "uint8", "uint64", "bool",
                  "complex64", tf.float32, tf.int64, np.dtype("float64"), np.int16):
        assert keras.backend.is_float_dtype(dtype) == K.backend.is_float_dtype(
            dtype if not isinstance(dtype, tf.DType) else dtype.name), dtype
        assert keras.backend.is_int_dtype(dtype) == K.backend.is_int_dtype(
            dtype if not isinstance(dtype, tf.DType) else dtype.name), dtype


def test_is_keras_tensor():
    x = keras.Input((3,))
    y = keras.layers.Dense(2)(x)
    assert keras.backend.is_keras_tensor(x) and keras.backend.is_keras_tensor(y)
    assert keras.backend.is_keras_tensor(keras.ops.add(x, 1.0)) and keras.backend.is_keras_tensor(y * 2)
    import tapeflow.compat.v1 as v1

    placeholder = v1.placeholder(tf.float32, (2,))
    assert not keras.backend.is_keras_tensor(placeholder) and not keras.backend.is_keras_tensor(placeholder * 2)
    assert not keras.backend.is_keras_tensor(tf.constant([1.0]))
    assert not keras.backend.is_keras_tensor(np.ones(3))

    seen = []

    @tf.function
    def traced(t):
        seen.append(keras.backend.is_keras_tensor(t))
        return t

    traced(tf.constant(1.0))
    assert seen == [False]


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", [
    {}, {"side": "imag"}, {"window": "hamming", "scaling": "spectrum", "periodic": True},
    {"window": None}, {"window": np.linspace(0.1, 1.0, 16).tolist(), "scaling": None},
])
def test_stft_initializer_matches_keras(K, kwargs):
    got = keras.initializers.STFT(**kwargs)((16, 1, 9)).numpy()
    want = np.asarray(K.initializers.STFT(**kwargs)(shape=(16, 1, 9)))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert keras.initializers.STFT(**kwargs).get_config() == K.initializers.STFT(**kwargs).get_config()


def test_initializer_aliases_and_lookup():
    assert keras.initializers.STFTInitializer is keras.initializers.STFT
    assert keras.initializers.stft is keras.initializers.STFT
    assert keras.initializers.IdentityInitializer is keras.initializers.Identity
    assert keras.initializers.OrthogonalInitializer is keras.initializers.Orthogonal
    for name in ("stft", "STFT", "STFTInitializer"):
        assert isinstance(keras.initializers.get(name), keras.initializers.STFT)
    init = keras.initializers.STFT("imag", "hamming", "spectrum", True)
    again = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert again.get_config() == init.get_config()
    assert init((8, 1, 5), dtype="float64").dtype == tf.float64
    with pytest.raises(ValueError, match="side should be"):
        keras.initializers.STFT(side="both")
    with pytest.raises(ValueError, match="Scaling is invalid"):
        keras.initializers.STFT(scaling="l3")
    with pytest.raises(ValueError, match="frame_length, input_channels"):
        init((8, 5))


def test_spectrogram_layer_still_uses_the_same_kernels():
    layer = keras.layers.STFTSpectrogram(mode="stft", frame_length=16, frame_step=8, fft_length=16)
    layer.build((None, 64, 1))
    want = keras.initializers.STFT("real", "hann", "density", False)((16, 1, 9)).numpy()
    np.testing.assert_array_equal(layer.real_kernel.numpy(), want)


def _ema_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), loss="mse")
    return model


def test_swap_ema_weights_swaps_for_evaluation_and_back():
    x = RNG.standard_normal((16, 3)).astype("float32")
    y = x.sum(-1, keepdims=True)
    model = _ema_model()
    for i in range(4):
        model.train_on_batch(x[4 * i: 4 * i + 4], y[4 * i: 4 * i + 4])
    opt = model.optimizer
    weights = [w.numpy().copy() for w in model.trainable_weights]
    averages = [a.numpy().copy() for a in opt._model_variables_moving_average]
    assert any(not np.array_equal(w, a) for w, a in zip(weights, averages, strict=True))

    seen = []

    class Spy(keras.callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            seen.append([w.numpy().copy() for w in self.model.trainable_weights])

    model.evaluate(x, y, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights(), Spy()])
    for w, a in zip(seen[0], averages, strict=True):
        np.testing.assert_array_equal(w, a)
    for w, before in zip(model.trainable_weights, weights, strict=True):
        np.testing.assert_array_equal(w.numpy(), before)
    model.predict(x, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    for w, before in zip(model.trainable_weights, weights, strict=True):
        np.testing.assert_array_equal(w.numpy(), before)


def test_swap_ema_weights_on_epoch_leaves_the_average_in_the_model():
    x = RNG.standard_normal((16, 3)).astype("float32")
    y = x.sum(-1, keepdims=True)
    model = _ema_model()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, validation_split=0.25,
              callbacks=[keras.callbacks.SwapEMAWeights(swap_on_epoch=True)])
    for w, a in zip(model.trainable_weights, model.optimizer._model_variables_moving_average, strict=True):
        np.testing.assert_array_equal(w.numpy(), a.numpy())


def test_swap_ema_weights_needs_ema():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="use_ema=True"):
        model.evaluate(np.ones((2, 3)), np.ones((2, 1)), verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])


def test_orbax_checkpoint_refuses_with_a_clear_error(tmp_path):
    expected = "orbax-checkpoint" if importlib.util.find_spec("orbax") is None else "does not write Orbax"
    with pytest.raises(ImportError, match=expected):
        keras.callbacks.OrbaxCheckpoint(str(tmp_path))


def test_keras_variables_repr_as_keras_3():
    """Layer weights and keras.Variable show as Keras 3.15's Variable (the Sequential guide's
    `layer.weights` cell), unnamed ones numbered like layers; a plain tf.Variable keeps TF's repr."""
    keras.backend.clear_session()
    layer = keras.layers.Dense(3)
    layer.build((None, 4))
    assert repr(layer.bias) == "<Variable path=dense/bias, shape=(3,), dtype=float32, value=[0. 0. 0.]>"
    assert str(layer.weights[0]).startswith("<Variable path=dense/kernel, shape=(4, 3), dtype=float32, value=[[")
    assert repr(keras.Variable(1.0)) == "<Variable path=variable, shape=(), dtype=float32, value=1.0>"
    assert repr(keras.Variable(np.zeros((2, 3)), dtype="int32", name="counts")) == (
        "<Variable path=counts, shape=(2, 3), dtype=int32, value=[[0 0 0]\n [0 0 0]]>")
    assert keras.Variable(2.0).path == "variable_1"
    assert repr(tf.Variable(1.0)) == "<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=1.0>"

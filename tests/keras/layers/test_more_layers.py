"""Identity, ActivityRegularization, GaussianDropout, AlphaDropout, UnitNormalization,
RMSNormalization, Rescaling, Normalization: contract, gradients, Keras oracle."""

from __future__ import annotations

import numpy as np
import pytest
from layer_check import check_against_keras, check_layer, check_layer_gradients

import tapeflow as tf
from tapeflow.keras import layers

DETERMINISTIC = [
    ("Identity", {}, []),
    ("UnitNormalization", {}, []),
    ("UnitNormalization", {"axis": [1, 2]}, []),
    ("RMSNormalization", {}, [(4,)]),
    ("Rescaling", {"scale": 0.5, "offset": -1.0}, []),
    ("Normalization", {"mean": 0.5, "variance": 4.0}, []),
    ("Normalization", {"mean": 0.5, "variance": 4.0, "invert": True}, []),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(DETERMINISTIC)]


def _x(shape=(2, 3, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("cls, kwargs, weights", DETERMINISTIC, ids=IDS)
def test_contract(cls, kwargs, weights):
    check_layer(lambda: getattr(layers, cls)(**kwargs), (2, 3, 4), expected_output_shape=(2, 3, 4),
                expected_weight_shapes=weights)


@pytest.mark.parametrize("cls, kwargs, weights", DETERMINISTIC, ids=IDS)
def test_gradients(cls, kwargs, weights):
    check_layer_gradients(getattr(layers, cls)(dtype="float64", **kwargs), _x().astype("float64"))


@pytest.mark.oracle
@pytest.mark.parametrize("cls, kwargs, weights", DETERMINISTIC, ids=IDS)
def test_against_keras(cls, kwargs, weights):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    check_against_keras(lambda: getattr(layers, cls)(**kwargs), lambda: getattr(keras.layers, cls)(**kwargs), _x())


@pytest.mark.oracle
@pytest.mark.parametrize("axis", [-1, (1, 2), None, 1])
def test_normalization_adapt_against_keras(axis):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    x = _x((20, 3, 4)) * 3 + 1
    ours, theirs = layers.Normalization(axis=axis), keras.layers.Normalization(axis=axis)
    ours.adapt(x)
    theirs.adapt(x)
    np.testing.assert_allclose(ours(x).numpy(), np.asarray(theirs(x)), atol=2e-6)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert ours.get_config()["axis"] == theirs.get_config()["axis"]


def test_normalization_adapts_on_a_dataset_and_checks_arguments():
    x = _x((30, 3)) * 2 + 5
    layer = layers.Normalization()
    layer.adapt(tf.data.Dataset.from_tensor_slices(x).batch(7))
    out = layer(x).numpy()
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-4)
    assert int(layer.count.numpy()) == 30
    with pytest.raises(ValueError, match="both must be given"):
        layers.Normalization(mean=1.0)
    with pytest.raises(TypeError, match="adapt"):
        layers.Normalization().adapt({"a": 1})


def test_noise_layers_in_training_and_inference():
    x = np.ones((2000, 50), np.float32)
    for layer in (layers.GaussianDropout(0.3, seed=1), layers.AlphaDropout(0.2, seed=1)):
        np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
        y = layer(x, training=True).numpy()
        assert not np.array_equal(y, x)
    y = layers.GaussianDropout(0.3, seed=1)(x, training=True).numpy()
    assert abs(y.mean() - 1.0) < 0.01 and abs(y.var() - 0.3 / 0.7) < 0.02
    z = np.random.default_rng(0).standard_normal((4000, 50)).astype(np.float32)  # SELU-like: mean 0, var 1
    y = layers.AlphaDropout(0.2, seed=1)(z, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.var() - 1.0) < 0.03
    with pytest.raises(ValueError, match="rate"):
        layers.GaussianDropout(1.5)


def test_activity_regularization_adds_its_loss():
    layer = layers.ActivityRegularization(l1=0.1, l2=0.01)
    x = tf.constant([[1.0, -2.0], [3.0, 0.5]])
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    expected = (0.1 * 6.5 + 0.01 * (1 + 4 + 9 + 0.25)) / 2  # divided by the batch size, as Keras 3
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-6)
    assert layer.get_config()["l1"] == 0.1 and "activity_regularizer" not in layer.get_config()


IMAGE_CASES = [
    ("Resizing", {"height": 5, "width": 7}),
    ("Resizing", {"height": 12, "width": 8, "interpolation": "nearest"}),
    ("Resizing", {"height": 6, "width": 6, "crop_to_aspect_ratio": True}),
    ("Resizing", {"height": 6, "width": 6, "pad_to_aspect_ratio": True}),
    ("CenterCrop", {"height": 5, "width": 6}),
    ("CenterCrop", {"height": 10, "width": 10}),
]


@pytest.mark.oracle
@pytest.mark.parametrize("cls, kwargs", IMAGE_CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(IMAGE_CASES)])
def test_image_layers_against_keras(cls, kwargs):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(0).random((2, 9, 12, 3)).astype("float32") * 255
    ours = getattr(layers, cls)(**kwargs)
    out = ours(x).numpy()
    np.testing.assert_allclose(out, np.asarray(getattr(keras.layers, cls)(**kwargs)(x)), atol=5e-4)
    assert tuple(ours.compute_output_shape((None, 9, 12, 3))) == (None, *out.shape[1:])


def test_image_layers_contract_and_gradients():
    check_layer(lambda: layers.Resizing(4, 6), (2, 8, 9, 3), expected_output_shape=(2, 4, 6, 3),
                expected_weight_shapes=[])
    check_layer(lambda: layers.CenterCrop(4, 6, data_format="channels_first"), (2, 3, 8, 9),
                expected_output_shape=(2, 3, 4, 6), expected_weight_shapes=[])
    check_layer_gradients(layers.Resizing(4, 6, dtype="float64"), _x((2, 8, 9, 3)).astype("float64"))
    with pytest.raises(ValueError, match="data_format"):
        layers.CenterCrop(2, 2, data_format="nhwc")

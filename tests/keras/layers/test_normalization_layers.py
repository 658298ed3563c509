"""BatchNormalization, LayerNormalization, GroupNormalization: contract, gradients, Keras oracle."""

from __future__ import annotations

import numpy as np
import pytest
from layer_check import check_against_keras, check_layer, check_layer_gradients

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers


@pytest.fixture(scope="module")
def tk():
    """tf.keras (Keras 3 on TensorFlow), or skip."""
    ktf = pytest.importorskip("tensorflow")
    return ktf.keras


def _x(shape, seed=0, scale=1.0, shift=0.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + shift).astype("float32")


# --- contract -------------------------------------------------------------------------------


@pytest.mark.parametrize("axis, shape", [(-1, (4, 3)), (-1, (2, 3, 3, 4)), (1, (2, 4, 3, 3))])
def test_batchnorm_contract(axis, shape):
    c = shape[axis]
    layer = check_layer(
        lambda: layers.BatchNormalization(axis=axis),
        shape,
        expected_output_shape=shape,
        expected_weight_shapes=[(c,)] * 4,
        expected_num_trainable=2,
        expected_num_non_trainable=2,
    )
    assert [w.name.split(":")[0] for w in layer.weights] == [
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
    ]


def test_batchnorm_without_center_scale():
    check_layer(
        lambda: layers.BatchNormalization(center=False, scale=False),
        (4, 3),
        expected_weight_shapes=[(3,), (3,)],
        expected_num_trainable=0,
    )


@pytest.mark.parametrize(
    "kwargs, shape, wshape",
    [
        ({}, (3, 5), (5,)),
        ({"axis": [1, 2]}, (2, 3, 4), (3, 4)),
        ({"axis": 1}, (2, 3, 4), (3,)),
        ({"rms_scaling": True}, (3, 5), (5,)),
    ],
)
def test_layernorm_contract(kwargs, shape, wshape):
    n = 1 if kwargs.get("rms_scaling") else 2
    check_layer(
        lambda: layers.LayerNormalization(**kwargs),
        shape,
        expected_output_shape=shape,
        expected_weight_shapes=[wshape] * n,
    )


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({"groups": 2}, (2, 5, 4)),
        ({"groups": -1}, (2, 3, 3, 4)),
        ({"groups": 2, "axis": 1}, (2, 4, 3, 3)),
    ],
)
def test_groupnorm_contract(kwargs, shape):
    c = shape[kwargs.get("axis", -1)]
    check_layer(
        lambda: layers.GroupNormalization(**kwargs),
        shape,
        expected_output_shape=shape,
        expected_weight_shapes=[(c,), (c,)],
    )


def test_normalization_defaults_are_keras3():
    bn = layers.BatchNormalization()
    assert (bn.axis, bn.momentum, bn.epsilon, bn.center, bn.scale) == (-1, 0.99, 1e-3, True, True)
    ln = layers.LayerNormalization()
    assert (ln.axis, ln.epsilon, ln.rms_scaling) == (-1, 1e-3, False)
    gn = layers.GroupNormalization()
    assert (gn.groups, gn.axis, gn.epsilon) == (32, -1, 1e-3)


# --- semantics ------------------------------------------------------------------------------


def test_batchnorm_training_normalizes_and_updates_moving_stats():
    x = _x((64, 3), scale=2.0, shift=5.0)
    bn = layers.BatchNormalization(momentum=0.9)
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(y.var(0), x.var(0) / (x.var(0) + 1e-3), rtol=1e-4)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 + 0.1 * x.var(0), rtol=1e-5)
    # Inference uses the moving statistics and leaves them alone.
    before = bn.moving_mean.numpy()
    y_inf = bn(x, training=False).numpy()
    expected = (x - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() + 1e-3)
    np.testing.assert_allclose(y_inf, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)


def test_frozen_batchnorm_runs_in_inference_mode():
    x = _x((16, 3), shift=3.0)
    bn = layers.BatchNormalization()
    bn(x, training=False)
    bn.set_weights([np.full(3, 2.0), np.full(3, 0.5), np.full(3, 1.0), np.full(3, 4.0)])
    bn.trainable = False
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y, 2.0 * (x - 1.0) / np.sqrt(4.0 + 1e-3) + 0.5, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.full(3, 1.0, "float32"))
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4


def test_batchnorm_training_flag_from_outer_call():
    x = _x((32, 4), shift=2.0)
    bn = layers.BatchNormalization()
    model = keras.Sequential([keras.Input((4,)), bn])
    y = model(x, training=True).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-4)
    assert np.all(bn.moving_mean.numpy() != 0)


def test_batchnorm_mask_leaves_masked_steps_out():
    x = _x((2, 5, 3))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], bool)
    bn = layers.BatchNormalization(momentum=0.0)
    bn(x, training=True, mask=mask)
    kept = x[mask]
    np.testing.assert_allclose(bn.moving_mean.numpy(), kept.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), kept.var(0), rtol=1e-4, atol=1e-5)


def test_layernorm_and_groupnorm_values():
    x = _x((3, 8), shift=1.0)
    y = layers.LayerNormalization()(x).numpy()
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    y = layers.GroupNormalization(groups=2)(x).numpy()
    g = x.reshape(3, 2, 4)
    ref = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-3)).reshape(3, 8)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_integer_input_is_cast():
    y = layers.LayerNormalization()(np.arange(12, dtype="int32").reshape(3, 4))
    assert y.dtype == tf.float32


# --- gradients (float64) --------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, shape, training",
    [
        (lambda: layers.BatchNormalization(dtype="float64"), (5, 3), True),
        (lambda: layers.BatchNormalization(axis=1, dtype="float64"), (3, 2, 2, 2), True),
        (lambda: layers.BatchNormalization(dtype="float64"), (5, 3), False),
        (lambda: layers.LayerNormalization(dtype="float64"), (3, 4), None),
        (lambda: layers.LayerNormalization(axis=[1, 2], dtype="float64"), (2, 3, 2), None),
        (lambda: layers.LayerNormalization(rms_scaling=True, dtype="float64"), (3, 4), None),
        (lambda: layers.GroupNormalization(groups=2, dtype="float64"), (2, 3, 4), None),
        (lambda: layers.GroupNormalization(groups=2, axis=1, dtype="float64"), (2, 4, 3), None),
    ],
)
def test_normalization_gradients(make, shape, training):
    layer = make()
    x = np.random.default_rng(1).standard_normal(shape)
    layer(x, training=False)
    # Random scale/shift so gamma and beta are not the identity.
    layer.set_weights([w + np.random.default_rng(2).uniform(0.2, 0.5, w.shape) for w in layer.get_weights()])
    check_layer_gradients(layer, x, training=training)


# --- bad input ------------------------------------------------------------------------------


def test_bad_input_messages():
    bn = layers.BatchNormalization(name="bn_bad")
    bn(_x((2, 3, 4)))
    with pytest.raises(ValueError, match=r"bn_bad.*expected ndim=3, found ndim=2"):
        bn(_x((2, 4)))
    with pytest.raises(ValueError, match=r"bn_bad.*value 4.*\(2, 3, 5\)"):
        bn(_x((2, 3, 5)))
    with pytest.raises(ValueError, match=r"GroupNormalization.*groups \(3\).*channels \(4\)"):
        layers.GroupNormalization(groups=3)(_x((2, 4)))
    with pytest.raises(ValueError, match=r"axis 3 is out of bounds.*rank 2"):
        layers.LayerNormalization(axis=3)(_x((2, 4)))


# --- Keras oracle ---------------------------------------------------------------------------


@pytest.mark.oracle
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (6, 3)),
        ({"axis": 1, "momentum": 0.8}, (3, 4, 2, 2)),
        ({"center": False, "epsilon": 0.01}, (2, 3, 3, 4)),
    ],
)
def test_batchnorm_matches_keras(tk, kwargs, shape, training):
    x = _x(shape, shift=1.5, scale=2.0)
    check_against_keras(
        lambda: layers.BatchNormalization(**kwargs),
        lambda: tk.layers.BatchNormalization(**kwargs),
        x,
        training=training,
    )


@pytest.mark.oracle
def test_frozen_batchnorm_matches_keras(tk):
    x = _x((6, 3), shift=1.0)

    def ours():
        layer = layers.BatchNormalization()
        layer.trainable = False
        return layer

    def theirs():
        layer = tk.layers.BatchNormalization()
        layer.trainable = False
        return layer

    check_against_keras(ours, theirs, x, training=True)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (3, 5)),
        ({"axis": [1, 2], "epsilon": 1e-5}, (2, 3, 4)),
        ({"rms_scaling": True}, (3, 5)),
        ({"scale": False}, (2, 3, 4)),
    ],
)
def test_layernorm_matches_keras(tk, kwargs, shape):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_against_keras(
            lambda: layers.LayerNormalization(**kwargs),
            lambda: tk.layers.LayerNormalization(**kwargs),
            _x(shape, shift=0.5),
            training=True,
        )


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({"groups": 2}, (2, 5, 4)),
        ({"groups": -1}, (2, 3, 3, 4)),
        ({"groups": 2, "axis": 1}, (2, 4, 3, 3)),
    ],
)
def test_groupnorm_matches_keras(tk, kwargs, shape):
    check_against_keras(
        lambda: layers.GroupNormalization(**kwargs),
        lambda: tk.layers.GroupNormalization(**kwargs),
        _x(shape, shift=0.5),
        training=True,
    )

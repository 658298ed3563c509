"""Convolution layers: contract, float64 gradients, tf.keras oracle, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from layer_check import check_against_keras, check_layer, check_layer_gradients

from tapeflow import keras
from tapeflow.keras import layers


@pytest.fixture(scope="module")
def tk():
    ktf = pytest.importorskip("tensorflow")
    return ktf.keras


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


# (class, kwargs, input shape, output shape, weight shapes)
CASES = [
    ("Conv1D", {"filters": 4, "kernel_size": 3}, (2, 7, 3), (2, 5, 4), [(3, 3, 4), (4,)]),
    (
        "Conv1D",
        {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
        (2, 7, 3),
        (2, 7, 4),
        [(3, 3, 4), (4,)],
    ),
    # NOTE: channels_first cases keep the last output axis != filters: Keras 3's TF backend turns
    # that bias add into tf.nn.bias_add on the wrong axis (keras.ops.add's bias heuristic).
    (
        "Conv1D",
        {"filters": 5, "kernel_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
        (2, 3, 7),
        (2, 5, 4),
        [(3, 3, 5), (5,)],
    ),
    (
        "Conv1D",
        {"filters": 4, "kernel_size": 2, "groups": 2, "activation": "tanh"},
        (2, 6, 4),
        (2, 5, 4),
        [(2, 2, 4), (4,)],
    ),
    ("Conv2D", {"filters": 4, "kernel_size": 3}, (2, 6, 6, 3), (2, 4, 4, 4), [(3, 3, 3, 4), (4,)]),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": (3, 2), "strides": 2, "padding": "same"},
        (2, 7, 6, 3),
        (2, 4, 3, 4),
        [(3, 2, 3, 4), (4,)],
    ),
    (
        "Conv2D",
        {
            "filters": 4,
            "kernel_size": 3,
            "dilation_rate": 2,
            "data_format": "channels_first",
            "use_bias": False,
        },
        (2, 3, 7, 7),
        (2, 4, 3, 3),
        [(3, 3, 3, 4)],
    ),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 3, "groups": 2, "activation": "sigmoid", "padding": "same"},
        (2, 5, 5, 4),
        (2, 5, 5, 4),
        [(3, 3, 2, 4), (4,)],
    ),
    ("Conv3D", {"filters": 2, "kernel_size": 2}, (1, 4, 4, 3, 2), (1, 3, 3, 2, 2), [(2, 2, 2, 2, 2), (2,)]),
    (
        "Conv3D",
        {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
        (1, 2, 5, 4, 5),
        (1, 2, 3, 2, 3),
        [(3, 3, 3, 2, 2), (2,)],
    ),
    (
        "Conv1DTranspose",
        {"filters": 3, "kernel_size": 3, "strides": 2},
        (2, 4, 2),
        (2, 9, 3),
        [(3, 3, 2), (3,)],
    ),
    (
        "Conv1DTranspose",
        {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
        (2, 4, 2),
        (2, 8, 3),
        [(3, 3, 2), (3,)],
    ),
    (
        "Conv2DTranspose",
        {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
        (2, 4, 4, 2),
        (2, 8, 8, 3),
        [(3, 3, 3, 2), (3,)],
    ),
    (
        "Conv2DTranspose",
        {"filters": 3, "kernel_size": (3, 2), "strides": (2, 1), "output_padding": (1, 0)},
        (2, 4, 4, 2),
        (2, 10, 5, 3),
        [(3, 2, 3, 2), (3,)],
    ),
    (
        "Conv2DTranspose",
        {
            "filters": 3,
            "kernel_size": 3,
            "strides": 2,
            "padding": "same",
            "output_padding": 1,
            "data_format": "channels_first",
        },
        (2, 2, 4, 4),
        (2, 3, 8, 8),
        [(3, 3, 3, 2), (3,)],
    ),
    (
        "Conv2DTranspose",
        {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "activation": "relu"},
        (2, 4, 4, 2),
        (2, 8, 8, 3),
        [(3, 3, 3, 2), (3,)],
    ),
    (
        "Conv3DTranspose",
        {"filters": 2, "kernel_size": 2, "strides": 2},
        (1, 2, 2, 2, 3),
        (1, 4, 4, 4, 2),
        [(2, 2, 2, 2, 3), (2,)],
    ),
    (
        "DepthwiseConv2D",
        {"kernel_size": 3, "depth_multiplier": 2},
        (2, 5, 5, 3),
        (2, 3, 3, 6),
        [(3, 3, 3, 2), (6,)],
    ),
    (
        "DepthwiseConv2D",
        {"kernel_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
        (2, 3, 8, 8),
        (2, 3, 4, 4),
        [(3, 3, 3, 1), (3,)],
    ),
    (
        "DepthwiseConv2D",
        {"kernel_size": 2, "dilation_rate": 2, "use_bias": False},
        (2, 5, 5, 2),
        (2, 3, 3, 2),
        [(2, 2, 2, 1)],
    ),
    (
        "SeparableConv2D",
        {"filters": 4, "kernel_size": 3, "depth_multiplier": 2, "padding": "same"},
        (2, 5, 5, 3),
        (2, 5, 5, 4),
        [(3, 3, 3, 2), (1, 1, 6, 4), (4,)],
    ),
    (
        "SeparableConv2D",
        {"filters": 4, "kernel_size": 3, "strides": 2, "data_format": "channels_first", "activation": "relu"},
        (2, 3, 7, 7),
        (2, 4, 3, 3),
        [(3, 3, 3, 1), (1, 1, 3, 4), (4,)],
    ),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls, kwargs, shape, out, wshapes", CASES, ids=IDS)
def test_contract(cls, kwargs, shape, out, wshapes):
    check_layer(
        lambda: getattr(layers, cls)(**kwargs),
        shape,
        expected_output_shape=out,
        expected_weight_shapes=wshapes,
        expected_num_trainable=len(wshapes),
    )


@pytest.mark.parametrize("cls, kwargs, shape, out, wshapes", CASES, ids=IDS)
def test_gradients(cls, kwargs, shape, out, wshapes):
    kwargs = dict(kwargs)
    if kwargs.get("activation") == "relu":
        kwargs["activation"] = "softplus"  # smooth, so central differences are exact enough
    layer = getattr(layers, cls)(dtype="float64", **kwargs)
    x = _x(shape, seed=1).astype("float64")
    layer(x)
    layer.set_weights([np.random.default_rng(2).standard_normal(w.shape) * 0.5 for w in layer.get_weights()])
    check_layer_gradients(layer, x)


def test_keras_defaults():
    conv = layers.Conv2D(8, 3)
    assert (conv.strides, conv.padding, conv.data_format, conv.dilation_rate, conv.groups, conv.use_bias) == (
        (1, 1),
        "valid",
        "channels_last",
        (1, 1),
        1,
        True,
    )
    dw = layers.DepthwiseConv2D(3)
    assert dw.depth_multiplier == 1 and dw.strides == (1, 1)
    tr = layers.Conv2DTranspose(4, 3)
    assert tr.output_padding is None and tr.padding == "valid"


def test_causal_conv1d_sees_only_the_past():
    layer = layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = _x((1, 9, 2))
    y = layer(x).numpy()
    x2 = x.copy()
    x2[:, 5:] += 10.0
    y2 = layer(x2).numpy()
    np.testing.assert_array_equal(y[:, :5], y2[:, :5])
    assert not np.allclose(y[:, 5:], y2[:, 5:])


def test_conv2d_with_extra_batch_axes():
    layer = layers.Conv2D(3, 2)
    x = _x((2, 3, 5, 5, 2))
    y = layer(x)
    assert tuple(y.shape) == (2, 3, 4, 4, 3)
    np.testing.assert_allclose(y.numpy().reshape(6, 4, 4, 3), layer(x.reshape(6, 5, 5, 2)).numpy(), rtol=1e-6)


def test_integer_input_is_cast():
    y = layers.Conv2D(2, 2)(np.ones((1, 3, 3, 1), dtype="int32"))
    assert y.dtype.name == "float32"


def test_cnn_functional_summary_shapes():
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(32, 5, padding="same", activation="relu")(inputs)
    x = layers.SeparableConv2D(16, 3, strides=2)(x)
    x = layers.Conv2DTranspose(8, 3, strides=2, padding="same")(x)
    assert tuple(x.shape) == (None, 26, 26, 8)


# --- bad input ------------------------------------------------------------------------------


def test_wrong_rank_names_layer_and_rank():
    layer = layers.Conv2D(4, 3, name="conv_rank")
    with pytest.raises(ValueError, match=r"conv_rank.*(min_ndim=4|rank 4).*\(2, 6, 3\)"):
        layer(_x((2, 6, 3)))
    with pytest.raises(ValueError, match=r"conv3d_rank.*ndim=5, found ndim=4"):
        layers.Conv3D(2, 2, name="conv3d_rank")(_x((2, 4, 4, 3)))
    with pytest.raises(ValueError, match=r"dw_rank.*ndim=4, found ndim=3"):
        layers.DepthwiseConv2D(3, name="dw_rank")(_x((2, 4, 3)))


def test_kernel_larger_than_valid_input_names_both_sizes():
    with pytest.raises(ValueError, match=r"conv_big.*kernel size \(5, 5\).*spatial size \(3, 4\)"):
        layers.Conv2D(4, 5, name="conv_big")(_x((1, 3, 4, 2)))
    with pytest.raises(ValueError, match=r"dilated kernel size \(5,\).*spatial size \(4,\)"):
        layers.Conv1D(4, 3, dilation_rate=2)(_x((1, 4, 2)))
    with pytest.raises(ValueError, match=r"kernel size \(5, 5\).*spatial size \(3, 3\)"):
        layers.Conv2D(4, 5)(keras.Input((3, 3, 1)))
    # SAME padding accepts it.
    assert tuple(layers.Conv2D(4, 5, padding="same")(_x((1, 3, 4, 2))).shape) == (1, 3, 4, 4)


def test_channel_mismatch_after_build_names_both():
    layer = layers.Conv2D(4, 3, name="conv_chan")
    layer(_x((1, 5, 5, 3)))
    with pytest.raises(ValueError, match=r"conv_chan.*value 3.*\(1, 5, 5, 2\)"):
        layer(_x((1, 5, 5, 2)))
    with pytest.raises(ValueError, match=r"divisible by groups=2"):
        layers.Conv2D(4, 3, groups=2)(_x((1, 5, 5, 3)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="filters"):
        layers.Conv2D(0, 3)
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="output_padding"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="kernel_size"):
        layers.Conv2D(2, (3, 3, 3))


# --- Keras oracle ---------------------------------------------------------------------------


@pytest.mark.oracle
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("cls, kwargs, shape, out, wshapes", CASES, ids=IDS)
def test_matches_keras(tk, cls, kwargs, shape, out, wshapes, training):
    check_against_keras(
        lambda: getattr(layers, cls)(**kwargs),
        lambda: getattr(tk.layers, cls)(**kwargs),
        _x(shape),
        training=training,
    )

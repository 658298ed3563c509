"""The fused convolution primitive: activation(conv(x, w) + bias), against the unfused ops."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.ops import conv_algorithms as conv_ops
from tapeflow.ops.fused_conv import ConvBiasActivation, conv_bias_activation
from tapeflow.testing import OpCase, run_case


@pytest.fixture(params=["im2col", "fft"])
def algorithm(request, monkeypatch):
    monkeypatch.setattr(conv_ops, "ALGORITHM", request.param)
    return request.param


def _fused(act, strides=1, padding="SAME", data_format=None, dilations=None, rank=2, bias=True):
    if bias:
        return lambda x, w, b: conv_bias_activation(x, w, b, strides, padding, act, data_format,
                                                    dilations, rank)
    return lambda x, w: conv_bias_activation(x, w, None, strides, padding, act, data_format,
                                             dilations, rank)


def _sq(f):
    return lambda *a: f(*a) ** 2


CASES = []
for act in ("linear", "relu", "sigmoid", "tanh"):
    CASES += [
        OpCase(f"{act}/same", _fused(act), [(2, 5, 6, 3), (3, 3, 3, 4), (4,)]),
        OpCase(f"{act}/no_bias", _fused(act, bias=False), [(2, 5, 4, 2), (3, 3, 2, 3)]),
    ]
CASES += [
    # 4+ input channels: the row-major column matrix (fewer: tap-major), with its ones column.
    OpCase("relu/rows", _fused("relu"), [(2, 5, 6, 5), (3, 3, 5, 3), (3,)]),
    OpCase("linear/rows_stride2", _fused("linear", 2, "SAME"), [(2, 7, 6, 4), (3, 2, 4, 3), (3,)]),
    OpCase("relu/1x1", _fused("relu", 1, "VALID"), [(2, 3, 4, 5), (1, 1, 5, 3), (3,)]),
    OpCase("relu/valid_stride2", _fused("relu", 2, "VALID"), [(2, 7, 8, 2), (3, 3, 2, 3), (3,)]),
    OpCase("relu/dilation", _fused("relu", 1, "SAME", dilations=2), [(1, 6, 7, 2), (3, 3, 2, 2), (2,)]),
    OpCase("relu/nchw", _fused("relu", 1, "SAME", data_format="NCHW"), [(2, 3, 5, 6), (3, 3, 3, 2), (2,)]),
    OpCase("relu/grouped", _fused("relu"), [(1, 4, 4, 4), (3, 3, 2, 6), (6,)]),
    OpCase("relu/batch_shape", _fused("relu"), [(2, 2, 4, 4, 2), (3, 3, 2, 2), (2,)]),
    OpCase("tanh/conv1d", _fused("tanh", rank=1), [(2, 9, 3), (3, 3, 4), (4,)]),
    OpCase("relu/conv3d", _fused("relu", rank=3), [(1, 4, 3, 4, 2), (3, 2, 3, 2, 2), (2,)]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fused_conv_gradients(case, algorithm):
    run_case(case, second_order=False)


SECOND_ORDER = [
    OpCase("relu", _sq(_fused("relu")), [(1, 4, 4, 2), (3, 3, 2, 2), (2,)]),
    OpCase("sigmoid", _fused("sigmoid"), [(1, 4, 4, 2), (3, 3, 2, 2), (2,)]),
    OpCase("tanh/stride2", _fused("tanh", 2, "VALID"), [(1, 5, 6, 2), (2, 2, 2, 2), (2,)]),
    OpCase("linear/no_bias", _sq(_fused("linear", bias=False)), [(1, 4, 4, 2), (3, 3, 2, 2)]),
    OpCase("relu/rows", _sq(_fused("relu")), [(1, 4, 4, 4), (3, 3, 4, 2), (2,)]),
]


@pytest.mark.parametrize("case", SECOND_ORDER, ids=lambda c: c.name)
def test_fused_conv_second_order(case, algorithm):
    run_case(case, second_order=True)


@pytest.mark.parametrize("channels", [3, 6])
@pytest.mark.parametrize("act", ["linear", "relu", "sigmoid", "tanh"])
def test_fused_matches_unfused_ops(act, channels, algorithm):
    """Values and gradients equal conv2d + bias + activation, also with a persistent tape
    asked twice (the forward pass's cached spectra or columns must stay valid)."""
    rng = np.random.default_rng(3)
    x = tf.constant(rng.standard_normal((3, 9, 8, channels)).astype("float32"))
    w = tf.constant(rng.standard_normal((5, 5, channels, 4)).astype("float32") * 0.3)
    b = tf.constant(rng.standard_normal(4).astype("float32"))
    up = tf.constant(rng.standard_normal((3, 9, 8, 4)).astype("float32"))
    activation = {"linear": lambda t: t, "relu": tf.nn.relu, "sigmoid": tf.sigmoid, "tanh": tf.tanh}[act]
    results = []
    for fused in (True, False):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([x, w, b])
            if fused:
                y = conv_bias_activation(x, w, b, 1, "SAME", act)
            else:
                y = activation(tf.nn.conv2d(x, w, 1, "SAME") + b)
            loss = tf.reduce_sum(y * up)
        first = tape.gradient(loss, [x, w, b])
        second = tape.gradient(loss, [x, w, b])
        for g1, g2 in zip(first, second, strict=True):
            np.testing.assert_array_equal(g1.numpy(), g2.numpy())
        results.append([y.numpy()] + [g.numpy() for g in first])
    for a, c in zip(*results, strict=True):
        np.testing.assert_allclose(a, c, rtol=2e-4, atol=2e-4)


def test_keras_conv_layers_use_the_fused_primitive(monkeypatch):
    from tapeflow import keras

    calls = []
    orig = ConvBiasActivation.forward

    def spy(self, *arrays):
        calls.append(self.activation)
        return orig(self, *arrays)

    monkeypatch.setattr(ConvBiasActivation, "forward", spy)
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype("float32")
    for activation, fused in (("relu", "relu"), (None, "linear"), ("tanh", "tanh"), ("sigmoid", "linear")):
        layer = keras.layers.Conv2D(4, 3, padding="same", activation=activation)
        y = layer(x)
        assert calls[-1] == fused
        kernel, bias = layer.get_weights()
        ref = tf.nn.conv2d(x, kernel, 1, "SAME") + bias
        ref = {"relu": tf.nn.relu, None: lambda t: t, "tanh": tf.tanh, "sigmoid": tf.sigmoid}[activation](ref)
        np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)
    n = len(calls)
    keras.layers.Conv2D(4, 3, activation="elu")(x)  # no fused form: the separate ops
    assert len(calls) == n


def test_bias_shape_is_checked():
    x = tf.ones((1, 5, 5, 2))
    w = tf.ones((3, 3, 2, 4))
    with pytest.raises(ValueError, match=r"expected a bias of shape \(4,\)"):
        conv_bias_activation(x, w, tf.ones((3,)), 1, "SAME", "relu")
    with pytest.raises(ValueError, match="activation must be one of"):
        conv_bias_activation(x, w, tf.ones((4,)), 1, "SAME", "elu")

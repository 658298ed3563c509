"""keras.activations: values against Keras 3, float64 gradients, lookup and logits links."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import activations
from tapeflow.testing import check_gradients


@pytest.fixture(scope="module")
def K():
    return pytest.importorskip("keras", minversion="3")


X = np.linspace(-4.0, 4.0, 24, dtype="float32").reshape(4, 6) + 0.01

CASES = [
    ("relu", {}), ("relu", {"negative_slope": 0.1}), ("relu", {"max_value": 2.0}),
    ("relu", {"threshold": 1.0}), ("relu", {"negative_slope": 0.2, "max_value": 3.0, "threshold": 0.5}),
    ("relu", {"max_value": 6}), ("sigmoid", {}), ("tanh", {}), ("softmax", {}), ("softmax", {"axis": 0}),
    ("log_softmax", {}), ("log_softmax", {"axis": 0}), ("softplus", {}), ("softsign", {}), ("elu", {}),
    ("elu", {"alpha": 0.5}), ("selu", {}), ("gelu", {}), ("gelu", {"approximate": True}), ("silu", {}),
    ("swish", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.05}), ("relu6", {}),
    ("hard_sigmoid", {}), ("hard_silu", {}), ("hard_swish", {}), ("exponential", {}), ("linear", {}),
    ("log_sigmoid", {}), ("mish", {}), ("celu", {"alpha": 0.7}), ("hard_tanh", {}), ("tanh_shrink", {}),
    ("soft_shrink", {}), ("hard_shrink", {"threshold": 1.0}), ("squareplus", {}), ("sparse_plus", {}),
    ("glu", {}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(K, name, kwargs):
    got = np.asarray(activations.get(name)(tf.constant(X), **kwargs))
    want = np.asarray(getattr(K.activations, name)(X, **kwargs))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)
    assert got.dtype == np.float32


def test_softmax_axis_none():
    out = activations.softmax(tf.constant(X), axis=None).numpy()
    assert out.sum() == pytest.approx(1.0, rel=1e-5) and out.shape == X.shape


GRAD_CASES = [c for c in CASES if c[0] not in ("relu6",)] + [("relu6", {})]


@pytest.mark.parametrize("name,kwargs", GRAD_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(GRAD_CASES)])
def test_gradients_float64(name, kwargs):
    # Points away from every kink (0, +-0.5, +-1, 3, 6, thresholds) so differences are smooth.
    x = np.array([[-3.3, -1.7, -0.7, -0.3, 0.2, 0.7], [1.3, 1.7, 2.2, 2.6, 3.4, 7.0]])
    fn = activations.get(name)
    check_gradients(lambda t: fn(t, **kwargs), [x])


def test_get_and_serialize():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get("swish") is activations.silu
    fn = lambda x: x * 2  # noqa: E731
    assert activations.get(fn) is fn
    with pytest.raises(ValueError, match="Valid names:.*relu"):
        activations.get("rleu")
    for name in activations._ALL:
        assert activations.deserialize(activations.serialize(activations.get(name))) is activations.get(name)
    assert activations.deserialize({"module": "keras.activations", "class_name": "function",
                                    "config": "tanh", "registered_name": "tanh"}) is activations.tanh
    assert activations.serialize(None) is None


def test_sigmoid_and_softmax_remember_their_logits():
    z = tf.constant([[1.0, 2.0]])
    p = activations.softmax(z)
    assert activations.keras_logits(p, "softmax") is z
    assert activations.keras_logits(p, "sigmoid") is None
    s = activations.sigmoid(z)
    assert activations.keras_logits(s, "sigmoid") is z
    assert activations.keras_logits(tf.nn.softmax(z), "softmax") is None
    assert activations.keras_logits(activations.softmax(z, axis=0), "softmax") is None

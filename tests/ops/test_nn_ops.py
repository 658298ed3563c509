"""`tf.nn`: activations, softmax family, cross-entropies, moments, bias_add, dropout."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import OpCase, available_devices, run_case

LABELS = np.array([[0, 2, 1], [3, 3, 0]])  # sparse labels for logits (2, 3, 4)
ROW_LABELS = np.array([4, 0, 2, 2])  # sparse labels for probabilities (4, 5)
UNNORMALIZED = np.random.default_rng(11).uniform(0.05, 0.9, (4, 5))


def _dropout_fixed(x):
    tf.random.set_seed(7)  # the same mask on every evaluation
    return tf.nn.dropout(x, rate=0.4, seed=3)


CASES = [
    OpCase("relu", tf.nn.relu, [(3, 4)], domain="nonzero"),
    OpCase("relu6", tf.nn.relu6, [np.array([-1.0, 0.5, 3.0, 5.5, 6.5, 9.0])]),
    OpCase("leaky_relu", tf.nn.leaky_relu, [(3, 4)], domain="nonzero"),
    OpCase("leaky_relu/alpha", lambda x: tf.nn.leaky_relu(x, alpha=0.01), [(3, 4)], domain="nonzero"),
    OpCase("elu", tf.nn.elu, [(3, 4)], domain="nonzero"),
    OpCase("selu", tf.nn.selu, [(3, 4)], domain="nonzero"),
    OpCase("gelu", tf.nn.gelu, [(3, 4)]),
    OpCase("gelu/approximate", lambda x: tf.nn.gelu(x, approximate=True), [(3, 4)]),
    OpCase("softplus", tf.nn.softplus, [(3, 4)], domain="nonzero"),
    OpCase("softsign", tf.nn.softsign, [(3, 4)], domain="nonzero"),
    OpCase("silu", tf.nn.silu, [(3, 4)]),
    OpCase("swish/beta", lambda x: tf.nn.swish(x, beta=1.5), [(3, 4)]),
    OpCase("sigmoid", tf.nn.sigmoid, [(3, 4)]),
    OpCase("tanh", tf.nn.tanh, [(3, 4)]),
    OpCase("log_sigmoid", tf.math.log_sigmoid, [(3, 4)]),
    OpCase("softmax", tf.nn.softmax, [(3, 4)]),
    OpCase("softmax/axis0", lambda x: tf.nn.softmax(x, axis=0), [(3, 4)]),
    OpCase("softmax/rank3_axis1", lambda x: tf.nn.softmax(x, axis=1), [(2, 3, 4)]),
    OpCase("log_softmax", tf.nn.log_softmax, [(3, 4)]),
    OpCase("log_softmax/axis0", lambda x: tf.nn.log_softmax(x, axis=0), [(3, 4)]),
    OpCase("sigmoid_cross_entropy_with_logits",
           lambda y, z: tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z), [(3, 4), (3, 4)],
           domain=["unit", "normal"]),
    OpCase("softmax_cross_entropy_with_logits",
           lambda y, z: tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=z), [(3, 4), (3, 4)],
           domain=["prob", "normal"]),
    OpCase("softmax_cross_entropy_with_logits/axis0",
           lambda y, z: tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=z, axis=0), [(4, 3), (4, 3)],
           domain=["normal", "normal"]),
    OpCase("sparse_softmax_cross_entropy_with_logits",
           lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=LABELS, logits=z), [(2, 3, 4)]),
    OpCase("keras_sparse_cce_from_probs",
           lambda p: tf.keras.losses.sparse_categorical_crossentropy(ROW_LABELS, p), [(4, 5)], domain="prob"),
    OpCase("keras_sparse_cce_from_probs/unnormalized",
           lambda p: tf.keras.losses.sparse_categorical_crossentropy(ROW_LABELS, p), [UNNORMALIZED]),
    OpCase("l2_loss", tf.nn.l2_loss, [(3, 4)]),
    OpCase("l2_normalize", lambda x: tf.math.l2_normalize(x, axis=-1), [(3, 4)]),
    OpCase("bias_add", tf.nn.bias_add, [(2, 3, 4), (4,)]),
    OpCase("bias_add/NCHW", lambda x, b: tf.nn.bias_add(x, b, data_format="NCHW"), [(2, 3, 2, 2), (3,)]),
    OpCase("moments/mean", lambda x: tf.nn.moments(x, axes=[0])[0], [(4, 3)]),
    OpCase("moments/variance", lambda x: tf.nn.moments(x, axes=[0, 1])[1], [(4, 3, 2)]),
    OpCase("moments/keepdims", lambda x: list(tf.nn.moments(x, axes=[1], keepdims=True)), [(4, 3)]),
    OpCase("dropout/fixed_seed", _dropout_fixed, [(4, 5)]),
]


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradients(case: OpCase, device: str) -> None:
    with tf.device(device):
        run_case(case)


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------

def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_activation_values() -> None:
    x = np.linspace(-4, 8, 13).astype(np.float32)
    np.testing.assert_allclose(tf.nn.relu(x).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(tf.nn.relu6(x).numpy(), np.clip(x, 0, 6))
    np.testing.assert_allclose(tf.nn.leaky_relu(x).numpy(), np.where(x > 0, x, 0.2 * x), rtol=1e-6)
    np.testing.assert_allclose(tf.nn.elu(x).numpy(), np.where(x > 0, x, np.expm1(x)), rtol=1e-6)
    selu = 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x))
    np.testing.assert_allclose(tf.nn.selu(x).numpy(), selu, rtol=1e-6)
    erf = np.vectorize(math.erf)
    gelu = 0.5 * x * (1 + erf(x / np.sqrt(2)))
    np.testing.assert_allclose(tf.nn.gelu(x).numpy(), gelu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tf.nn.softplus(x).numpy(), np.log1p(np.exp(x)), rtol=1e-6)
    np.testing.assert_allclose(tf.nn.softsign(x).numpy(), x / (1 + np.abs(x)), rtol=1e-6)
    np.testing.assert_allclose(tf.nn.silu(x).numpy(), x / (1 + np.exp(-x)), rtol=1e-5)
    assert tf.nn.swish is tf.nn.silu


def test_softmax_family_values_and_stability() -> None:
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_allclose(tf.nn.softmax(x).numpy(), _np_softmax(x), rtol=1e-5)
    np.testing.assert_allclose(tf.nn.softmax(x, axis=0).numpy(), _np_softmax(x, 0), rtol=1e-5)
    np.testing.assert_allclose(tf.nn.log_softmax(x).numpy(), np.log(_np_softmax(x)), rtol=1e-5, atol=1e-6)
    big = tf.constant([[1000.0, 0.0, -1000.0]])
    assert np.isfinite(tf.nn.log_softmax(big).numpy()).all()
    np.testing.assert_allclose(tf.nn.softmax(big).numpy(), [[1.0, 0.0, 0.0]])


def test_softmax_family_many_rows_with_non_finite_values() -> None:
    """From 32 rows on the row maximum is taken with argmax: same values, inf and nan included."""
    x = np.random.default_rng(2).standard_normal((40, 7)).astype(np.float32) * 30
    x[1, 3] = np.nan
    x[2, :] = -np.inf
    x[3, 2] = np.inf
    x[4, 1], x[4, 5] = np.nan, np.inf
    with np.errstate(invalid="ignore", over="ignore"):
        m = x.max(axis=1, keepdims=True)
        e = np.exp(x - m)
        want = e / e.sum(axis=1, keepdims=True)
        want_log = x - m - np.log(e.sum(axis=1, keepdims=True))
        np.testing.assert_allclose(tf.nn.softmax(x).numpy(), want, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(tf.nn.log_softmax(x).numpy(), want_log, rtol=1e-5, atol=1e-6)
        labels = np.arange(40) % 7
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=x).numpy()
    finite = np.isfinite(x).all(axis=1)
    np.testing.assert_allclose(ce[finite], -want_log[finite, labels[finite]], rtol=1e-5, atol=1e-6)
    assert np.isnan(ce[[1, 2, 3, 4]]).all()


def test_cross_entropy_values() -> None:
    rng = np.random.default_rng(1)
    z = rng.standard_normal((4, 3)).astype(np.float32)
    labels = np.array([0, 2, 1, 2])
    onehot = np.eye(3, dtype=np.float32)[labels]
    want = -np.log(_np_softmax(z))[np.arange(4), labels]
    np.testing.assert_allclose(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=z).numpy(), want, rtol=1e-5)
    np.testing.assert_allclose(
        tf.nn.softmax_cross_entropy_with_logits(labels=onehot, logits=z).numpy(), want, rtol=1e-5)
    y = rng.uniform(0, 1, (4, 3)).astype(np.float32)
    sig = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z).numpy(),
                               -(y * np.log(sig) + (1 - y) * np.log(1 - sig)), rtol=1e-5, atol=1e-6)
    # Stable at extreme logits.
    ext = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant([1.0, 0.0]),
                                                  logits=tf.constant([-200.0, 200.0]))
    np.testing.assert_allclose(ext.numpy(), [200.0, 200.0])
    ext2 = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1], logits=[[500.0, -500.0]])
    np.testing.assert_allclose(ext2.numpy(), [1000.0])


def test_cross_entropy_errors() -> None:
    z = tf.zeros((2, 3))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"label value of 3 .* \[0, 3\)"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 3], logits=z)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"label value of -1 .* \[0, 3\)"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[-1, 2], logits=z)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"label value of -2 "):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=np.array([1, -2], "int32"), logits=z)
    with pytest.raises(ValueError, match=r"labels \(3,\) and logits \(2, 3\)"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 1, 2], logits=z)
    with pytest.raises(TypeError, match="labels must be integers"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0.0, 1.0], logits=z)
    with pytest.raises(ValueError, match=r"SoftmaxCrossEntropyWithLogits: .*\(2, 2\) and \(2, 3\)"):
        tf.nn.softmax_cross_entropy_with_logits(labels=tf.zeros((2, 2)), logits=z)


def test_l2_loss_bias_add_moments_values() -> None:
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    assert float(tf.nn.l2_loss(x)) == pytest.approx((x ** 2).sum() / 2)
    b = np.array([1.0, 2.0, 3.0], np.float32)
    np.testing.assert_array_equal(tf.nn.bias_add(x, b).numpy(), x + b)
    with pytest.raises(ValueError, match=r"BiasAdd: bias of size 2 .* last dimension 3 .*\(2, 3\)"):
        tf.nn.bias_add(x, np.zeros(2, np.float32))
    mean, var = tf.nn.moments(tf.constant(x), axes=[0])
    np.testing.assert_allclose(mean.numpy(), x.mean(0))
    np.testing.assert_allclose(var.numpy(), x.var(0))
    m2, v2 = tf.nn.moments(tf.constant(x), axes=[1], keepdims=True)
    assert m2.shape == (2, 1) and v2.shape == (2, 1)


def test_dropout_semantics() -> None:
    x = tf.ones((200, 50))
    y = tf.nn.dropout(x, rate=0.3, seed=1).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert tf.nn.dropout(x, rate=0.0) is x
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        tf.nn.dropout(x, rate=1.0)
    # The same global + op seed gives the same mask; noise_shape broadcasts the mask.
    tf.random.set_seed(3)
    a = tf.nn.dropout(x, 0.5, seed=2).numpy()
    tf.random.set_seed(3)
    b = tf.nn.dropout(x, 0.5, seed=2).numpy()
    np.testing.assert_array_equal(a, b)
    c = tf.nn.dropout(x, 0.5, noise_shape=[1, 50]).numpy()
    assert (c == c[0]).all()


@pytest.mark.parametrize("spread", [5.0, 39.0, 59.0, 70.0, 200.0])
def test_softmax_and_log_softmax_with_one_shift_for_all_rows_match_float64(spread):
    """Rows far below the array's maximum (up to the spread where one shift is used, and past
    it) keep their probabilities, log-probabilities and cross-entropies."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-1.0, 1.0, (64, 10))
    x[::2] -= spread - 2.0  # every other row sits far below the others
    x32 = x.astype(np.float32)
    ref = x32.astype(np.float64)
    ref_ls = ref - ref.max(1, keepdims=True)
    ref_ls -= np.log(np.exp(ref_ls).sum(1, keepdims=True))
    np.testing.assert_allclose(tf.nn.log_softmax(x32).numpy(), ref_ls, rtol=1e-6, atol=2e-6)
    np.testing.assert_allclose(tf.nn.softmax(x32).numpy(), np.exp(ref_ls), rtol=2e-6, atol=1e-30)
    labels = rng.integers(0, 10, 64)
    xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, x32).numpy()
    np.testing.assert_allclose(xent, -ref_ls[np.arange(64), labels], rtol=1e-6, atol=2e-6)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf - inf, as NumPy
def test_softmax_with_inf_or_nan_only_spoils_its_own_row():
    x = np.zeros((40, 4), np.float32)
    x[3, 1] = np.inf
    x[5, 2] = np.nan
    p = tf.nn.softmax(x).numpy()
    np.testing.assert_array_equal(p[0], np.full(4, 0.25, np.float32))
    assert np.isnan(p[3]).any() and np.isnan(p[5]).all()
    assert np.isfinite(np.delete(p, [3, 5], axis=0)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_crossentropy_from_probs_is_kerass_clip_log_softmax_composition(dtype):
    """The fused op equals log(clip(p)) fed to the sparse softmax cross-entropy (Keras's
    formula), values and gradients, with clipped entries (0 and 1) passing no gradient."""
    from tapeflow.ops import nn as nn_ops

    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(6), 50).astype(dtype)
    p[0, :] = [1.0, 0, 0, 0, 0, 0]  # a one-hot row: clipped at both ends
    p[1, 2] = 0.0
    labels = rng.integers(0, 6, 50)
    labels[0] = 0
    eps = 1e-7
    tp, tl = tf.constant(p), tf.constant(labels)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(tp)
        fused = nn_ops.sparse_crossentropy_from_probs(tl, tp, eps)
        composed = tf.nn.sparse_softmax_cross_entropy_with_logits(
            tl, tf.math.log(tf.clip_by_value(tp, eps, 1.0 - eps)))
        w = tf.constant(rng.uniform(0.5, 1.5, 50).astype(dtype))
        a, b = tf.reduce_sum(fused * w), tf.reduce_sum(composed * w)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=tol, atol=tol)
    ga, gb = tape.gradient(a, tp).numpy(), tape.gradient(b, tp).numpy()
    np.testing.assert_allclose(ga, gb, rtol=tol, atol=tol)
    assert ga[0, 0] == 0 and ga[1, 2] == 0  # clipped probabilities get no gradient
    assert type(fused._value) is type(tp._value) and fused.dtype == tf.as_dtype(dtype)  # same device


def test_keras_sparse_cce_from_probs_rejects_out_of_range_labels():
    with pytest.raises(tf.errors.InvalidArgumentError, match="label value of 5 .* \\[0, 5\\)"):
        tf.keras.losses.sparse_categorical_crossentropy(np.array([1, 5]), np.full((2, 5), 0.2, np.float32))

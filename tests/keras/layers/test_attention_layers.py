"""MultiHeadAttention: outputs, scores, masks and gradients against Keras; gradients in float64;
Functional use, a training step, config, errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)
Q = RNG.normal(size=(2, 4, 5)).astype("float32")
V = RNG.normal(size=(2, 6, 7)).astype("float32")
MASK = RNG.random((2, 4, 6)) > 0.3


def _pair(k, **kwargs):
    theirs = k.layers.MultiHeadAttention(num_heads=2, key_dim=3, **kwargs)
    theirs(Q, V)
    ours = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, **kwargs)
    ours(Q, V)
    ours.set_weights([np.asarray(w) for w in theirs.weights])
    return ours, theirs


@pytest.mark.oracle
@pytest.mark.parametrize("call", [{}, {"attention_mask": MASK}, {"return_attention_scores": True}],
                         ids=["plain", "mask", "scores"])
def test_against_keras(call):
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    ours, theirs = _pair(k)
    a, b = ours(Q, V, **call), theirs(Q, V, **call)
    for x, y in zip(tf.nest.flatten(a), tf.nest.flatten(b), strict=True):
        np.testing.assert_allclose(x.numpy(), np.asarray(y), atol=1e-6)


@pytest.mark.oracle
def test_causal_self_attention_and_gradients_against_keras():
    ktf = pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    x = RNG.normal(size=(2, 5, 5)).astype("float32")
    theirs = k.layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3, output_shape=6)
    theirs(x, x)
    ours = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3, output_shape=6)
    ours(x, x)
    ours.set_weights([np.asarray(w) for w in theirs.weights])
    xo, xt = tf.constant(x), ktf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xo)
        yo = ours(xo, xo, use_causal_mask=True)
        lo = tf.reduce_sum(yo * yo)
    with ktf.GradientTape() as ttape:
        ttape.watch(xt)
        yt = theirs(xt, xt, use_causal_mask=True)
        lt = ktf.reduce_sum(yt * yt)
    np.testing.assert_allclose(yo.numpy(), yt.numpy(), atol=1e-5)
    go = tape.gradient(lo, [xo, *ours.trainable_weights])
    gt = ttape.gradient(lt, [xt, *theirs.trainable_weights])
    for a, b in zip(go, gt, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


def test_gradients_float64():
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2, dtype="float64")
    q, v = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 5, 3))
    layer(q, v)
    check_gradients(lambda a, b: layer(a, b, attention_mask=MASK[:, :3, :5]), [q, v])


def test_functional_model_trains_and_config_round_trips():
    inp = keras.Input((6, 8))
    att = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1)
    out = keras.layers.GlobalAveragePooling1D()(att(inp, inp))
    model = keras.Model(inp, keras.layers.Dense(1)(out))
    model.compile("adam", "mse")
    x = RNG.normal(size=(16, 6, 8)).astype("float32")
    history = model.fit(x, RNG.normal(size=(16, 1)).astype("float32"), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    clone = keras.layers.MultiHeadAttention.from_config(att.get_config())
    assert clone.get_config()["num_heads"] == 2 and clone.get_config()["dropout"] == 0.1


def test_unsupported_variants_are_named():
    with pytest.raises(ValueError, match="attention_axes"):
        keras.layers.MultiHeadAttention(2, 3, attention_axes=(1, 2))
    with pytest.raises(ValueError, match="use_gate"):
        keras.layers.MultiHeadAttention(2, 3, use_gate=True)
    with pytest.raises(ValueError, match="batch, steps, features"):
        keras.layers.MultiHeadAttention(2, 3)(np.ones((2, 3), np.float32), np.ones((2, 3), np.float32))


ATTENTION_CASES = [("Attention", {}), ("Attention", {"use_scale": True, "score_mode": "concat"}),
                   ("AdditiveAttention", {}), ("AdditiveAttention", {"use_scale": False})]
V5 = RNG.normal(size=(2, 6, 5)).astype("float32")
Q_MASK = RNG.random((2, 4)) > 0.3
V_MASK = np.concatenate([np.ones((2, 1), bool), RNG.random((2, 5)) > 0.3], axis=1)


@pytest.mark.oracle
@pytest.mark.parametrize("cls, kwargs", ATTENTION_CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(ATTENTION_CASES)])
@pytest.mark.parametrize("call", [{}, {"mask": [Q_MASK, V_MASK]}, {"use_causal_mask": True},
                                  {"return_attention_scores": True}], ids=["plain", "masks", "causal", "scores"])
def test_dot_and_additive_attention_against_keras(cls, kwargs, call):
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    theirs = getattr(k.layers, cls)(**kwargs)
    theirs([Q, V5])
    ours = getattr(keras.layers, cls)(**kwargs)
    ours([Q, V5])
    ours.set_weights([np.asarray(w) for w in theirs.weights])
    for x, y in zip(tf.nest.flatten(ours([Q, V5], **call)), tf.nest.flatten(theirs([Q, V5], **call)), strict=True):
        np.testing.assert_allclose(x.numpy(), np.asarray(y), atol=1e-6)


@pytest.mark.parametrize("cls, kwargs", ATTENTION_CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(ATTENTION_CASES)])
def test_dot_and_additive_attention_gradients_float64(cls, kwargs):
    layer = getattr(keras.layers, cls)(dtype="float64", **kwargs)
    q, v = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 5, 4))
    layer([q, v])
    check_gradients(lambda a, b: layer([a, b], mask=[None, V_MASK[:, :5]]), [q, v])


def test_attention_input_errors():
    with pytest.raises(ValueError, match="score_mode"):
        keras.layers.Attention(score_mode="cosine")
    with pytest.raises(ValueError, match="query, value"):
        keras.layers.Attention()(np.ones((2, 3, 4), np.float32))


@pytest.mark.oracle
@pytest.mark.parametrize("dropout, scores", [(0.0, False), (0.0, True), (0.2, False)],
                         ids=["fused", "with-scores", "with-dropout"])
def test_fully_masked_rows_follow_keras_paths(dropout, scores):
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    ours, theirs = _pair(k, dropout=dropout)
    mask = MASK.copy()
    mask[:, 1, :] = False
    a, b = ours(Q, V, attention_mask=mask, return_attention_scores=scores), theirs(
        Q, V, attention_mask=mask, return_attention_scores=scores)
    for x, y in zip(tf.nest.flatten(a), tf.nest.flatten(b), strict=True):
        np.testing.assert_allclose(x.numpy(), np.asarray(y), atol=1e-6)

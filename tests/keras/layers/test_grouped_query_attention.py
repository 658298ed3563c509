"""GroupQueryAttention: outputs, scores, masks, gate, sliding window and gradients against Keras;
float64 gradients; Functional training, config and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)
Q = RNG.normal(size=(2, 5, 8)).astype("float32")
V = RNG.normal(size=(2, 5, 6)).astype("float32")
MASK = RNG.random((2, 5, 5)) > 0.3
CASES = [({}, {}), ({}, {"attention_mask": MASK}), ({"use_bias": False}, {"return_attention_scores": True}),
         ({"use_gate": True}, {"use_causal_mask": True}), ({"sliding_window": 2}, {}),
         ({"sliding_window": 3}, {"use_causal_mask": True, "attention_mask": MASK})]


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs, call", CASES, ids=["plain", "mask", "scores", "gate-causal", "window",
                                                     "window-causal-mask"])
def test_outputs_and_gradients_against_keras(kwargs, call):
    ktf = pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    theirs = k.layers.GroupQueryAttention(3, 4, 2, **kwargs)
    theirs(Q, V)
    ours = keras.layers.GroupQueryAttention(3, 4, 2, **kwargs)
    ours(Q, V)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights([np.asarray(w) + RNG.uniform(-0.2, 0.2, w.shape).astype("float32") for w in theirs.weights])
    theirs.set_weights(ours.get_weights())
    qo, vo, qt, vt = tf.constant(Q), tf.constant(V), ktf.constant(Q), ktf.constant(V)
    with tf.GradientTape() as tape:
        tape.watch([qo, vo])
        yo = ours(qo, vo, **call)
        lo = tf.reduce_sum(tf.nest.flatten(yo)[0] ** 2)
    with ktf.GradientTape() as ttape:
        ttape.watch([qt, vt])
        yt = theirs(qt, vt, **call)
        lt = ktf.reduce_sum(ktf.nest.flatten(yt)[0] ** 2)
    for a, b in zip(tf.nest.flatten(yo), ktf.nest.flatten(yt), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-5)
    go = tape.gradient(lo, [qo, vo, *ours.trainable_weights])
    gt = ttape.gradient(lt, [qt, vt, *theirs.trainable_weights])
    for a, b in zip(go, gt, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


def test_gradients_float64():
    layer = keras.layers.GroupQueryAttention(2, 4, 2, use_gate=True, sliding_window=2, dtype="float64")
    q, v = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 3, 3))
    layer(q, v)
    check_gradients(lambda a, b: layer(a, b, attention_mask=MASK[:, :3, :3]), [q, v])


def test_shared_key_value_heads():
    layer = keras.layers.GroupQueryAttention(2, 4, 1, use_bias=False)
    _, scores = layer(Q, V, return_attention_scores=True)
    assert scores.shape == (2, 4, 5, 5)
    assert layer.key_kernel.shape == (6, 1, 2) and layer.query_kernel.shape == (8, 4, 2)
    same_q = np.repeat(layer.query_kernel.numpy()[:, :1], 4, axis=1)
    layer.query_kernel.assign(same_q)
    _, scores = layer(Q, V, return_attention_scores=True)
    for head in range(1, 4):
        np.testing.assert_allclose(scores.numpy()[:, head], scores.numpy()[:, 0], rtol=1e-6)


def test_functional_training_config_and_errors():
    inp = keras.Input((5, 8))
    att = keras.layers.GroupQueryAttention(4, 4, 2, dropout=0.1)
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(att(inp, inp))))
    model.compile("adam", "mse")
    history = model.fit(Q, RNG.normal(size=(2, 1)).astype("float32"), epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    config = att.get_config()
    clone = keras.layers.GroupQueryAttention.from_config(config)
    assert (clone.head_dim, clone.num_query_heads, clone.num_key_value_heads, clone.dropout) == (4, 4, 2, 0.1)
    assert keras.layers.serialize(att)["class_name"] == "GroupQueryAttention"  # Keras 3.15 writes the exported alias
    with pytest.raises(ValueError, match="divisible"):
        keras.layers.GroupQueryAttention(4, 3, 2)
    with pytest.raises(ValueError, match="sliding_window=0"):
        keras.layers.GroupQueryAttention(4, 4, 2, sliding_window=0)

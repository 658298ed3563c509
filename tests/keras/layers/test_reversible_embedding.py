"""ReversibleEmbedding: Keras oracle (forward, reverse, untied, soft cap, masks, gradients),
float64 gradients, a tied language-model head training, config and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers
from tapeflow.testing import check_gradients

IDS = np.array([[1, 2, 0], [3, 0, 4]])
H = np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32")
CASES = [{}, {"tie_weights": False}, {"logit_soft_cap": 2.0}, {"mask_zero": True}, {"reverse_dtype": "float64"}]


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", CASES, ids=["tied", "untied", "soft-cap", "mask-zero", "reverse-dtype"])
def test_against_keras(kwargs):
    ktf = pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    theirs, ours = k.layers.ReversibleEmbedding(5, 4, **kwargs), layers.ReversibleEmbedding(5, 4, **kwargs)
    theirs(IDS)
    ours(IDS)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights([np.asarray(w) for w in theirs.weights])
    forward = ours(IDS)
    np.testing.assert_array_equal(forward.numpy(), np.asarray(theirs(IDS)))
    expected_mask = getattr(theirs(IDS), "_keras_mask", None)
    ours_mask = getattr(forward, "_keras_mask", None)
    assert (ours_mask is None) == (expected_mask is None)
    if expected_mask is not None:
        np.testing.assert_array_equal(ours_mask.numpy(), np.asarray(expected_mask))
    ho, ht = tf.constant(H), ktf.constant(H)
    with tf.GradientTape() as tape:
        tape.watch(ho)
        yo = ours(ho, reverse=True)
        lo = tf.reduce_sum(yo * yo)
    with ktf.GradientTape() as ttape:
        ttape.watch(ht)
        yt = theirs(ht, reverse=True)
        lt = ktf.reduce_sum(yt * yt)
    assert yo.dtype.name == yt.dtype.name
    np.testing.assert_allclose(yo.numpy(), yt.numpy(), rtol=1e-6, atol=1e-6)
    for a, b in zip(tape.gradient(lo, [ho, *ours.trainable_weights]),
                    ttape.gradient(lt, [ht, *theirs.trainable_weights]), strict=True):
        assert (a is None) == (b is None)  # untied: the reverse pass does not read the embeddings
        if a is not None:
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_gradients_float64():
    layer = layers.ReversibleEmbedding(5, 3, tie_weights=False, logit_soft_cap=1.5, dtype="float64")
    layer(IDS)
    check_gradients(lambda h, e, r: _reverse_with(layer, h, e, r),
                    [H[..., :3].astype("float64"), layer.embeddings.numpy(), layer.reverse_embeddings.numpy()])


def _reverse_with(layer, h, embeddings, reverse_embeddings):
    saved = layer.embeddings, layer.reverse_embeddings
    layer.embeddings, layer.reverse_embeddings = embeddings, reverse_embeddings
    try:
        return layer(h, reverse=True)
    finally:
        layer.embeddings, layer.reverse_embeddings = saved


def test_tied_language_model_head_trains():
    keras.utils.set_random_seed(0)
    inp = keras.Input((3,), dtype="int32")
    emb = layers.ReversibleEmbedding(6, 8, mask_zero=True)
    out = emb(layers.LSTM(8, return_sequences=True)(emb(inp)), reverse=True)
    model = keras.Model(inp, out)
    assert len(model.trainable_weights) == 4  # one embedding matrix, the LSTM's three weights
    model.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = np.random.default_rng(1).integers(1, 6, size=(32, 3))
    history = model.fit(ids, ids, epochs=40, verbose=0)
    assert history.history["loss"][-1] < 0.25 * history.history["loss"][0]


def test_config_shapes_and_errors():
    layer = layers.ReversibleEmbedding(7, 3, tie_weights=False, logit_soft_cap=30.0)
    clone = layers.ReversibleEmbedding.from_config(layer.get_config())
    assert (clone.tie_weights, clone.logit_soft_cap, clone.input_dim) == (False, 30.0, 7)
    assert layer.compute_output_shape((2, 5)) == (2, 5, 3)
    assert layer.compute_output_shape((2, 5, 3), reverse=True) == (2, 5, 7)
    layer(IDS)
    with pytest.raises(ValueError, match="output_dim=3, received shape"):
        layer(np.ones((2, 4), "float32"), reverse=True)

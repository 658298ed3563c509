"""Keras masks through merge layers and global pooling, against real Keras 3: the merged values
(Multiply/Maximum/Minimum use the masks), the masks they pass on (the OR of the inputs' masks,
Concatenate's joined masks) and GlobalMaxPooling1D, which ignores a mask as Keras 3 does."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tapeflow import keras as tk

MERGES = {
    "add": lambda K: K.layers.Add(), "subtract": lambda K: K.layers.Subtract(),
    "multiply": lambda K: K.layers.Multiply(), "average": lambda K: K.layers.Average(),
    "maximum": lambda K: K.layers.Maximum(), "minimum": lambda K: K.layers.Minimum(),
    "concatenate": lambda K: K.layers.Concatenate(), "concatenate_steps": lambda K: K.layers.Concatenate(axis=1),
}


def _tokens():
    rng = np.random.default_rng(0)
    a = rng.integers(1, 9, size=(3, 6)).astype("int32")
    b = rng.integers(1, 9, size=(3, 6)).astype("int32")
    a[0, 3:], a[1, 1:] = 0, 0
    b[0, 5:], b[2, 2:], b[1, 0] = 0, 0, 0
    return [a, b]


def masked_merge_model(K, merge: str, second_masked: bool):
    """Two embeddings (the second with or without mask_zero) merged, then every kind of consumer."""
    a, b = K.Input((6,), dtype="int32"), K.Input((6,), dtype="int32")
    x = K.layers.Embedding(9, 4, mask_zero=True)(a)
    y = K.layers.Embedding(9, 4, mask_zero=second_masked)(b)
    m = MERGES[merge](K)([x, y])
    return K.Model([a, b], [m, K.layers.LSTM(3, return_sequences=True)(m), K.layers.GlobalAveragePooling1D()(m),
                            K.layers.GlobalMaxPooling1D()(m)])


@pytest.mark.oracle
@pytest.mark.parametrize("second_masked", [True, False])
@pytest.mark.parametrize("merge", sorted(MERGES))
def test_masked_merges_match_keras(merge, second_masked):
    keras = pytest.importorskip("keras")
    xs = _tokens()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn that GlobalMaxPooling1D drops the mask
        theirs = masked_merge_model(keras, merge, second_masked)
        ours = masked_merge_model(tk, merge, second_masked)
        weights = [np.random.default_rng(1).standard_normal(w.shape).astype("float32") for w in theirs.get_weights()]
        theirs.set_weights(weights)
        ours.set_weights(weights)
        for got, want in zip(ours(xs), theirs(xs), strict=True):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5)
    # The merged mask itself (eager calls set it on the output as Keras does).
    k_embed = [keras.layers.Embedding(9, 4, mask_zero=z) for z in (True, second_masked)]
    t_embed = [tk.layers.Embedding(9, 4, mask_zero=z) for z in (True, second_masked)]
    want = getattr(MERGES[merge](keras)([e(x) for e, x in zip(k_embed, xs, strict=True)]), "_keras_mask", None)
    got = getattr(MERGES[merge](tk)([e(x) for e, x in zip(t_embed, xs, strict=True)]), "_keras_mask", None)
    assert (got is None) == (want is None)
    if want is not None:
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_global_max_pooling_1d_ignores_the_mask_and_warns():
    tokens = np.array([[1, 2, 0, 0]], "int32")
    embedding = tk.layers.Embedding(4, 2, mask_zero=True)
    embedding.build((None, 4))
    embedding.set_weights([np.array([[9.0, 9.0], [1.0, 2.0], [3.0, 0.0], [0.0, 0.0]], "float32")])
    with pytest.warns(UserWarning, match="GlobalMaxPooling1D.*does not support masking"):
        out = tk.layers.GlobalMaxPooling1D()(embedding(tokens))
    np.testing.assert_array_equal(np.asarray(out), [[9.0, 9.0]])  # the padded steps' row 0 wins


ATTENTIONS = {
    "attention": lambda K, x, y: K.layers.Attention()([x, y]),
    "additive_attention": lambda K, x, y: K.layers.AdditiveAttention()([x, y]),
    "multi_head_attention": lambda K, x, y: K.layers.MultiHeadAttention(2, 2)(x, y),
    "grouped_query_attention": lambda K, x, y: K.layers.GroupQueryAttention(2, 2, 1)(x, y),
}


def masked_attention_model(K, kind: str):
    """A list input passes its tensors' masks (Attention([q, v]) gets mask=[q_mask, v_mask]); the
    output carries the query's mask on to an LSTM."""
    a, b = K.Input((5,), dtype="int32"), K.Input((6,), dtype="int32")
    x = K.layers.Embedding(9, 4, mask_zero=True)(a)
    y = K.layers.Embedding(9, 4, mask_zero=True)(b)
    out = ATTENTIONS[kind](K, x, y)
    return K.Model([a, b], [out, K.layers.LSTM(2)(out)])


def attention_tokens():
    rng = np.random.default_rng(2)
    q, v = rng.integers(1, 9, (3, 5)).astype("int32"), rng.integers(1, 9, (3, 6)).astype("int32")
    q[0, 3:], v[1, 2:], v[2, 4:] = 0, 0, 0
    return [q, v]


@pytest.mark.oracle
@pytest.mark.parametrize("kind", sorted(ATTENTIONS))
def test_masks_through_attention_match_keras(kind):
    keras = pytest.importorskip("keras")
    theirs, ours = masked_attention_model(keras, kind), masked_attention_model(tk, kind)
    weights = [np.random.default_rng(3).standard_normal(w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    xs = attention_tokens()
    for got, want in zip(ours(xs), theirs(xs), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5)


EXPLICIT_MASK_LAYERS = {
    "global_max_pooling1d": lambda K: K.layers.GlobalMaxPooling1D(),
    "global_average_pooling1d": lambda K: K.layers.GlobalAveragePooling1D(),
    "global_average_pooling2d": lambda K: K.layers.GlobalAveragePooling2D(),
    "dense": lambda K: K.layers.Dense(2),
    "flatten": lambda K: K.layers.Flatten(),
    "conv1d": lambda K: K.layers.Conv1D(2, 2),
    "max_pooling1d": lambda K: K.layers.MaxPooling1D(),
    "dropout": lambda K: K.layers.Dropout(0.1),
    "layer_normalization": lambda K: K.layers.LayerNormalization(),
    "lstm": lambda K: K.layers.LSTM(2),
    "masking": lambda K: K.layers.Masking(),
}


def _explicit_mask_call(K, make, symbolic):
    """'ok' or the TypeError's Keras text of `layer(x, mask=m)`, eager or on symbolic inputs."""
    shape = (3, 4, 1) if "2d" in str(make(K).__class__.__name__).lower() else (3, 4)
    x = K.Input(shape) if symbolic else np.ones((2, *shape), "float32")
    m = K.Input((3,), dtype="bool") if symbolic else np.array([[1, 1, 0], [1, 0, 0]], bool)
    try:
        make(K)(x, mask=m)
    except TypeError as exc:
        assert "got an unexpected keyword argument 'mask'" in str(exc)
        return "TypeError"
    return "ok"


@pytest.mark.parametrize("symbolic", [False, True])
@pytest.mark.parametrize("name", sorted(EXPLICIT_MASK_LAYERS))
def test_explicit_mask_on_layers_that_take_none_matches_keras(name, symbolic):
    """As Keras 3: `layer(x, mask=m)` on a layer whose call has no `mask` argument is a TypeError
    (eager and symbolic); a mask attached to the input is dropped with a warning instead."""
    keras = pytest.importorskip("keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _explicit_mask_call(keras, EXPLICIT_MASK_LAYERS[name], symbolic)
        got = _explicit_mask_call(tk, EXPLICIT_MASK_LAYERS[name], symbolic)
    assert got == want


DROPPED_MASK_LAYERS = {
    "flatten": lambda K: K.layers.Flatten(),
    "global_max_pooling1d": lambda K: K.layers.GlobalMaxPooling1D(),
    "global_average_pooling1d": lambda K: K.layers.GlobalAveragePooling1D(),
    "conv1d": lambda K: K.layers.Conv1D(2, 2),
    "dense": lambda K: K.layers.Dense(2),
    "normalization": lambda K: K.layers.Normalization(mean=0.5, variance=2.0),
    "lstm": lambda K: K.layers.LSTM(2, return_sequences=True),
    "reshape": lambda K: K.layers.Reshape((8,)),
}


@pytest.mark.parametrize("name", sorted(DROPPED_MASK_LAYERS))
def test_a_dropped_mask_warns_and_masks_pass_as_in_keras(name):
    """As Keras 3: a layer without mask support warns when its input carries a mask (symbolic
    and eager calls), and the output's mask (kept or dropped) is the same."""
    keras = pytest.importorskip("keras")
    tokens = np.array([[1, 2, 0, 0]], "int32")

    def run(K):
        seen = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            embedded = K.layers.Embedding(4, 2, mask_zero=True)(K.Input((4,), dtype="int32"))
            DROPPED_MASK_LAYERS[name](K)(embedded)
            seen.append(sum("does not support masking" in str(w.message) for w in caught))
            out = DROPPED_MASK_LAYERS[name](K)(K.layers.Embedding(4, 2, mask_zero=True)(tokens))
            seen.append(sum("does not support masking" in str(w.message) for w in caught) - seen[0])
        mask = getattr(out, "_keras_mask", None)
        return seen, None if mask is None else np.asarray(mask)

    (want_warn, want_mask), (got_warn, got_mask) = run(keras), run(tk)
    assert got_warn == want_warn
    assert (got_mask is None) == (want_mask is None)
    if want_mask is not None:
        np.testing.assert_array_equal(got_mask, want_mask)

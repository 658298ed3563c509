"""Tiny models built the same way in real Keras and in Tapeflow (`K` is either `keras` module),
with seeded weights, for file round trips in both directions.

Usage from a test module in this folder (pytest puts the folder on sys.path):
    from keras_catalogue import BUILDERS, randomize, sample_inputs
"""

from __future__ import annotations

import numpy as np


def mlp(K):
    return K.Sequential([K.Input((6,)), K.layers.Dense(5, activation="relu"), K.layers.Dropout(0.3),
                         K.layers.BatchNormalization(), K.layers.Dense(3, activation="softmax")])


def cnn2d(K):
    return K.Sequential([K.Input((8, 8, 2)), K.layers.Conv2D(3, 3, padding="same", activation="relu"),
                         K.layers.MaxPooling2D(), K.layers.BatchNormalization(), K.layers.Conv2D(4, 2),
                         K.layers.AveragePooling2D(2), K.layers.Flatten(), K.layers.Dense(2)])


def cnn1d(K):
    return K.Sequential([K.Input((10, 3)), K.layers.Conv1D(4, 3, activation="tanh"), K.layers.MaxPooling1D(2),
                         K.layers.GlobalAveragePooling1D(), K.layers.Dense(2)])


def rnn(K):
    return K.Sequential([K.Input((6,), dtype="int32"), K.layers.Embedding(11, 4),
                         K.layers.LSTM(5, return_sequences=True), K.layers.GRU(3), K.layers.Dense(2)])


def functional(K):
    a = K.Input((5, 4), name="a")
    b = K.Input((5, 4), name="b")
    att = K.layers.MultiHeadAttention(num_heads=2, key_dim=3)(a, b)
    x = K.layers.LayerNormalization()(K.layers.Add()([a, att]))
    y = K.layers.Dense(4, activation="sigmoid")(b)
    m = K.layers.Multiply()([x, y])
    s = K.layers.Subtract()([x, y])
    avg = K.layers.Average()([m, s])
    pooled = K.layers.Concatenate()([K.layers.GlobalMaxPooling1D()(avg), K.layers.GlobalAveragePooling1D()(m)])
    out = K.layers.Dense(2)(pooled)
    return K.Model([a, b], out)


BUILDERS = {"mlp": mlp, "cnn2d": cnn2d, "cnn1d": cnn1d, "rnn": rnn, "functional": functional}


def sample_inputs(name: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    if name == "rnn":
        return rng.integers(0, 11, size=(3, 6)).astype("int32")
    shapes = {"mlp": (3, 6), "cnn2d": (3, 8, 8, 2), "cnn1d": (3, 10, 3), "wrappers": (2, 6, 6, 3)}
    if name == "functional":
        return [rng.standard_normal((3, 5, 4)).astype("float32") for _ in range(2)]
    if name == "misc":
        return [rng.standard_normal(shape).astype("float32") for shape in ((2, 4, 6), (2, 3, 3, 3, 2))]
    return rng.standard_normal(shapes.get(name, (3, 4))).astype("float32")


def randomize(model, seed: int = 1) -> None:
    """Seeded weights (variances kept positive) so predictions depend on every weight."""
    rng = np.random.default_rng(seed)
    model.set_weights([np.abs(rng.standard_normal(w.shape)).astype(w.dtype) + 0.5 if "variance" in v.name
                       else (0.5 * rng.standard_normal(w.shape)).astype(w.dtype)
                       for v, w in zip(model.weights, model.get_weights(), strict=True)])


def wrappers(K):
    return K.Sequential([K.Input((6, 6, 3)), K.layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2),
                         K.layers.DepthwiseConv2D(3), K.layers.Conv2DTranspose(2, 3, strides=2, padding="same"),
                         K.layers.Reshape((8, 16)), K.layers.TimeDistributed(K.layers.Dense(3)),
                         K.layers.Bidirectional(K.layers.SimpleRNN(2, return_sequences=True)),
                         K.layers.Bidirectional(K.layers.GRU(2)), K.layers.Dense(1)])


def misc(K):
    a = K.Input((4, 6), name="seq")
    b = K.Input((3, 3, 3, 2), name="vol")
    x = K.layers.GroupQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2)(a, a)
    x = K.layers.EinsumDense("abc,cd->abd", output_shape=(4, 5), bias_axes="d")(x)
    x = K.layers.Permute((2, 1))(x)
    x = K.layers.Conv1D(2, 2, activation="gelu")(x)
    y = K.layers.GlobalAveragePooling3D()(K.layers.Conv3D(2, 2, padding="same")(b))
    out = K.layers.Dense(1)(K.layers.Concatenate()([K.layers.Flatten()(x), y]))
    return K.Model([a, b], out)


BUILDERS["wrappers"] = wrappers
BUILDERS["misc"] = misc


# More layer kinds, for `.keras` files both ways (and ONNX export where it applies).


def rnn_states(K):
    """Masks from Embedding(mask_zero=True) through RNN states, initial states, Bidirectional, pooling."""
    t = K.Input((7,), dtype="int32")
    x = K.layers.Embedding(10, 4, mask_zero=True)(t)
    seq, h, c = K.layers.LSTM(3, return_sequences=True, return_state=True)(x)
    g = K.layers.GRU(3, go_backwards=True)(seq, initial_state=[h])
    b = K.layers.Bidirectional(K.layers.SimpleRNN(2, return_sequences=True))(seq)
    return K.Model(t, [g, K.layers.GlobalAveragePooling1D()(b), c])


def conv_rnns(K):
    a, v = K.Input((3, 6, 2)), K.Input((3, 5, 5, 1))
    x = K.layers.ConvLSTM1D(2, 3, padding="same")(a)
    y = K.layers.ConvLSTM2D(2, 3, return_sequences=True)(v)
    return K.Model([a, v], [x, K.layers.Flatten()(y)])


def attention(K):
    q, v = K.Input((5, 4)), K.Input((6, 4))
    a = K.layers.Attention(use_scale=True)([q, v])
    b = K.layers.AdditiveAttention()([q, v])
    m = K.layers.MultiHeadAttention(2, 3)(q, v)
    g = K.layers.GroupQueryAttention(head_dim=2, num_query_heads=2, num_key_value_heads=1)(q, v)
    return K.Model([q, v], K.layers.Concatenate()([a, b, m, g]))


def norms(K):
    x = K.Input((4, 6))
    y = K.layers.GroupNormalization(2)(x)
    y = K.layers.LayerNormalization(rms_scaling=True)(y)
    y = K.layers.UnitNormalization()(y)
    y = K.layers.RMSNormalization()(y)
    y = K.layers.BatchNormalization(axis=1)(y)
    return K.Model(x, K.layers.LayerNormalization(axis=1)(y))


def preprocessing(K):
    img = K.Input((8, 8, 3))
    y = K.layers.Rescaling(1 / 255.0, offset=-0.5)(img)
    y = K.layers.RandomFlip()(y)
    y = K.layers.Resizing(4, 4)(K.layers.CenterCrop(6, 6)(y))
    y = K.layers.Normalization(axis=-1, mean=[0.1, 0.2, 0.3], variance=[1.0, 2.0, 3.0])(y)
    return K.Model(img, K.layers.Flatten()(y))


def categorical(K):
    t, d = K.Input((3,), dtype="int32"), K.Input((2,))
    e = K.layers.CategoryEncoding(num_tokens=5, output_mode="count")(t)
    h = K.layers.Hashing(7)(t)
    disc = K.layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5])(d)
    return K.Model([t, d], [e, h, disc, K.layers.IntegerLookup(vocabulary=[1, 2, 3])(t)])


def masked_merges(K):
    """Masking and mask_zero through merges into RNNs (Keras records the mask arithmetic as operations)."""
    a, b = K.Input((6,), dtype="int32"), K.Input((6, 3))
    x = K.layers.Embedding(10, 3, mask_zero=True)(a)
    y = K.layers.Masking(mask_value=-1.0)(b)
    s = K.layers.LSTM(2, return_sequences=True)(K.layers.Add()([x, y]))
    c = K.layers.GRU(2)(K.layers.Concatenate()([x, y]))
    return K.Model([a, b], [K.layers.GlobalAveragePooling1D()(s), c])


def masked_cells(K):
    """A mask through SpatialDropout1D into RNNs over stacked and single cells, and a normalized Dot."""
    t = K.Input((7,), dtype="int32")
    x = K.layers.SpatialDropout1D(0.2)(K.layers.Embedding(10, 4, mask_zero=True)(t))
    s = K.layers.RNN([K.layers.LSTMCell(3), K.layers.GRUCell(2)], return_sequences=True)(x)
    d = K.layers.Dot(axes=(1, 1), normalize=True)([s, x])
    return K.Model(t, [K.layers.RNN(K.layers.SimpleRNNCell(2), go_backwards=True)(s), K.layers.Flatten()(d)])


def reversible(K):
    """ReversibleEmbedding tied (its mask set in call reaches the LSTM) and untied with a soft cap,
    and SpectralNormalization (its kernel as stored, at inference)."""
    t = K.Input((5,), dtype="int32")
    emb = K.layers.ReversibleEmbedding(10, 4, mask_zero=True)
    untied = K.layers.ReversibleEmbedding(10, 4, tie_weights=False, logit_soft_cap=2.0)
    seq = K.layers.LSTM(4, return_sequences=True)(emb(t))
    return K.Model(t, [emb(seq, reverse=True), untied(untied(t), reverse=True),
                       K.layers.SpectralNormalization(K.layers.Dense(3))(seq)])


def pipeline(K):
    """Pipelines of preprocessing and of an embedding (its mask) into an LSTM."""
    img, t = K.Input((8, 8, 3)), K.Input((6,), dtype="int32")
    y = K.layers.Pipeline([K.layers.RandomFlip(), K.layers.Rescaling(1 / 255.0), K.layers.Resizing(4, 4)])(img)
    z = K.layers.Pipeline([K.layers.Embedding(10, 3, mask_zero=True), K.layers.LSTM(2)])(t)
    return K.Model([img, t], [K.layers.Flatten()(y), z])


MORE_BUILDERS = {"rnn_states": rnn_states, "masked_cells": masked_cells, "reversible": reversible, "pipeline": pipeline,
                 "conv_rnns": conv_rnns, "attention": attention,
                 "norms": norms,
                 "preprocessing": preprocessing, "categorical": categorical, "masked_merges": masked_merges}
UNRANDOMIZED = ("preprocessing", "categorical")  # their weights are settings (statistics, vocabularies)


def more_inputs(name: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, 10, (3, 7)).astype("int32")
    tokens[0, 4:] = 0
    tokens[1, :2] = 0
    if name in ("rnn_states", "masked_cells"):
        return tokens
    if name == "reversible":
        return tokens[:, :5].copy()
    if name == "pipeline":
        return [(rng.random((3, 8, 8, 3)) * 255).astype("float32"), tokens[:, :6].copy()]
    if name == "masked_merges":
        seq = rng.standard_normal((3, 6, 3)).astype("float32")
        seq[2, 3:] = -1.0
        return [tokens[:, :6], seq]
    shapes = {"conv_rnns": [(2, 3, 6, 2), (2, 3, 5, 5, 1)], "attention": [(2, 5, 4), (2, 6, 4)], "norms": [(3, 4, 6)]}
    if name == "preprocessing":
        return (rng.random((2, 8, 8, 3)) * 255).astype("float32")
    if name == "categorical":
        return [rng.integers(0, 5, (3, 3)).astype("int32"), rng.standard_normal((3, 2)).astype("float32")]
    xs = [rng.standard_normal(s).astype("float32") for s in shapes[name]]
    return xs if len(xs) > 1 else xs[0]

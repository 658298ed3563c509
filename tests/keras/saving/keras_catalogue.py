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

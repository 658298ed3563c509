"""Keras 2 files against real tf.keras (`tf_keras`, Keras 2 for TF 2.21): full-model `.h5`
files and HDF5 weights, both directions, with the layers Keras 2 models use most and a custom
layer (TF-format checkpoints: test_tf_checkpoints.py)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from keras_catalogue import BUILDERS, randomize, sample_inputs

from tapeflow import keras as tk

pytest.importorskip("h5py")


@pytest.fixture(scope="module")
def K2():
    pytest.importorskip("tensorflow")
    tf_keras = pytest.importorskip("tf_keras")
    yield tf_keras
    tf_keras.backend.clear_session()


def _predict(model, x):
    return np.asarray(model(x, training=False))


@functools.cache
def _scale_class(K, package):
    """The same custom layer written against either Keras API."""

    @K.saving.register_keras_serializable(package=package)
    class Scale(K.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")

        def call(self, inputs):
            return inputs * self.w * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    return Scale


_scale_class(tk, "tapeflow_keras2_test")  # registered before any file is read, as an import would do


def keras2_sequential(K):
    """Keras 2 style: the input shape on the first layer (no Input), a custom layer, old GRU."""
    scale = _scale_class(K, "tapeflow_keras2_test")
    return K.Sequential([K.layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(6, 6, 2)),
                         K.layers.BatchNormalization(), K.layers.Dropout(0.25), K.layers.MaxPooling2D(),
                         K.layers.Reshape((3, 12)), K.layers.LSTM(5, return_sequences=True),
                         K.layers.GRU(4, reset_after=False, return_sequences=True), K.layers.SimpleRNN(3),
                         scale(factor=0.5), K.layers.Dense(2, activation="softmax")])


def keras2_masked(K):
    tokens = K.Input((7,), dtype="int32", name="tokens")
    x = K.layers.Embedding(12, 4, mask_zero=True)(tokens)
    x = K.layers.Bidirectional(K.layers.LSTM(3, return_sequences=True))(x)
    x = K.layers.GRU(3)(x)
    side = K.layers.Dense(3, activation="tanh")(K.layers.Flatten()(K.layers.Embedding(12, 2)(tokens)))
    return K.Model(tokens, K.layers.Dense(2)(K.layers.Concatenate()([x, side])))


def _sample(name, seed=0):
    rng = np.random.default_rng(seed)
    if name == "keras2_sequential":
        return rng.standard_normal((3, 6, 6, 2)).astype("float32")
    if name == "keras2_masked":
        x = rng.integers(1, 12, size=(3, 7)).astype("int32")
        x[0, 4:] = 0
        x[1, 2:] = 0
        return x
    return sample_inputs(name, seed)


KERAS2_BUILDERS = {name: BUILDERS[name] for name in ("mlp", "cnn2d", "cnn1d", "rnn", "functional", "wrappers")}
KERAS2_BUILDERS.update(keras2_sequential=keras2_sequential, keras2_masked=keras2_masked)


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(KERAS2_BUILDERS))
def test_keras2_h5_models_load_both_ways(K2, tmp_path, name):
    x = _sample(name)
    theirs = KERAS2_BUILDERS[name](K2)
    randomize(theirs, seed=3)
    theirs.save(tmp_path / "k2.h5")
    loaded = tk.models.load_model(tmp_path / "k2.h5")
    np.testing.assert_allclose(_predict(loaded, x), _predict(theirs, x), atol=1e-5)

    ours = KERAS2_BUILDERS[name](tk)
    randomize(ours, seed=4)
    ours.save(tmp_path / "t.h5")
    back = K2.models.load_model(tmp_path / "t.h5")
    np.testing.assert_allclose(_predict(back, x), _predict(ours, x), atol=1e-5)


@pytest.mark.oracle
def test_compiled_keras2_model_keeps_its_training_setup(K2, tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 4)).astype("float32"), rng.standard_normal((8, 2)).astype("float32")
    theirs = K2.Sequential([K2.layers.Dense(3, activation="relu", input_shape=(4,)), K2.layers.Dense(2)])
    theirs.compile(optimizer=K2.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    theirs.fit(x, y, epochs=2, batch_size=4, verbose=0)
    theirs.save(tmp_path / "k2.h5")
    loaded = tk.models.load_model(tmp_path / "k2.h5")
    assert type(loaded.optimizer).__name__ == "Adam"
    np.testing.assert_allclose(float(np.asarray(loaded.optimizer.learning_rate)), 0.01, rtol=1e-6)
    np.testing.assert_allclose(_predict(loaded, x), _predict(theirs, x), atol=1e-5)
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0)[0], theirs.evaluate(x, y, verbose=0)[0], rtol=1e-5)

    theirs.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)  # the Adam moments came along
    loaded.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    np.testing.assert_allclose(_predict(loaded, x), _predict(theirs, x), atol=1e-5)

    loaded.save(tmp_path / "t.h5")
    back = K2.models.load_model(tmp_path / "t.h5")
    assert type(back.optimizer).__name__ == "Adam"
    np.testing.assert_allclose(_predict(back, x), _predict(loaded, x), atol=1e-5)
    ours_state = [v for v in loaded.optimizer.variables if "learning_rate" not in v.name]
    assert len(back.optimizer.variables) == len(ours_state)
    for a, b in zip(ours_state, back.optimizer.variables, strict=True):
        np.testing.assert_allclose(np.asarray(b, dtype="float64"), np.asarray(a, dtype="float64"), atol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("filename", ["k2.weights.h5", "k2.h5"])
def test_keras2_hdf5_weights_load_both_ways(K2, tmp_path, filename):
    x = _sample("keras2_sequential")
    theirs, ours = keras2_sequential(K2), keras2_sequential(tk)
    randomize(theirs, seed=6)
    theirs.save_weights(tmp_path / filename)  # Keras 2's layout, whichever the suffix
    ours.load_weights(tmp_path / filename)
    np.testing.assert_allclose(_predict(ours, x), _predict(theirs, x), atol=1e-5)
    randomize(ours, seed=7)
    ours.save(tmp_path / "t.h5")
    theirs.load_weights(tmp_path / "t.h5")  # tf.keras takes weights from a whole-model file
    np.testing.assert_allclose(_predict(theirs, x), _predict(ours, x), atol=1e-5)


def _named(K, head_units):
    tokens = K.Input((7,), dtype="int32")
    x = K.layers.Embedding(12, 4, mask_zero=True, name="embed")(tokens)
    x = K.layers.LSTM(3, name="lstm")(x)
    return K.Model(tokens, K.layers.Dense(head_units, name="head")(x))


@pytest.mark.oracle
def test_keras2_weights_by_name_into_a_different_model(K2, tmp_path):
    theirs = _named(K2, 2)
    randomize(theirs, seed=8)
    theirs.save_weights(tmp_path / "k2.h5")
    ours = _named(tk, 5)
    head = ours.get_layer("head").get_weights()
    with pytest.warns(UserWarning, match="Skipping"):
        ours.load_weights(tmp_path / "k2.h5", by_name=True, skip_mismatch=True)
    for name in ("embed", "lstm"):
        for a, b in zip(theirs.get_layer(name).get_weights(), ours.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(head, ours.get_layer("head").get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(KERAS2_BUILDERS))
def test_keras2_dot_keras_files_load(K2, tmp_path, name):
    """tf.keras 2.13+ also writes `.keras` archives (Keras 2 configs, its own weight paths)."""
    x = _sample(name)
    theirs = KERAS2_BUILDERS[name](K2)
    randomize(theirs, seed=11)
    theirs.save(tmp_path / "k2.keras")
    loaded = tk.models.load_model(tmp_path / "k2.keras")
    np.testing.assert_allclose(_predict(loaded, x), _predict(theirs, x), atol=1e-5)


def _attentions(K):
    """Self- and cross-attention with a separate key of another width, as tf.keras writes them."""
    q, v, k = K.Input((5, 4), name="q"), K.Input((6, 3), name="v"), K.Input((6, 2), name="k")
    own = K.layers.MultiHeadAttention(num_heads=2, key_dim=3, name="self_attention")(q, q)
    cross = K.layers.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=4, name="cross")(own, v, key=k)
    return K.Model([q, v, k], K.layers.Dense(2)(K.layers.Add()([own, cross])))


@pytest.mark.oracle
def test_multi_head_attention_h5_reads_in_tf_keras(K2, tmp_path):
    rng = np.random.default_rng(12)
    x = [rng.standard_normal(s).astype("float32") for s in ((2, 5, 4), (2, 6, 3), (2, 6, 2))]
    ours = _attentions(tk)
    randomize(ours, seed=13)
    ours.save(tmp_path / "t.h5")
    back = K2.models.load_model(tmp_path / "t.h5")
    assert [w.shape for w in back.get_layer("cross").weights] == [w.shape for w in ours.get_layer("cross").weights]
    np.testing.assert_allclose(_predict(back, x), _predict(ours, x), atol=1e-5)
    again = tk.models.load_model(tmp_path / "t.h5")  # and Tapeflow reads its own file back
    np.testing.assert_allclose(_predict(again, x), _predict(ours, x), atol=1e-6)
    theirs = _attentions(K2)  # tf.keras's file of the same model loads in Tapeflow
    randomize(theirs, seed=14)
    theirs.save(tmp_path / "k2.h5")
    np.testing.assert_allclose(_predict(tk.models.load_model(tmp_path / "k2.h5"), x), _predict(theirs, x), atol=1e-5)

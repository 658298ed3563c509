"""Recurrent layers traced with an unknown batch (and time) axis: tf.function, SavedModel,
Model.export; the loaded models serve any batch size and length, oracle-checked against Keras 3."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

L = keras.layers


def _layers(k):
    """name -> a factory of the recurrent part, built from the Keras module `k`."""
    Lk = k.layers
    return {
        "lstm": lambda: Lk.LSTM(4),
        "gru_sequences": lambda: Lk.GRU(4, return_sequences=True),
        "simple_rnn_backwards": lambda: Lk.SimpleRNN(4, go_backwards=True, return_sequences=True),
        "bidirectional": lambda: Lk.Bidirectional(Lk.LSTM(3, return_sequences=True)),
        "masked": lambda: k.Sequential([Lk.Masking(), Lk.LSTM(4, return_sequences=True)]),
        # Activations the fused op does not take: the cell runs step by step (a while loop
        # when the length is unknown).
        "step_loop_masked": lambda: k.Sequential([Lk.Masking(), Lk.GRU(4, activation="softsign",
                                                                       return_sequences=True)]),
        "stacked_cells": lambda: Lk.RNN([Lk.SimpleRNNCell(4, activation="elu"), Lk.GRUCell(3)]),
        "time_distributed": lambda: k.Sequential([Lk.TimeDistributed(Lk.Dense(2)), Lk.SimpleRNN(2)]),
    }


def _sequences(batch: int, length: int) -> np.ndarray:
    x = np.random.default_rng(batch * 10 + length).random((batch, length, 3)).astype("float32")
    x[0, length // 2:] = 0.0  # masked tail for the masked models
    return x


@pytest.mark.parametrize("length", [None, 6])
@pytest.mark.parametrize("kind", list(_layers(keras)))
def test_rnn_model_exports_and_serves_any_batch(tmp_path, kind, length):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((length, 3))
    model = keras.Model(inputs, _layers(keras)[kind]()(inputs))
    path = str(tmp_path / kind)
    model.export(path, verbose=False)
    serve = tf.saved_model.load(path).serve
    for batch, steps in [(5, 6), (1, 6)] + ([(2, 3), (3, 9)] if length is None else []):
        x = _sequences(batch, steps)
        np.testing.assert_allclose(serve(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)


def test_saved_model_save_of_an_lstm_classifier_has_an_unknown_batch(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5, 3)), L.LSTM(4), L.Dense(2)])
    tf.saved_model.save(model, str(tmp_path))
    sig = tf.saved_model.load(str(tmp_path)).signatures["serving_default"]
    assert repr(sig.structured_input_signature[1]["inputs"]) == (
        "TensorSpec(shape=(None, 5, 3), dtype=tf.float32, name='inputs')")
    for batch in (7, 1):
        x = _sequences(batch, 5)
        np.testing.assert_allclose(sig(inputs=x)["output_0"].numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "step_loop_masked", "simple_rnn_backwards"])
def test_gradients_of_a_trace_with_unknown_batch_and_time_match_eager(kind):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, _layers(keras)[kind]()(inputs))

    def grads(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(model(x)))
        return tape.gradient(loss, model.trainable_variables)

    traced = tf.function(grads, input_signature=[tf.TensorSpec([None, None, 3])])
    for batch, steps in [(4, 6), (2, 3)]:
        x = _sequences(batch, steps)
        for a, b in zip(traced(x), grads(tf.constant(x)), strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("kind", ["lstm", "gru_sequences", "bidirectional", "masked", "step_loop_masked",
                                  "time_distributed"])
def test_loaded_rnn_export_matches_keras3(tmp_path, kind):
    """The same weights in Keras 3: the loaded SavedModel gives Keras 3's numbers."""
    pytest.importorskip("tensorflow")
    import keras as real_keras

    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, _layers(keras)[kind]()(inputs))
    real_inputs = real_keras.Input((None, 3))
    real = real_keras.Model(real_inputs, _layers(real_keras)[kind]()(real_inputs))
    real.set_weights(model.get_weights())
    model.export(str(tmp_path), verbose=False)
    serve = tf.saved_model.load(str(tmp_path)).serve
    for batch, steps in [(4, 6), (2, 3)]:
        x = _sequences(batch, steps)
        np.testing.assert_allclose(serve(x).numpy(), np.asarray(real(x)), rtol=1e-4, atol=1e-5)


def test_unstack_of_an_unknown_axis_in_a_trace_is_refused_as_tf_does():
    @tf.function(input_signature=[tf.TensorSpec([None, None, 3])])
    def f(x):
        return tf.unstack(x, axis=1)

    with pytest.raises(ValueError, match=r"Cannot infer argument `num` from shape \(None, None, 3\)"):
        f.get_concrete_function()


@pytest.mark.parametrize("kind", ["lstm", "step_loop_masked", "bidirectional"])
def test_a_loaded_rnn_export_differentiates_like_the_model(tmp_path, kind):
    """Fine-tuning a loaded export (TFSMLayer) needs its gradients: the saved while loop and
    fused ops give the model's own."""
    keras.utils.set_random_seed(2)
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, _layers(keras)[kind]()(inputs))
    model.export(str(tmp_path), verbose=False)
    serve = tf.saved_model.load(str(tmp_path)).serve
    x = tf.constant(_sequences(3, 5))
    grads = []
    for fn, variables in ((serve, serve.trainable_variables), (model, model.trainable_variables)):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(fn(x)))
        assert len(variables) == len(model.trainable_variables)
        # Paired by name and value (the loaded variables hold the model's values).
        pairs = zip(variables, tape.gradient(loss, variables), strict=True)
        grads.append([g.numpy() for _, g in sorted(pairs, key=lambda p: (p[0].name, p[0].numpy().tobytes()))])
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_stateful_rnn_states_are_variables_that_traces_and_exports_carry(tmp_path):
    """As in Keras 3: a stateful layer's states are non-trainable variables (not weights); a
    traced call assigns them, so tf.function and a loaded export carry them call to call."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5, 3), batch_size=2), L.LSTM(3, stateful=True)])
    layer = model.layers[0]
    assert [type(s).__name__ for s in layer.states] == ["Variable", "Variable"]
    assert len(model.weights) == 3 and not model.non_trainable_weights
    x = _sequences(2, 5)
    eager = [model(x).numpy() for _ in range(2)]
    assert not np.allclose(eager[0], eager[1])
    layer.reset_state()
    traced = tf.function(lambda v: model(v))
    np.testing.assert_allclose([traced(x).numpy() for _ in range(2)], eager, rtol=1e-6)
    layer.reset_state()
    model.export(str(tmp_path), verbose=False)
    serve = tf.saved_model.load(str(tmp_path)).serve
    np.testing.assert_allclose([serve(x).numpy() for _ in range(2)], eager, rtol=1e-6)

"""Compiled metrics follow the output mask (Masking / Embedding(mask_zero=True) through an RNN
with return_sequences) as Keras 3 does, eagerly and in the traced (tf.function) fit/evaluate;
Mean/Sum read the values' mask when weights are given. Keras 3 oracle for the logs."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

RNG = np.random.default_rng(0)
X = RNG.integers(1, 10, size=(16, 7))
X[:8, 4:] = 0
X[8:, 2:] = 0
Y = RNG.integers(0, 3, size=(16, 7))
SW = np.tile(np.linspace(0.1, 1, 16)[:, None], (1, 7)).astype("float32")


def _build(K):
    K.utils.set_random_seed(1)
    m = K.Sequential([K.Input((7,)), K.layers.Embedding(10, 4, mask_zero=True),
                      K.layers.LSTM(5, return_sequences=True), K.layers.Dense(3, activation="softmax")])
    m.set_weights([np.random.default_rng(i).normal(size=tuple(v.shape)).astype("float32") * 0.3
                   for i, v in enumerate(m.weights)])
    return m


def _run(K, eager):
    m = _build(K)
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
              metrics=["accuracy", K.metrics.SparseCategoricalAccuracy(name="sca")],
              weighted_metrics=["accuracy"], run_eagerly=eager)
    out = {"eval": m.evaluate(X, Y, batch_size=8, verbose=0, return_dict=True)}
    h = m.fit(X, Y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    out["fit"] = h.history
    out["eval_sw"] = m.evaluate(X, Y, sample_weight=SW, batch_size=8, verbose=0, return_dict=True)
    return m, out


@pytest.mark.parametrize("eager", [True, False])
def test_compiled_metrics_are_masked(eager):
    m = _build(keras)
    pred = m.predict(X, batch_size=8, verbose=0).argmax(-1)
    mask = X != 0
    hit = (pred == Y).astype("float64")
    acc = (hit * mask).sum() / mask.sum()
    wacc = (hit * mask * SW).sum() / (mask * SW).sum()
    assert abs(acc - (hit.mean())) > 1e-3  # the mask matters for this data
    _, logs = _run(keras, eager)
    np.testing.assert_allclose(logs["eval"]["accuracy"], acc, rtol=1e-6)
    np.testing.assert_allclose(logs["eval"]["sca"], acc, rtol=1e-6)
    np.testing.assert_allclose(logs["eval"]["weighted_accuracy"], acc, rtol=1e-6)
    # Unweighted metrics ignore sample_weight but keep the mask; weighted ones use both.
    np.testing.assert_allclose(logs["eval_sw"]["accuracy"], acc, rtol=1e-6)
    np.testing.assert_allclose(logs["eval_sw"]["weighted_accuracy"], wacc, rtol=1e-6)


def test_metric_in_traced_custom_loop_sees_mask():
    m = _build(keras)
    pred = m.predict(X, verbose=0).argmax(-1)
    mask = X != 0
    expected = ((pred == Y) * mask).sum() / mask.sum()
    metric = keras.metrics.SparseCategoricalAccuracy()

    @tf.function
    def step(x, y):
        metric.update_state(y, m(x, training=False))

    step(X[:8], Y[:8])
    step(X[8:], Y[8:])  # replayed: the mask is an input of the lifted update
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-6)


def test_mean_and_sum_read_values_mask_with_weights():
    v = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    v._keras_mask = tf.constant([[True, True, False], [True, False, False]])
    sw = np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    for cls, unweighted, weighted in ((keras.metrics.Mean, 3.5, 2.75), (keras.metrics.Sum, 21.0, 11.0)):
        m = cls()
        m.update_state(v)
        assert float(m.result()) == unweighted  # no weights: the mask is not read (as Keras)
        m = cls()
        m.update_state(v, sample_weight=sw)
        assert float(m.result()) == pytest.approx(weighted)


@pytest.mark.oracle
@pytest.mark.parametrize("eager", [True, False])
def test_masked_metric_logs_match_keras(eager):
    pytest.importorskip("tensorflow")
    K = pytest.importorskip("keras", minversion="3")
    _, ours = _run(keras, eager)
    _, theirs = _run(K, eager)
    for key in ("eval", "eval_sw"):
        assert set(ours[key]) == set(theirs[key])
        for name, value in theirs[key].items():
            np.testing.assert_allclose(ours[key][name], value, rtol=1e-5, atol=1e-6, err_msg=f"{key} {name}")
    for name, values in theirs["fit"].items():
        np.testing.assert_allclose(ours["fit"][name], values, rtol=1e-5, atol=1e-6, err_msg=name)


def _multi_output(K):
    K.utils.set_random_seed(1)
    inp = K.Input((7,))
    e = K.layers.Embedding(10, 4, mask_zero=True)(inp)
    h = K.layers.Bidirectional(K.layers.LSTM(3, return_sequences=True))(e)
    o1 = K.layers.TimeDistributed(K.layers.Dense(3, activation="softmax"), name="cls")(h)
    o2 = K.layers.Dense(2, name="reg")(h)
    m = K.Model(inp, [o1, o2])
    m.set_weights([np.random.default_rng(i).normal(size=tuple(v.shape)).astype("float32") * 0.3
                   for i, v in enumerate(m.weights)])
    m.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"],
              metrics=[["accuracy"], ["mae", K.metrics.RootMeanSquaredError()]])
    y2 = np.random.default_rng(5).random((16, 7, 2)).astype("float32")
    return m.evaluate(X, [Y, y2], batch_size=8, verbose=0, return_dict=True)


@pytest.mark.oracle
def test_masked_multi_output_metrics_match_keras():
    """Bidirectional and TimeDistributed pass the mask on to both heads' metrics (traced evaluate)."""
    pytest.importorskip("tensorflow")
    K = pytest.importorskip("keras", minversion="3")
    ours, theirs = _multi_output(keras), _multi_output(K)
    assert set(ours) == set(theirs)
    for name, value in theirs.items():
        np.testing.assert_allclose(ours[name], value, rtol=1e-5, atol=1e-6, err_msg=name)

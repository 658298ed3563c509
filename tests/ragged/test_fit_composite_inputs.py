"""fit / evaluate / predict with SparseTensor and RaggedTensor `x` (batched by rows, as Keras 3's
array adapter on TensorFlow), against Keras with the same weights; tf.gather of ragged rows."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

RNG = np.random.default_rng(0)
DENSE = ((RNG.random((24, 10)) < 0.3) * RNG.normal(size=(24, 10))).astype(np.float32)
Y = RNG.normal(size=(24, 1)).astype(np.float32)
ROWS = [[1, 2, 3], [4], [5, 6], [7, 8, 9, 1], [2], [3, 3]] * 4


def _sparse_model(k):
    inp = k.Input(shape=(10,), sparse=True)
    model = k.Model(inp, k.layers.Dense(1)(k.layers.Dense(4, activation="relu")(inp)))
    model.compile(k.optimizers.SGD(0.05), "mse")
    return model


def _ragged_model(k):
    model = k.Sequential([k.Input(shape=(None,), dtype="int32", ragged=True), k.layers.Embedding(10, 4),
                          k.layers.GlobalAveragePooling1D(), k.layers.Dense(1)])
    model.compile(k.optimizers.SGD(0.05), "mse")
    return model


def test_fit_with_sparse_and_ragged_x():
    sp = tf.sparse.from_dense(DENSE)
    model = _sparse_model(keras)
    history = model.fit(sp, Y, epochs=3, batch_size=8, shuffle=True, verbose=0)
    assert len(history.history["loss"]) == 3
    np.testing.assert_allclose(model.predict(sp, verbose=0), model.predict(DENSE, verbose=0), rtol=1e-5, atol=1e-6)
    rt = tf.ragged.constant(ROWS)
    model = _ragged_model(keras)
    history = model.fit(rt, Y, epochs=2, batch_size=5, shuffle=True, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.predict(rt, verbose=0).shape == (24, 1)
    assert np.isfinite(model.evaluate(rt, Y, verbose=0))


@pytest.mark.oracle
def test_composite_fit_matches_keras():
    ttf = pytest.importorskip("tensorflow")
    tk = ttf.keras
    for build, ours_x, theirs_x in ((_sparse_model, tf.sparse.from_dense(DENSE), ttf.sparse.from_dense(DENSE)),
                                   (_ragged_model, tf.ragged.constant(ROWS), ttf.ragged.constant(ROWS))):
        theirs = build(tk)
        ours = build(keras)
        ours.set_weights(theirs.get_weights())
        np.testing.assert_allclose(ours.predict(ours_x, verbose=0), theirs.predict(theirs_x, verbose=0),
                                   rtol=1e-5, atol=1e-6)
        ours.fit(ours_x, Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        theirs.fit(theirs_x, Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.oracle
def test_gather_ragged_rows_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    value = [[[1], [2, 3]], [[4]], [[5, 6]], []]
    for idx in ([2, 0, 3, 0], 1, np.zeros(0, np.int64)):
        got, expected = tf.gather(tf.ragged.constant(value), idx), ttf.gather(ttf.ragged.constant(value), idx)
        assert got.to_list() == expected.to_list()
    with pytest.raises(tf.errors.InvalidArgumentError, match="not in"):
        tf.gather(tf.ragged.constant(value), [4])
    with pytest.raises(ValueError, match="axis 0"):
        tf.gather(tf.ragged.constant(value), [0], axis=1)

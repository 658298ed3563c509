"""tf.nn.RNNCellDropoutWrapper / RNNCellResidualWrapper / RNNCellDeviceWrapper inside
keras.layers.RNN, against TF's (its legacy Keras cells with the same weights)."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

X = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)


def _legacy(ttf):
    try:
        from tensorflow.python.keras.layers import recurrent
    except ImportError:  # pragma: no cover - TF without its legacy Keras
        pytest.skip("TensorFlow's legacy Keras cells are not available")
    return recurrent


def _run_both(make_ours, make_theirs, cell_ours, cell_theirs):
    ttf = pytest.importorskip("tensorflow")
    recurrent = _legacy(ttf)
    theirs = recurrent.RNN(make_theirs(cell_theirs(recurrent)), return_sequences=True, return_state=True)
    want = theirs(X)
    ours = keras.layers.RNN(make_ours(cell_ours()), return_sequences=True, return_state=True)
    ours(X)
    ours.set_weights([w.numpy() for w in theirs.weights])
    got = ours(X)
    for g, w in zip(tf.nest.flatten(got), ttf.nest.flatten(want), strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-5)
    return ours


@pytest.mark.oracle
def test_residual_wrapper_matches_tf():
    ttf = pytest.importorskip("tensorflow")
    _run_both(tf.nn.RNNCellResidualWrapper, ttf.nn.RNNCellResidualWrapper,
              lambda: keras.layers.SimpleRNNCell(3), lambda r: r.SimpleRNNCell(3))
    _run_both(lambda c: tf.nn.RNNCellResidualWrapper(c, residual_fn=lambda i, o: o - i),
              lambda c: ttf.nn.RNNCellResidualWrapper(c, residual_fn=lambda i, o: o - i),
              lambda: keras.layers.GRUCell(3), lambda r: r.GRUCell(3, reset_after=True, recurrent_activation="sigmoid"))


@pytest.mark.oracle
def test_device_and_no_op_dropout_wrappers_match_tf():
    ttf = pytest.importorskip("tensorflow")
    _run_both(lambda c: tf.nn.RNNCellDeviceWrapper(c, "/cpu:0"), lambda c: ttf.nn.RNNCellDeviceWrapper(c, "/cpu:0"),
              lambda: keras.layers.LSTMCell(4), lambda r: r.LSTMCell(4, recurrent_activation="sigmoid"))
    _run_both(tf.nn.RNNCellDropoutWrapper, ttf.nn.RNNCellDropoutWrapper,
              lambda: keras.layers.SimpleRNNCell(4), lambda r: r.SimpleRNNCell(4))


def test_dropout_wrapper_drops_and_rescales_every_call():
    cell = tf.nn.RNNCellDropoutWrapper(keras.layers.SimpleRNNCell(64), output_keep_prob=0.5, seed=3)
    layer = keras.layers.RNN(cell, return_sequences=True)
    plain = keras.layers.RNN(cell.cell, return_sequences=True)
    x = np.ones((8, 4, 3), np.float32)
    y, ref = layer(x).numpy(), plain(x).numpy()   # dropout on outputs only: the states are the cell's
    kept = y != 0
    assert 0.35 < kept.mean() < 0.65
    np.testing.assert_allclose(y[kept], 2.0 * ref[kept], rtol=1e-5, atol=1e-6)
    assert not np.array_equal(layer(x).numpy() != 0, kept)   # a fresh mask on each call (no training flag)


def test_variational_dropout_reuses_one_mask_per_step():
    cell = tf.nn.RNNCellDropoutWrapper(keras.layers.SimpleRNNCell(32), output_keep_prob=0.5, state_keep_prob=1.0,
                                       variational_recurrent=True, dtype=tf.float32, seed=1)
    y = keras.layers.RNN(cell, return_sequences=True)(np.ones((1, 6, 2), np.float32)).numpy()
    masks = y[0] != 0
    assert (masks == masks[0]).all()   # the same units dropped at every step
    with pytest.raises(ValueError, match="dtype must be provided"):
        tf.nn.RNNCellDropoutWrapper(keras.layers.SimpleRNNCell(2), variational_recurrent=True)
    with pytest.raises(ValueError, match="input_size must be provided"):
        tf.nn.RNNCellDropoutWrapper(keras.layers.SimpleRNNCell(2), input_keep_prob=0.5, variational_recurrent=True,
                                    dtype=tf.float32)
    with pytest.raises(ValueError, match="between 0 and 1"):
        tf.nn.RNNCellDropoutWrapper(keras.layers.SimpleRNNCell(2), output_keep_prob=1.5)


def test_state_filter_and_config_round_trip():
    keep_c = tf.nn.RNNCellDropoutWrapper(keras.layers.LSTMCell(16), state_keep_prob=0.5, seed=2,
                                         dropout_state_filter_visitor=lambda s: [True, False])
    keep_c.build(tf.TensorShape((4, 3)))
    h, c = keep_c.call(np.ones((4, 3), np.float32), [tf.zeros((4, 16)), tf.ones((4, 16))])[1]
    ref_h, ref_c = keep_c.cell.call(np.ones((4, 3), np.float32), [tf.zeros((4, 16)), tf.ones((4, 16))])[1]
    np.testing.assert_allclose(c.numpy(), ref_c.numpy())   # c is never dropped
    assert (h.numpy() == 0).any()
    wrapper = tf.nn.RNNCellResidualWrapper(keras.layers.GRUCell(3))
    again = tf.nn.RNNCellResidualWrapper.from_config(wrapper.get_config())
    assert isinstance(again.cell, keras.layers.GRUCell) and again.cell.units == 3
    with pytest.raises(ValueError, match="must match its input shape"):
        keras.layers.RNN(tf.nn.RNNCellResidualWrapper(keras.layers.GRUCell(5)))(X)

"""tf.compat.v1.metrics streaming metrics against TF's, in graph mode with several update batches."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow.compat.v1 as tf

RNG = np.random.default_rng(0)
BATCHES = [(RNG.integers(0, 2, 6), RNG.integers(0, 2, 6), RNG.random(6).astype(np.float32)) for _ in range(3)]
NAMES = ["accuracy", "mean_squared_error", "mean_absolute_error", "root_mean_squared_error", "true_positives",
         "false_positives", "true_negatives", "false_negatives", "precision", "recall"]


def _run(mod, name, weighted):
    g = mod.Graph()
    with g.as_default():
        labels = mod.placeholder(mod.float32, [6])
        preds = mod.placeholder(mod.float32, [6])
        w = mod.placeholder(mod.float32, [6]) if weighted else None
        value, update = getattr(mod.metrics, name)(labels, preds, weights=w)
        mean_value, mean_update = mod.metrics.mean(preds * 2.0, weights=w)
        out = []
        with mod.Session(graph=g) if mod is not tf else mod.Session() as sess:
            sess.run(mod.local_variables_initializer())
            out.append(sess.run(value))
            for lab, pred, wt in BATCHES:
                feed = {labels: lab, preds: pred}
                if weighted:
                    feed[w] = wt
                out.append(sess.run([update, mean_update], feed))
            out.append(sess.run([value, mean_value]))
    return out


@pytest.mark.oracle
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_tensorflow(name, weighted):
    ttf = pytest.importorskip("tensorflow")
    tf.reset_default_graph()
    ours = _run(tf, name, weighted)
    theirs = _run(ttf.compat.v1, name, weighted)
    np.testing.assert_allclose(np.asarray(ours[0]), np.asarray(theirs[0]), rtol=1e-6)
    for a, b in zip(ours[1:], theirs[1:], strict=True):
        np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=1e-5, atol=1e-6)


def test_local_variables_and_collections():
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None])
    value, update = tf.metrics.mean(x, metrics_collections=["m"], updates_collections=["u"])
    assert len(tf.local_variables()) == 2 and not tf.trainable_variables()
    assert tf.get_collection("m") == [value] and tf.get_collection("u") == [update]
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        assert sess.run(value) == 0.0
        assert sess.run(update, {x: [1.0, 2.0, 6.0]}) == pytest.approx(3.0)
        sess.run(update, {x: [5.0]})
        assert sess.run(value) == pytest.approx(3.5)

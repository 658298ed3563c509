"""tf.compat.v1.metrics over vector/matrix accumulators (auc, *_at_thresholds, mean_iou,
mean_per_class_accuracy, mean_tensor) and the derived means, against TF's in graph mode."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow.compat.v1 as tf
from tapeflow import errors

RNG = np.random.default_rng(1)
N = 8
BATCHES = [dict(lab=RNG.integers(0, 2, N).astype(np.float32), pred=RNG.random(N).astype(np.float32),
                w=RNG.random(N).astype(np.float32), cls=RNG.integers(0, 3, N), pcls=RNG.integers(0, 3, N),
                vec=RNG.normal(size=(N, 3)).astype(np.float32))
           for _ in range(3)]
THRESH = [0.25, 0.5, 0.75]

METRICS = {
    "auc_roc": lambda m, p: m.metrics.auc(p["lab"], p["pred"], weights=p["w"], num_thresholds=50),
    "auc_pr_careful": lambda m, p: m.metrics.auc(p["lab"], p["pred"], curve="PR",
                                                 summation_method="careful_interpolation"),
    "auc_pr_trapezoidal": lambda m, p: m.metrics.auc(p["lab"], p["pred"], curve="PR", num_thresholds=20),
    "auc_minoring": lambda m, p: m.metrics.auc(p["lab"], p["pred"], summation_method="minoring",
                                               thresholds=[0.7, 0.2, 0.4]),
    "auc_majoring": lambda m, p: m.metrics.auc(p["lab"], p["pred"], summation_method="majoring"),
    "tp_at": lambda m, p: m.metrics.true_positives_at_thresholds(p["lab"], p["pred"], THRESH, weights=p["w"]),
    "fp_at": lambda m, p: m.metrics.false_positives_at_thresholds(p["lab"], p["pred"], THRESH),
    "tn_at": lambda m, p: m.metrics.true_negatives_at_thresholds(p["lab"], p["pred"], THRESH),
    "fn_at": lambda m, p: m.metrics.false_negatives_at_thresholds(p["lab"], p["pred"], THRESH),
    "precision_at": lambda m, p: m.metrics.precision_at_thresholds(p["lab"], p["pred"], THRESH, weights=p["w"]),
    "recall_at": lambda m, p: m.metrics.recall_at_thresholds(p["lab"], p["pred"], THRESH),
    "mean_iou": lambda m, p: m.metrics.mean_iou(p["cls"], p["pcls"], 4, weights=p["w"]),
    "mean_per_class_accuracy": lambda m, p: m.metrics.mean_per_class_accuracy(p["cls"], p["pcls"], 4,
                                                                              weights=p["w"]),
    "mean_relative_error": lambda m, p: m.metrics.mean_relative_error(p["lab"], p["pred"], p["lab"] * 2.0,
                                                                      weights=p["w"]),
    "percentage_below": lambda m, p: m.metrics.percentage_below(p["pred"], 0.4, weights=p["w"]),
    "mean_cosine_distance": lambda m, p: m.metrics.mean_cosine_distance(
        m.nn.l2_normalize(p["vec"], 1), m.nn.l2_normalize(p["vec"] + 0.5, 1), dim=1, weights=p["w"][:, None]),
    "sensitivity_at_specificity": lambda m, p: m.metrics.sensitivity_at_specificity(p["lab"], p["pred"], 0.6,
                                                                                    weights=p["w"]),
    "specificity_at_sensitivity": lambda m, p: m.metrics.specificity_at_sensitivity(p["lab"], p["pred"], 0.5,
                                                                                    num_thresholds=30),
    "mean_tensor": lambda m, p: m.metrics.mean_tensor(p["vec"], weights=p["w"][:, None]),
}


def _run(mod, metric):
    with mod.Graph().as_default():
        ph = {"lab": mod.placeholder(mod.float32, [N]), "pred": mod.placeholder(mod.float32, [N]),
              "w": mod.placeholder(mod.float32, [N]), "cls": mod.placeholder(mod.int64, [N]),
              "pcls": mod.placeholder(mod.int64, [N]), "vec": mod.placeholder(mod.float32, [N, 3])}
        value, update = METRICS[metric](mod, ph)
        with mod.Session() as sess:
            sess.run(mod.local_variables_initializer())
            out = [sess.run(value)]
            for batch in BATCHES:
                out.append(sess.run(update, {ph[k]: v for k, v in batch.items()}))
            out.append(sess.run(value))
    return out


@pytest.mark.oracle
@pytest.mark.parametrize("metric", sorted(METRICS))
def test_matches_tensorflow(metric):
    ttf = pytest.importorskip("tensorflow")
    ours, theirs = _run(tf, metric), _run(ttf.compat.v1, metric)
    for a, b in zip(ours, theirs, strict=True):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=2e-5, atol=2e-6)


def test_errors_and_variables():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None])
        with pytest.raises(ValueError, match="Curve must be either ROC or PR. Curve XY is unknown."):
            tf.metrics.auc(x, x, curve="XY")
        with pytest.raises(ValueError, match="Invalid summation_method: mid"):
            tf.metrics.auc(x, x, summation_method="mid")
        value, update = tf.metrics.auc(x, x, num_thresholds=10)
        names = sorted(v.name for v in tf.local_variables())
        assert len(names) == 4 and all(n.startswith("auc/") for n in names)
        assert tf.get_collection("metric_variables") and not tf.trainable_variables()
        with tf.Session() as sess:
            sess.run(tf.local_variables_initializer())
            with pytest.raises(errors.InvalidArgumentError, match=r"predictions must be in \[0, 1\]"):
                sess.run(update, {x: [0.5, 1.5]})
            with pytest.raises(ValueError, match="fully defined static shape"):
                tf.metrics.mean_tensor(x)


SCORES = [RNG.random((N, 5)).astype(np.float32) for _ in range(3)]
MULTI = [RNG.integers(0, 5, (N, 2)) for _ in range(3)]
MULTI[0][0] = [7, 1]  # an id outside [0, num_classes)
TOP_K = {
    "precision_at_k": lambda m, lab, s, w: m.metrics.precision_at_k(lab, s, 2),
    "recall_at_k_class": lambda m, lab, s, w: m.metrics.recall_at_k(lab, s, 3, class_id=1, weights=w),
    "precision_at_top_k": lambda m, lab, s, w: m.metrics.precision_at_top_k(lab, m.nn.top_k(s, 2)[1], weights=w),
    "recall_at_top_k": lambda m, lab, s, w: m.metrics.recall_at_top_k(lab, m.nn.top_k(s, 1)[1]),
    "average_precision_at_k": lambda m, lab, s, w: m.metrics.average_precision_at_k(lab, s, 3, weights=w),
    "sparse_average_precision_at_k": lambda m, lab, s, w: m.metrics.sparse_average_precision_at_k(lab, s, 2),
    "sparse_precision_at_k": lambda m, lab, s, w: m.metrics.sparse_precision_at_k(lab, s, 1, class_id=2),
}


def _run_top_k(mod, metric, multi):
    with mod.Graph().as_default():
        lab = mod.placeholder(mod.int64, [N, 2] if multi else [N])
        s = mod.placeholder(mod.float32, [N, 5])
        w = mod.placeholder(mod.float32, [N])
        value, update = TOP_K[metric](mod, lab, s, w)
        with mod.Session() as sess:
            sess.run(mod.local_variables_initializer())
            out = [sess.run(value)]
            for i in range(3):
                labels = MULTI[i] if multi else BATCHES[i]["cls"]
                out.append(sess.run(update, {lab: labels, s: SCORES[i], w: BATCHES[i]["w"]}))
            out.append(sess.run(value))
    return out


@pytest.mark.oracle
@pytest.mark.parametrize("metric", sorted(TOP_K))
@pytest.mark.parametrize("multi", [False, True])
def test_top_k_matches_tensorflow(metric, multi):
    ttf = pytest.importorskip("tensorflow")
    ours, theirs = _run_top_k(tf, metric, multi), _run_top_k(ttf.compat.v1, metric, multi)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(np.float64(a), np.float64(b), rtol=1e-6)  # NaN before any prediction, as TF
    with tf.Graph().as_default(), pytest.raises(ValueError, match="k must be a non-negative integer"):
        tf.metrics.precision_at_k(tf.placeholder(tf.int64, [N]), tf.placeholder(tf.float32, [N, 5]), -1)

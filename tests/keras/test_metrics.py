"""keras.metrics: documented values, Keras 3 oracle with sample weights, API behaviour."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import activations, losses, metrics


@pytest.fixture(scope="module")
def K():
    return pytest.importorskip("keras", minversion="3")


RNG = np.random.default_rng(0)
P = RNG.uniform(0.0, 1.0, (6, 4)).astype("float32")
PN = P / P.sum(-1, keepdims=True)
Y01 = (RNG.uniform(size=(6, 4)) > 0.5).astype("float32")
ONEHOT = np.eye(4, dtype="float32")[[0, 2, 1, 1, 3, 0]]
LABELS = np.array([0, 2, 1, 1, 3, 0])
SW = np.array([1.0, 0.5, 2.0, 0.0, 1.0, 3.0], "float32")


def value(t):
    return np.asarray(t.numpy())


# ---------------------------------------------------------------------------------------------
# Documented values
# ---------------------------------------------------------------------------------------------

def test_mean_sum_by_hand():
    m = metrics.Mean()
    m.update_state([1, 3, 5, 7])
    assert float(m.result()) == pytest.approx(4.0)
    m.reset_state()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert float(m.result()) == pytest.approx(2.0)
    m.update_state(10.0)
    assert float(m.result()) == pytest.approx(14.0 / 3)
    s = metrics.Sum()
    s.update_state([1, 3, 5, 7])
    assert float(s.result()) == pytest.approx(16.0)
    assert float(metrics.Mean().result()) == 0.0  # nothing seen: 0, not nan


def test_accuracies_by_hand():
    m = metrics.Accuracy()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert float(m.result()) == pytest.approx(0.75)
    m = metrics.BinaryAccuracy()
    m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    assert float(m.result()) == pytest.approx(0.75)
    m = metrics.CategoricalAccuracy()
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    assert float(m.result()) == pytest.approx(0.5)
    m = metrics.SparseCategoricalAccuracy()
    m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], sample_weight=[0.7, 0.3])
    assert float(m.result()) == pytest.approx(0.3)
    # Ties at the top-k boundary count as in the top k (TF's in_top_k).
    got = value(metrics.sparse_top_k_categorical_accuracy([0, 3], [[0.5, 0.5, 0.5, 0.0],
                                                                   [0.1, 0.2, 0.3, 0.4]], k=1))
    np.testing.assert_array_equal(got, [1.0, 1.0])
    got = value(metrics.top_k_categorical_accuracy([[0, 0, 1], [0, 1, 0]],
                                                   [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], k=1))
    np.testing.assert_array_equal(got, [0.0, 1.0])


def test_confusion_metrics_by_hand():
    m = metrics.Precision()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert float(m.result()) == pytest.approx(2 / 3)
    m = metrics.Recall()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0])
    assert float(m.result()) == pytest.approx(1.0)
    m = metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert float(m.result()) == pytest.approx(0.75)
    m = metrics.Precision(thresholds=[0.2, 0.6])
    m.update_state([1, 0, 1], [0.5, 0.3, 0.9])
    np.testing.assert_allclose(value(m.result()), [2 / 3, 1.0])
    m = metrics.F1Score(threshold=0.5)
    m.update_state(np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], "float32"),
                   np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], "float32"))
    np.testing.assert_allclose(value(m.result()), [0.5, 0.8, 0.6666667], rtol=1e-5)


def test_rmse_and_loss_metrics_by_hand():
    m = metrics.RootMeanSquaredError()
    m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    assert float(m.result()) == pytest.approx(0.5)
    m = metrics.MeanSquaredError()
    m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]], sample_weight=[1, 0])
    assert float(m.result()) == pytest.approx(0.5)
    m = metrics.SparseCategoricalCrossentropy()
    m.update_state([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    assert float(m.result()) == pytest.approx((-np.log(0.95) - np.log(0.1)) / 2, rel=1e-5)


# ---------------------------------------------------------------------------------------------
# Oracle: the installed Keras 3, several updates with sample weights
# ---------------------------------------------------------------------------------------------

ORACLE_CASES = [
    ("Mean", {}, None, P), ("Sum", {}, None, P),
    ("Accuracy", {}, np.round(Y01), np.round(P)), ("BinaryAccuracy", {}, Y01, P),
    ("BinaryAccuracy", {"threshold": 0.7}, Y01, P), ("CategoricalAccuracy", {}, ONEHOT, P),
    ("SparseCategoricalAccuracy", {}, LABELS, P), ("SparseCategoricalAccuracy", {}, LABELS[:, None], P),
    ("TopKCategoricalAccuracy", {"k": 2}, ONEHOT, P), ("SparseTopKCategoricalAccuracy", {"k": 2}, LABELS, P),
    ("MeanSquaredError", {}, Y01, P), ("MeanAbsoluteError", {}, Y01, P),
    ("MeanAbsolutePercentageError", {}, Y01 + 1, P), ("MeanSquaredLogarithmicError", {}, Y01, P),
    ("RootMeanSquaredError", {}, Y01, P), ("CosineSimilarity", {}, Y01, P), ("LogCoshError", {}, Y01, P),
    ("KLDivergence", {}, PN, P), ("Poisson", {}, Y01, P), ("Hinge", {}, Y01, P), ("SquaredHinge", {}, Y01, P),
    ("CategoricalHinge", {}, ONEHOT, P), ("BinaryCrossentropy", {}, Y01, P),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, Y01, P * 4 - 2),
    ("CategoricalCrossentropy", {}, ONEHOT, PN),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, ONEHOT, P * 3),
    ("SparseCategoricalCrossentropy", {}, LABELS, PN),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS, P * 3),
    ("SparseCategoricalCrossentropy", {"ignore_class": 1}, LABELS, PN),
    ("Precision", {}, Y01, P), ("Recall", {}, Y01, P),
    ("Precision", {"thresholds": [0.2, 0.5, 0.8]}, Y01, P),
    ("Recall", {"thresholds": [0.0, 0.5, 1.0]}, Y01, P),
    ("Precision", {"top_k": 2}, Y01, P), ("Recall", {"class_id": 1}, Y01, P),
    ("TruePositives", {}, Y01, P), ("FalsePositives", {}, Y01, P),
    ("TrueNegatives", {"thresholds": [0.3, 0.6]}, Y01, P), ("FalseNegatives", {}, Y01, P),
    ("AUC", {}, Y01, P), ("AUC", {"curve": "PR"}, Y01, P),
    ("AUC", {"num_thresholds": 10, "summation_method": "minoring"}, Y01, P),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, Y01, P),
    ("AUC", {"thresholds": [0.1, 0.35, 0.7]}, Y01, P), ("AUC", {"multi_label": True}, Y01, P),
    ("AUC", {"multi_label": True, "num_labels": 4, "label_weights": [1, 2, 0.5, 1], "curve": "PR"}, Y01, P),
    ("AUC", {"label_weights": [1, 2, 0.5, 1]}, Y01, P), ("AUC", {"from_logits": True}, Y01, P * 4 - 2),
    ("F1Score", {}, ONEHOT, P), ("F1Score", {"average": "macro", "threshold": 0.4}, Y01, P),
    ("F1Score", {"average": "micro"}, Y01, P), ("F1Score", {"average": "weighted"}, ONEHOT, P),
    ("FBetaScore", {"beta": 2.0, "average": "macro"}, ONEHOT, P),
]


@pytest.mark.parametrize("name,kwargs,yt,yp", ORACLE_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(ORACLE_CASES)])
def test_matches_keras_with_sample_weights(K, name, kwargs, yt, yp):
    ours = getattr(metrics, name)(**kwargs)
    theirs = getattr(K.metrics, name)(**kwargs)
    args = (yp,) if yt is None else (yt, yp)
    for sw in (None, SW, SW * 2):
        ours.update_state(*args, sample_weight=sw)
        theirs.update_state(*args, sample_weight=sw)
    got = value(ours.result())
    want = np.asarray(theirs.result())
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert got.dtype == np.float32
    assert [tuple(v.shape) for v in ours.variables] == [tuple(v.shape) for v in theirs.variables]
    ours.reset_state()
    theirs.reset_state()
    np.testing.assert_allclose(value(ours.result()), np.asarray(theirs.result()), atol=1e-7)


def test_metric_functions_match_keras(K):
    for name, args in [("binary_accuracy", (Y01, P)), ("categorical_accuracy", (ONEHOT, P)),
                       ("sparse_categorical_accuracy", (LABELS, P)),
                       ("top_k_categorical_accuracy", (ONEHOT, P)),
                       ("sparse_top_k_categorical_accuracy", (LABELS, P))]:
        np.testing.assert_allclose(value(getattr(metrics, name)(*args)),
                                   np.asarray(getattr(K.metrics, name)(*args)), err_msg=name)


def test_softmax_output_metric_uses_logits_like_keras(K):
    z = np.array([[30.0, -30.0, 0.0], [1.0, 2.0, 3.0]], "float32")
    ours = metrics.SparseCategoricalCrossentropy()
    ours.update_state([1, 0], activations.softmax(tf.constant(z)))
    theirs = K.metrics.SparseCategoricalCrossentropy()
    theirs.update_state(np.array([1, 0]), K.activations.softmax(z))
    assert float(ours.result()) == pytest.approx(float(np.asarray(theirs.result())), rel=1e-6)


# ---------------------------------------------------------------------------------------------
# API behaviour
# ---------------------------------------------------------------------------------------------

def test_state_variables_and_call():
    m = metrics.Mean(name="loss_mean")
    assert m.name == "loss_mean" and m.dtype == "float32"
    assert [v.name.split(":")[0] for v in m.variables] == ["total", "count"]
    assert all(not v.trainable for v in m.variables)
    out = m([2.0, 4.0])
    assert float(out) == pytest.approx(3.0)
    assert metrics.Precision().name.startswith("precision")


def test_updates_are_not_recorded_on_tapes():
    x = tf.Variable(P)
    m = metrics.MeanSquaredError()
    m2 = metrics.BinaryCrossentropy()
    with tf.GradientTape() as tape:
        y = activations.sigmoid(x * 2.0)
        n = len(tape._records)
        m.update_state(Y01, y)
        m2.update_state(Y01, y)
        metrics.AUC().update_state(Y01, y)
        assert len(tape._records) == n


def test_custom_metric_subclass_and_wrapper():
    class Largest(metrics.Metric):
        def __init__(self, name="largest", **kwargs):
            super().__init__(name=name, **kwargs)
            self.biggest = self.add_weight(shape=(), initializer="zeros", name="biggest")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.biggest.assign(max(float(self.biggest.numpy()), float(np.max(y_pred))))

        def result(self):
            return self.biggest

    m = Largest()
    m.update_state(None, [1.0, 5.0])
    m.update_state(None, [3.0])
    assert float(m.result()) == 5.0
    m.reset_state()
    assert float(m.result()) == 0.0

    def abs_err(y_true, y_pred):
        return tf.reduce_mean(tf.abs(tf.cast(y_true, tf.float32) - y_pred), axis=-1)

    w = metrics.MeanMetricWrapper(abs_err, name="abs_err")
    w.update_state([[1.0, 0.0]], [[0.5, 0.5]])
    assert float(w.result()) == pytest.approx(0.5)
    assert w.name == "abs_err"


def test_get_strings_and_errors():
    for name, cls in [("binary_accuracy", metrics.BinaryAccuracy),
                      ("categorical_accuracy", metrics.CategoricalAccuracy),
                      ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
                      ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
                      ("mse", metrics.MeanSquaredError), ("mae", metrics.MeanAbsoluteError),
                      ("mape", metrics.MeanAbsolutePercentageError), ("auc", metrics.AUC),
                      ("AUC", metrics.AUC), ("precision", metrics.Precision), ("recall", metrics.Recall),
                      ("f1_score", metrics.F1Score),
                      ("root_mean_squared_error", metrics.RootMeanSquaredError),
                      ("binary_crossentropy", metrics.BinaryCrossentropy),
                      ("sparse_categorical_crossentropy", metrics.SparseCategoricalCrossentropy),
                      ("accuracy", metrics.Accuracy)]:
        assert type(metrics.get(name)) is cls, name
    inst = metrics.AUC()
    assert metrics.get(inst) is inst
    assert metrics.get(metrics.binary_accuracy) is metrics.binary_accuracy
    assert isinstance(metrics.get(metrics.Recall), metrics.Recall)
    with pytest.raises(ValueError, match="Valid names:.*binary_accuracy"):
        metrics.get("binary_acuracy")
    assert metrics.mse is losses.mean_squared_error


@pytest.mark.parametrize("cls", [c for c in metrics._CLASSES
                                 if c not in (metrics.Metric, metrics.MeanMetricWrapper)])
def test_config_round_trip(cls):
    m = cls(name="custom")
    config = m.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    again = metrics.deserialize(metrics.serialize(m))
    assert type(again) is cls and again.name == "custom"
    wrapped = metrics.MeanMetricWrapper(losses.huber, name="h", delta=0.5)
    clone = metrics.MeanMetricWrapper.from_config(wrapped.get_config())
    assert clone._fn is losses.huber and clone._fn_kwargs == {"delta": 0.5}


def test_bad_arguments():
    with pytest.raises(ValueError, match="Threshold"):
        metrics.Precision(thresholds=[1.5])
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XYZ")
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="average"):
        metrics.F1Score(average="mean")
    with pytest.raises(ValueError, match="2D"):
        metrics.F1Score().update_state([1.0, 0.0], [1.0, 0.0])


@pytest.mark.skipif(not tf.backend.gpu_available(), reason="needs CuPy and a GPU")
def test_gpu_inputs_give_the_cpu_result():
    for name, args in [("SparseCategoricalAccuracy", (LABELS, P)), ("AUC", (Y01, P)), ("Precision", (Y01, P)),
                       ("MeanSquaredError", (Y01, P)), ("SparseCategoricalCrossentropy", (LABELS, PN)),
                       ("F1Score", (ONEHOT, P))]:
        cpu = getattr(metrics, name)()
        cpu.update_state(*args, sample_weight=SW)
        with tf.device("/GPU:0"):
            gpu = getattr(metrics, name)()
            gpu.update_state(*[tf.constant(a) for a in args], sample_weight=tf.constant(SW))
        np.testing.assert_allclose(value(gpu.result()), value(cpu.result()), rtol=1e-6, err_msg=name)

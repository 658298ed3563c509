"""keras.metrics IoU family, R2Score, Pearson/Concordance correlation and the
X-at-Y metrics: Keras 3 oracle (update_state / result / reset_state, configs), float64
gradients of the correlation functions, and use in compile/fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tapeflow import keras
from tapeflow.keras import metrics
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(21)


@pytest.fixture(scope="module")
def K():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras", minversion="3")


def _batches(kind):
    if kind == "sparse":
        return [(RNG.integers(0, 4, (6, 3)), RNG.integers(-1, 5, (6, 3)), RNG.integers(0, 3, (6, 3)))
                for _ in range(3)]
    if kind == "onehot":
        return [(np.eye(4)[RNG.integers(0, 4, 8)], RNG.uniform(size=(8, 4)).astype("float32"), None)
                for _ in range(3)]
    if kind == "binary":
        return [(RNG.integers(0, 2, 10), RNG.uniform(size=10).astype("float32"),
                 RNG.uniform(0, 2, 10).astype("float32")) for _ in range(3)]
    if kind == "scores":
        return [(RNG.integers(0, 2, (12, 3)), RNG.uniform(size=(12, 3)).astype("float32"),
                 RNG.uniform(0, 2, 12).astype("float32")) for _ in range(3)]
    if kind == "regression":
        return [(RNG.standard_normal((8, 3)).astype("float32"), RNG.standard_normal((8, 3)).astype("float32"),
                 RNG.uniform(0, 2, 8).astype("float32")) for _ in range(3)]
    raise AssertionError(kind)


CASES = [
    ("IoU", {"num_classes": 4, "target_class_ids": [0, 2]}, "sparse"),
    ("IoU", {"num_classes": 4, "target_class_ids": [3], "ignore_class": 1}, "sparse"),
    ("MeanIoU", {"num_classes": 4}, "sparse"),
    ("MeanIoU", {"num_classes": 4, "dtype": "float32"}, "sparse"),
    ("MeanIoU", {"num_classes": 4, "sparse_y_true": False, "sparse_y_pred": False}, "onehot"),
    ("OneHotIoU", {"num_classes": 4, "target_class_ids": [1, 2]}, "onehot"),
    ("OneHotMeanIoU", {"num_classes": 4, "ignore_class": 0}, "onehot"),
    ("BinaryIoU", {}, "binary"), ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3, "dtype": "float32"},
                                  "binary"),
    ("R2Score", {}, "regression"), ("R2Score", {"class_aggregation": None}, "regression"),
    ("R2Score", {"class_aggregation": "variance_weighted_average", "num_regressors": 2}, "regression"),
    ("PearsonCorrelation", {}, "regression"), ("PearsonCorrelation", {"axis": 0}, "regression"),
    ("ConcordanceCorrelation", {}, "regression"),
    ("SensitivityAtSpecificity", {"specificity": 0.6}, "binary"),
    ("SensitivityAtSpecificity", {"specificity": 0.3, "num_thresholds": 1}, "binary"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.7, "num_thresholds": 50}, "binary"),
    ("PrecisionAtRecall", {"recall": 0.5, "class_id": 1}, "scores"),
    ("RecallAtPrecision", {"precision": 0.6}, "binary"),
    ("RecallAtPrecision", {"precision": 0.4, "num_thresholds": 7, "class_id": 2}, "scores"),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_metrics_match_keras(K, name, kwargs, kind):
    ours = getattr(metrics, name)(**kwargs)
    theirs = getattr(K.metrics, name)(**kwargs)
    batches = _batches(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Per-sample weights cannot weight values reduced over the batch axis (Keras fails too).
        for weighted in (False,) if kwargs.get("axis") == 0 else (False, True):
            for yt, yp, sw in batches:
                sw = sw if weighted else None
                ours.update_state(yt, yp, sample_weight=sw)
                theirs.update_state(yt, yp, sample_weight=sw)
                np.testing.assert_allclose(ours.result().numpy(), np.asarray(theirs.result()), rtol=2e-5,
                                           atol=2e-6)
            for a, b in zip(ours.variables, theirs.variables, strict=True):
                np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=2e-5, atol=2e-5)
            ours.reset_state()
            theirs.reset_state()
            assert all(not np.asarray(v.numpy()).any() for v in ours.variables)
    config = ours.get_config()
    theirs_config = theirs.get_config()
    config.pop("name"), theirs_config.pop("name")
    assert config == theirs_config


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["pearson_correlation", "concordance_correlation"])
def test_correlation_functions_match_keras(K, name):
    yt, yp, _ = _batches("regression")[0]
    for axis in (-1, 0):
        got = getattr(metrics, name)(yt, yp, axis=axis).numpy()
        want = np.asarray(getattr(K.metrics, name)(yt, yp, axis=axis))
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", ["pearson_correlation", "concordance_correlation"])
def test_correlation_gradients_float64(name):
    yt, yp, _ = _batches("regression")[1]
    fn = getattr(metrics, name)
    check_gradients(lambda p: fn(yt.astype("float64"), p), [yp.astype("float64")])
    check_gradients(lambda t: fn(t, yp.astype("float64"), axis=0), [yt.astype("float64")])


def test_iou_by_hand():
    m = metrics.MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    assert float(m.result()) == pytest.approx(1 / 3, rel=1e-6)
    m = metrics.IoU(num_classes=3, target_class_ids=[0, 2])
    m.update_state([0, 0, 1], [0, 0, 1])  # class 2 never occurs: left out of the mean
    assert float(m.result()) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="out of range"):
        metrics.IoU(num_classes=2, target_class_ids=[2])


def test_r2_and_rate_metrics_by_hand():
    m = metrics.R2Score()
    m.update_state([[1.0], [4.0], [3.0]], [[2.0], [4.0], [4.0]])
    assert float(m.result()) == pytest.approx(0.5714286, rel=1e-6)
    with pytest.raises(ValueError, match="2D inputs"):
        metrics.R2Score().update_state([1.0, 2.0, 3.0, 4.0], [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="class_aggregation"):
        metrics.R2Score(class_aggregation="median")
    m = metrics.SensitivityAtSpecificity(0.5)
    m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    assert float(m.result()) == pytest.approx(0.5)
    m = metrics.RecallAtPrecision(0.8)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert float(m.result()) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="`recall` must be in the range"):
        metrics.PrecisionAtRecall(1.5)
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.PrecisionAtRecall(0.5, num_thresholds=0)


@pytest.mark.parametrize("cls,kwargs", [
    (metrics.IoU, {"num_classes": 3, "target_class_ids": [1]}), (metrics.MeanIoU, {"num_classes": 3}),
    (metrics.BinaryIoU, {"threshold": 0.4}), (metrics.OneHotIoU, {"num_classes": 3, "target_class_ids": [0]}),
    (metrics.OneHotMeanIoU, {"num_classes": 3}), (metrics.R2Score, {"num_regressors": 1}),
    (metrics.PearsonCorrelation, {"axis": 0}), (metrics.ConcordanceCorrelation, {}),
    (metrics.SensitivityAtSpecificity, {"specificity": 0.4}), (metrics.SpecificityAtSensitivity, {"sensitivity": 0.4}),
    (metrics.PrecisionAtRecall, {"recall": 0.4, "class_id": 1}), (metrics.RecallAtPrecision, {"precision": 0.4}),
])
def test_config_round_trip_and_lookup(cls, kwargs):
    m = cls(**kwargs)
    config = m.get_config()
    assert cls.from_config(config).get_config() == config
    again = metrics.deserialize(metrics.serialize(m))
    assert type(again) is cls and again.get_config() == config


def test_string_names_resolve():
    assert isinstance(metrics.get("r2_score"), metrics.R2Score)
    assert isinstance(metrics.get("pearson_correlation"), metrics.PearsonCorrelation)
    assert isinstance(metrics.get("ConcordanceCorrelation"), metrics.ConcordanceCorrelation)
    assert callable(metrics.pearson_correlation) and not isinstance(metrics.pearson_correlation, type)


def test_metrics_in_fit_and_evaluate():
    keras.utils.set_random_seed(3)
    x = RNG.standard_normal((48, 4)).astype("float32")
    y = np.stack([x[:, 0] - x[:, 1], x[:, 2] + 0.5 * x[:, 3]], axis=-1).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse",
                  metrics=["r2_score", "pearson_correlation", metrics.ConcordanceCorrelation()])
    history = model.fit(x, y, epochs=6, batch_size=12, verbose=0)
    assert history.history["r2_score"][-1] > history.history["r2_score"][0]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    ref = metrics.R2Score()
    ref.update_state(y, model.predict(x, verbose=0))
    assert logs["r2_score"] == pytest.approx(float(ref.result()), rel=1e-4)

    labels = (x[:, 0] > 0).astype("int32")
    keras.backend.clear_session()  # default metric names count instances, as in Keras
    clf = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    clf.compile(optimizer="adam", loss="binary_crossentropy",
                metrics=[metrics.BinaryIoU(), metrics.PrecisionAtRecall(0.5), metrics.SensitivityAtSpecificity(0.5)])
    logs = clf.fit(x, labels, epochs=2, batch_size=16, verbose=0).history
    assert {"binary_io_u", "precision_at_recall", "sensitivity_at_specificity"} <= set(logs)
    keras.backend.clear_session()
    seg = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    seg.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                metrics=[metrics.MeanIoU(num_classes=3, sparse_y_pred=False)])
    logs = seg.fit(x, RNG.integers(0, 3, 48), epochs=1, batch_size=16, verbose=0).history
    assert 0.0 <= logs["mean_io_u"][0] <= 1.0

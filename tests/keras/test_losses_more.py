"""keras.losses CTC, Circle and CategoricalGeneralizedCrossEntropy: Keras 3 oracle (values and
gradients), float64 gradient checks, configs, lookup and training through compile/fit."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import losses
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(7)
EMB = RNG.standard_normal((8, 5)).astype("float32")
EMB /= np.linalg.norm(EMB, axis=-1, keepdims=True)
EMB_LABELS = np.array([0, 0, 1, 1, 2, 2, 3, 0])
REF = RNG.standard_normal((6, 5)).astype("float32")
REF /= np.linalg.norm(REF, axis=-1, keepdims=True)
REF_LABELS = np.array([0, 1, 2, 3, 1, 0])
PROBS = RNG.uniform(0.05, 1.0, (6, 4)).astype("float32")
PROBS /= PROBS.sum(-1, keepdims=True)
GCE_LABELS = np.array([0, 3, 1, 2, 2, 0])
CTC_LABELS = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [2, 0, 0, 0]], "int32")
CTC_LOGITS = RNG.standard_normal((3, 7, 4)).astype("float32")
SW = np.array([1.0, 0.5, 2.0, 0.0, 1.5, 1.0, 1.0, 0.3], "float32")


@pytest.fixture(scope="module")
def K():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras", minversion="3")


def _keras_value_and_grad(K, fn, *args):
    import tensorflow as real_tf

    pred = real_tf.Variable(args[1])
    with real_tf.GradientTape() as tape:
        value = fn(args[0], pred, *args[2:])
        total = real_tf.reduce_sum(value)
    return np.asarray(value), np.asarray(tape.gradient(total, pred))


def _ours_value_and_grad(fn, *args):
    pred = tf.Variable(args[1])
    with tf.GradientTape() as tape:
        value = fn(args[0], pred, *args[2:])
        total = tf.reduce_sum(value)
    return value.numpy(), tape.gradient(total, pred).numpy()


CASES = [
    ("circle", {}, EMB_LABELS, EMB),
    ("circle", {"gamma": 20.0, "margin": 0.25, "remove_diagonal": False}, EMB_LABELS, EMB),
    ("circle", {"ref_labels": REF_LABELS, "ref_embeddings": REF}, EMB_LABELS, EMB),
    ("categorical_generalized_cross_entropy", {"q": 0.5}, GCE_LABELS, PROBS),
    ("categorical_generalized_cross_entropy", {"q": 0.2}, GCE_LABELS.astype("float32"), PROBS),
    ("ctc", {}, CTC_LABELS, CTC_LOGITS),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name,kwargs,yt,yp", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_functions_match_keras_values_and_gradients(K, name, kwargs, yt, yp):
    want, want_grad = _keras_value_and_grad(K, lambda a, b: getattr(K.losses, name)(a, b, **kwargs), yt, yp)
    got, got_grad = _ours_value_and_grad(lambda a, b: getattr(losses, name)(a, b, **kwargs), yt, yp)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-4, atol=1e-5)


CLASS_CASES = [
    ("Circle", {}, EMB_LABELS, EMB),
    ("Circle", {"gamma": 10.0, "margin": 0.3}, EMB_LABELS, EMB),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.7}, GCE_LABELS, PROBS),
    ("CTC", {}, CTC_LABELS, CTC_LOGITS),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name,kwargs,yt,yp", CLASS_CASES, ids=[c[0] + str(i) for i, c in enumerate(CLASS_CASES)])
def test_classes_match_keras_for_every_reduction(K, name, kwargs, yt, yp):
    n = len(yt)
    for reduction in ("sum_over_batch_size", "sum", "mean_with_sample_weight", "none", None):
        for sw in (None, SW[:n]):
            ours = getattr(losses, name)(reduction=reduction, **kwargs)
            theirs = getattr(K.losses, name)(reduction=reduction, **kwargs)
            got = np.asarray(ours(yt, yp, sample_weight=sw).numpy())
            want = np.asarray(theirs(yt, yp, sample_weight=sw))
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5, err_msg=f"{reduction} {sw}")


def test_circle_averages_over_positive_losses_only():
    values = losses.circle(EMB_LABELS, EMB, gamma=2.0).numpy()
    values_none = losses.Circle(gamma=2.0, reduction="none")(EMB_LABELS, EMB).numpy()
    np.testing.assert_allclose(values, values_none, rtol=1e-6)
    # Sample 6 (label 3) has no positive: its loss is softplus(-inf) = 0 and it is left out.
    assert values[6] == 0.0 and (values[:6] > 0).all()
    mean = float(losses.Circle(gamma=2.0)(EMB_LABELS, EMB))
    assert mean == pytest.approx(values[values > 0].mean(), rel=1e-6)


GRAD_CASES = [
    ("circle", {"gamma": 3.0}, EMB_LABELS),
    ("circle", {"gamma": 3.0, "ref_labels": REF_LABELS, "ref_embeddings": REF.astype("float64")}, EMB_LABELS),
    ("categorical_generalized_cross_entropy", {"q": 0.4}, GCE_LABELS),
    ("ctc", {}, CTC_LABELS),
]


@pytest.mark.parametrize("name,kwargs,yt", GRAD_CASES, ids=[c[0] + str(i) for i, c in enumerate(GRAD_CASES)])
def test_float64_gradients(name, kwargs, yt):
    yp = {"circle": EMB, "categorical_generalized_cross_entropy": PROBS, "ctc": CTC_LOGITS}[name]
    fn = getattr(losses, name)
    check_gradients(lambda p: fn(yt, p, **kwargs), [yp.astype("float64")])


@pytest.mark.parametrize("cls,kwargs", [
    (losses.CTC, {}), (losses.Circle, {"gamma": 5.0, "margin": 0.1, "remove_diagonal": False}),
    (losses.CategoricalGeneralizedCrossEntropy, {"q": 0.3}),
])
def test_config_round_trip_and_lookup(cls, kwargs):
    loss = cls(reduction="sum", **kwargs)
    config = loss.get_config()
    again = cls.from_config(config)
    assert again.get_config() == config
    rebuilt = losses.deserialize(losses.serialize(loss))
    assert type(rebuilt) is cls and rebuilt.get_config() == config
    assert isinstance(losses.get(cls.__name__), cls)


@pytest.mark.oracle
def test_configs_match_keras(K):
    for name, kwargs in (("CTC", {}), ("Circle", {"gamma": 5.0}), ("CategoricalGeneralizedCrossEntropy", {"q": 0.3})):
        ours = getattr(losses, name)(**kwargs).get_config()
        theirs = getattr(K.losses, name)(**kwargs).get_config()
        assert ours == theirs


def test_function_names_resolve():
    assert losses.get("ctc") is losses.ctc
    assert losses.get("circle") is losses.circle
    assert losses.get("categorical_generalized_cross_entropy") is losses.categorical_generalized_cross_entropy


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="q must be in the interval"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.0)
    with pytest.raises(ValueError, match="y_true.shape"):
        losses.ctc(np.zeros((3,)), CTC_LOGITS)
    with pytest.raises(ValueError, match="y_pred.shape"):
        losses.ctc(CTC_LABELS, CTC_LOGITS[0])


def test_losses_train_in_fit():
    tf.random.set_seed(1)
    x = RNG.standard_normal((32, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + 2 * (x[:, 1] > 0).astype("int32")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss=losses.CategoricalGeneralizedCrossEntropy(q=0.5))
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8),
                              keras.layers.UnitNormalization() if hasattr(keras.layers, "UnitNormalization")
                              else keras.layers.Lambda(lambda t: tf.math.l2_normalize(t, axis=-1))])
    model.compile(optimizer="sgd", loss="circle")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first

    seq = RNG.standard_normal((6, 7, 3)).astype("float32")
    labels = np.tile(CTC_LABELS, (2, 1))
    model = keras.Sequential([keras.Input((7, 3)), keras.layers.Dense(4)])
    model.compile(optimizer="adam", loss="ctc")
    history = model.fit(seq, labels, epochs=2, batch_size=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


MASK_X = np.array([[[1.0], [2.0], [0.0]], [[3.0], [0.0], [0.0]]], "float32")
MASK_Y = np.array([[[1.0], [1.0], [5.0]], [[2.0], [7.0], [7.0]]], "float32")


def _masked_model(lib):
    return lib.Sequential([lib.Input((3, 1)), lib.layers.Masking(0.0), lib.layers.TimeDistributed(
        lib.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros"))])


@pytest.mark.oracle
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_a_mask_on_y_pred_leaves_entries_out_like_keras(K, reduction):
    ours_model, theirs_model = _masked_model(keras), _masked_model(K)
    sw = np.array([[1.0, 3.0, 1.0], [2.0, 2.0, 2.0]], "float32")  # (2,) weights fail in Keras too
    for name in ("MeanSquaredError", "MeanAbsoluteError", "Huber"):
        for weights in (None, sw):
            got = getattr(losses, name)(reduction=reduction)(MASK_Y, ours_model(MASK_X), sample_weight=weights)
            want = getattr(K.losses, name)(reduction=reduction)(MASK_Y, theirs_model(MASK_X), sample_weight=weights)
            np.testing.assert_allclose(got.numpy(), np.asarray(want), rtol=1e-6, err_msg=f"{name} {weights}")
    for run_eagerly in (False, True):
        ours_model.compile(loss="mse", run_eagerly=run_eagerly)
        theirs_model.compile(loss="mse")
        assert ours_model.evaluate(MASK_X, MASK_Y, verbose=0) == pytest.approx(
            theirs_model.evaluate(MASK_X, MASK_Y, verbose=0), rel=1e-6)

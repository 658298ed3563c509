"""keras.losses: hand-computed values, Keras 3 oracle, float64 gradients, lookup and configs."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import activations, losses
from tapeflow.testing import check_gradients


@pytest.fixture(scope="module")
def K():
    return pytest.importorskip("keras", minversion="3")


RNG = np.random.default_rng(0)
P = RNG.uniform(0.05, 0.95, (5, 4)).astype("float32")  # probabilities (rows not normalised)
PN = P / P.sum(-1, keepdims=True)
Y01 = (RNG.uniform(size=(5, 4)) > 0.5).astype("float32")
ONEHOT = np.eye(4, dtype="float32")[[0, 2, 1, 3, 3]]
LABELS = np.array([0, 2, 1, 3, 3])
LOGITS = RNG.standard_normal((5, 4)).astype("float32") * 2
YREG = RNG.standard_normal((5, 4)).astype("float32")
SW = np.array([1.0, 0.5, 2.0, 0.0, 1.5], "float32")


def np_(t):
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


# ---------------------------------------------------------------------------------------------
# Hand-computed values
# ---------------------------------------------------------------------------------------------

def test_mse_mae_by_hand():
    yt = [[0.0, 1.0], [0.0, 0.0]]
    yp = [[1.0, 1.0], [1.0, 0.0]]
    np.testing.assert_allclose(np_(losses.mean_squared_error(yt, yp)), [0.5, 0.5])
    np.testing.assert_allclose(np_(losses.mean_absolute_error(yt, yp)), [0.5, 0.5])
    assert float(losses.MeanSquaredError()(yt, yp)) == pytest.approx(0.5)
    assert float(losses.MeanSquaredError(reduction="sum")(yt, yp)) == pytest.approx(1.0)
    # weights [0.7, 0.3]: (0.5 * 0.7 + 0.5 * 0.3) / 2
    assert float(losses.MeanSquaredError()(yt, yp, sample_weight=[0.7, 0.3])) == pytest.approx(0.25)
    np.testing.assert_allclose(np_(losses.MeanSquaredError(reduction=None)(yt, yp)), [0.5, 0.5])


def test_crossentropies_by_hand():
    # -log(0.95) for the right class; rows normalised first.
    v = np_(losses.categorical_crossentropy([[0, 1, 0]], [[0.05, 0.95, 0.0]]))
    assert v[0] == pytest.approx(-math.log(0.95), rel=1e-6)
    v = np_(losses.sparse_categorical_crossentropy([1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]))
    np.testing.assert_allclose(v, [-math.log(0.95), -math.log(0.1)], rtol=1e-5)
    # Unnormalised probabilities: categorical CE normalises them to sum 1.
    v = np_(losses.categorical_crossentropy([[1.0, 0.0]], [[2.0, 2.0]]))
    assert v[0] == pytest.approx(math.log(2.0), rel=1e-6)
    # Binary: mean over the last axis of -(y log p + (1 - y) log(1 - p)).
    v = np_(losses.binary_crossentropy([[0.0, 1.0]], [[0.4, 0.6]]))
    assert v[0] == pytest.approx(-math.log(0.6), rel=1e-6)
    # Clipping at 1e-7: p = 0 for a positive label gives -log(1e-7).
    v = np_(losses.binary_crossentropy([[1.0]], [[0.0]]))
    assert v[0] == pytest.approx(-math.log(1e-7), rel=1e-4)
    # Label smoothing 0.2: targets 1 -> 0.9 and 0 -> 0.1.
    v = np_(losses.binary_crossentropy([[1.0]], [[0.7]], label_smoothing=0.2))
    assert v[0] == pytest.approx(-(0.9 * math.log(0.7) + 0.1 * math.log(0.3)), rel=1e-5)


def test_huber_hinge_by_hand():
    v = np_(losses.huber([[0.0, 0.0]], [[0.5, 3.0]], delta=1.0))
    assert v[0] == pytest.approx((0.125 + (3.0 - 0.5)) / 2)
    # 0/1 labels become -1/1: max(1 - y * p, 0).
    v = np_(losses.hinge([[0.0, 1.0]], [[0.3, 0.4]]))
    assert v[0] == pytest.approx((1.3 + 0.6) / 2)
    v = np_(losses.categorical_hinge([[0.0, 1.0, 0.0]], [[0.2, 0.5, 0.6]]))
    assert v[0] == pytest.approx(0.6 - 0.5 + 1.0)


def test_reductions_by_hand():
    values_fn = losses.LossFunctionWrapper(lambda yt, yp: tf.reduce_mean(yp - yt, axis=-1))
    yt = np.zeros((3, 1), "float32")
    yp = np.array([[1.0], [2.0], [3.0]], "float32")
    assert float(values_fn(yt, yp)) == pytest.approx(2.0)
    sw = [1.0, 0.0, 2.0]
    for reduction, want in [("sum_over_batch_size", 7.0 / 3), ("mean", 7.0 / 3), ("sum", 7.0),
                            ("mean_with_sample_weight", 7.0 / 3)]:
        values_fn.reduction = reduction
        assert float(values_fn(yt, yp, sample_weight=sw)) == pytest.approx(want), reduction
    values_fn.reduction = "none"
    np.testing.assert_allclose(np_(values_fn(yt, yp, sample_weight=sw)), [1.0, 0.0, 6.0])
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")


# ---------------------------------------------------------------------------------------------
# Oracle: the installed Keras 3
# ---------------------------------------------------------------------------------------------

FUNCTION_CASES = [
    ("mean_squared_error", {}, YREG, LOGITS),
    ("mean_absolute_error", {}, YREG, LOGITS),
    ("mean_absolute_percentage_error", {}, YREG, LOGITS),
    ("mean_squared_logarithmic_error", {}, np.abs(YREG), P),
    ("cosine_similarity", {}, YREG, LOGITS),
    ("cosine_similarity", {"axis": 0}, YREG, LOGITS),
    ("huber", {}, YREG, LOGITS),
    ("huber", {"delta": 0.3}, YREG, LOGITS),
    ("log_cosh", {}, YREG, LOGITS),
    ("hinge", {}, Y01, LOGITS),
    ("hinge", {}, Y01 * 2 - 1, LOGITS),
    ("squared_hinge", {}, Y01, LOGITS),
    ("categorical_hinge", {}, ONEHOT, LOGITS),
    ("kl_divergence", {}, PN, P),
    ("poisson", {}, np.abs(YREG), P),
    ("binary_crossentropy", {}, Y01, P),
    ("binary_crossentropy", {"from_logits": True}, Y01, LOGITS),
    ("binary_crossentropy", {"label_smoothing": 0.1}, Y01, P),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.3, "axis": 0}, Y01, LOGITS),
    ("binary_focal_crossentropy", {}, Y01, P),
    ("binary_focal_crossentropy", {"apply_class_balancing": True, "gamma": 1.5, "from_logits": True,
                                   "label_smoothing": 0.1}, Y01, LOGITS),
    ("categorical_crossentropy", {}, ONEHOT, P),
    ("categorical_crossentropy", {"from_logits": True}, ONEHOT, LOGITS),
    ("categorical_crossentropy", {"label_smoothing": 0.2}, ONEHOT, P),
    ("categorical_crossentropy", {"from_logits": True, "axis": 0}, ONEHOT, LOGITS),
    ("categorical_focal_crossentropy", {}, ONEHOT, P),
    ("categorical_focal_crossentropy", {"alpha": 0.5, "gamma": 1.0, "from_logits": True,
                                        "label_smoothing": 0.1}, ONEHOT, LOGITS),
    ("sparse_categorical_crossentropy", {}, LABELS, P),
    ("sparse_categorical_crossentropy", {"from_logits": True}, LABELS, LOGITS),
    ("sparse_categorical_crossentropy", {}, LABELS[:, None], P),
    ("sparse_categorical_crossentropy", {"ignore_class": 3}, LABELS, P),
    ("dice", {}, Y01, P),
    ("tversky", {"alpha": 0.3, "beta": 0.7}, Y01, P),
]


@pytest.mark.parametrize("name,kwargs,yt,yp", FUNCTION_CASES, ids=[f"{c[0]}-{i}" for i, c in
                                                                   enumerate(FUNCTION_CASES)])
def test_functions_match_keras(K, name, kwargs, yt, yp):
    got = np_(getattr(losses, name)(yt, yp, **kwargs))
    want = np.asarray(getattr(K.losses, name)(yt, yp, **kwargs))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


CLASS_CASES = [
    ("MeanSquaredError", {}, YREG, LOGITS),
    ("MeanAbsoluteError", {}, YREG, LOGITS),
    ("MeanAbsolutePercentageError", {}, YREG, LOGITS),
    ("MeanSquaredLogarithmicError", {}, np.abs(YREG), P),
    ("CosineSimilarity", {}, YREG, LOGITS),
    ("Huber", {"delta": 0.5}, YREG, LOGITS),
    ("LogCosh", {}, YREG, LOGITS),
    ("Hinge", {}, Y01, LOGITS),
    ("SquaredHinge", {}, Y01, LOGITS),
    ("CategoricalHinge", {}, ONEHOT, LOGITS),
    ("KLDivergence", {}, PN, P),
    ("Poisson", {}, np.abs(YREG), P),
    ("BinaryCrossentropy", {}, Y01, P),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, Y01, LOGITS),
    ("BinaryFocalCrossentropy", {"gamma": 3.0}, Y01, P),
    ("CategoricalCrossentropy", {}, ONEHOT, P),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, ONEHOT, LOGITS),
    ("CategoricalFocalCrossentropy", {}, ONEHOT, P),
    ("SparseCategoricalCrossentropy", {}, LABELS, P),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS, LOGITS),
    ("SparseCategoricalCrossentropy", {"ignore_class": 2}, LABELS, P),
    ("Dice", {}, Y01, P),
    ("Tversky", {}, Y01, P),
]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


@pytest.mark.parametrize("name,kwargs,yt,yp", CLASS_CASES, ids=[f"{c[0]}-{i}" for i, c in
                                                                enumerate(CLASS_CASES)])
def test_classes_match_keras_for_every_reduction(K, name, kwargs, yt, yp):
    for reduction in REDUCTIONS:
        for sw in (None, SW, SW[:, None]):
            if name in ("Dice", "Tversky") and sw is not None:
                continue  # per-batch scalars: no per-sample weights
            ours = getattr(losses, name)(reduction=reduction, **kwargs)
            theirs = getattr(K.losses, name)(reduction=reduction, **kwargs)
            got = np_(ours(yt, yp, sample_weight=sw))
            want = np.asarray(theirs(yt, yp, sample_weight=sw))
            np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6, err_msg=f"{reduction} {sw}")


def test_rank_mismatch_and_integer_targets_match_keras(K):
    yt = np.array([1.0, 0.0, 2.0], "float32")
    yp = np.array([[0.5], [0.1], [1.5]], "float32")
    for cls in ("MeanSquaredError", "MeanAbsoluteError", "Huber", "LogCosh"):
        got = float(getattr(losses, cls)()(yt, yp))
        want = float(getattr(K.losses, cls)()(yt, yp))
        assert got == pytest.approx(want, rel=1e-6), cls
    got = float(losses.BinaryCrossentropy()(np.array([[1], [0]]), np.array([[0.8], [0.3]], "float32")))
    want = float(K.losses.BinaryCrossentropy()(np.array([[1], [0]]), np.array([[0.8], [0.3]], "float32")))
    assert got == pytest.approx(want, rel=1e-6)


def test_softmax_output_uses_logits_like_keras(K):
    # Keras takes the logits behind a softmax/sigmoid output: exact even when saturated.
    z = np.array([[30.0, -30.0, 0.0], [1.0, 2.0, 3.0]], "float32")
    ours = losses.sparse_categorical_crossentropy([1, 0], activations.softmax(tf.constant(z)))
    theirs = K.losses.sparse_categorical_crossentropy(np.array([1, 0]), K.activations.softmax(z))
    np.testing.assert_allclose(np_(ours), np.asarray(theirs), rtol=1e-6)
    assert np_(ours)[0] == pytest.approx(60.0, rel=1e-5)  # not the clipped -log(1e-7) = 16.1
    ours = losses.categorical_crossentropy(ONEHOT[:2, :3], activations.softmax(tf.constant(z)))
    np.testing.assert_allclose(np_(ours), np.asarray(K.losses.categorical_crossentropy(
        ONEHOT[:2, :3], K.activations.softmax(z))), rtol=1e-6)
    zb = np.array([[40.0], [-3.0]], "float32")
    ours = losses.binary_crossentropy([[0.0], [1.0]], activations.sigmoid(tf.constant(zb)))
    theirs = K.losses.binary_crossentropy(np.array([[0.0], [1.0]]), K.activations.sigmoid(zb))
    np.testing.assert_allclose(np_(ours), np.asarray(theirs), rtol=1e-6)


def test_logits_path_gradient_reaches_the_logits():
    z = tf.Variable([[2.0, -1.0, 0.5]])
    with tf.GradientTape() as tape:
        loss = losses.SparseCategoricalCrossentropy()([0], activations.softmax(z))
    g = tape.gradient(loss, z).numpy()
    p = np.exp([2.0, -1.0, 0.5]) / np.exp([2.0, -1.0, 0.5]).sum()
    np.testing.assert_allclose(g[0], p - [1, 0, 0], rtol=1e-5)


def test_logits_registry_does_not_leak():
    before = len(activations._LOGITS)
    for _ in range(50):
        activations.softmax(tf.constant([[1.0, 2.0]]))
    assert len(activations._LOGITS) <= before + 1


# ---------------------------------------------------------------------------------------------
# Gradients (float64, central differences)
# ---------------------------------------------------------------------------------------------

G = np.random.default_rng(1)
GP = G.uniform(0.1, 0.9, (3, 4))
GY01 = (G.uniform(size=(3, 4)) > 0.5).astype("float64")
GONEHOT = np.eye(4)[[1, 0, 3]]
GREG = G.standard_normal((3, 4))
GRAD_CASES = [
    ("mean_squared_error", {}, GREG, GREG + 0.7),
    ("mean_absolute_error", {}, GREG, GREG + np.where(G.uniform(size=(3, 4)) > 0.5, 0.7, -0.7)),
    ("mean_absolute_percentage_error", {}, GREG + 3.0, GREG + 2.0),
    ("mean_squared_logarithmic_error", {}, np.abs(GREG), GP),
    ("cosine_similarity", {}, GREG, G.standard_normal((3, 4))),
    ("huber", {"delta": 1.0}, np.zeros((3, 4)), np.array([[0.3, -0.2, 2.5, -3.0]] * 3)),
    ("log_cosh", {}, GREG, G.standard_normal((3, 4))),
    ("hinge", {}, GY01, np.where(GY01 > 0, 0.5, -0.4)),
    ("squared_hinge", {}, GY01, np.where(GY01 > 0, 0.5, -0.4)),
    ("categorical_hinge", {}, GONEHOT, np.array([[0.1, 0.9, 0.3, 0.2], [0.8, 0.1, 0.4, 0.2],
                                                  [0.2, 0.3, 0.1, 0.7]])),
    ("kl_divergence", {}, GP / GP.sum(-1, keepdims=True), GP),
    ("poisson", {}, np.abs(GREG), GP + 0.5),
    ("binary_crossentropy", {}, GY01, GP),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, GY01, GREG),
    ("binary_focal_crossentropy", {}, GY01, GP),
    ("binary_focal_crossentropy", {"from_logits": True, "apply_class_balancing": True}, GY01, GREG),
    ("categorical_crossentropy", {}, GONEHOT, GP),
    ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.2}, GONEHOT, GREG),
    ("categorical_focal_crossentropy", {}, GONEHOT, GP),
    ("categorical_focal_crossentropy", {"from_logits": True}, GONEHOT, GREG),
    ("sparse_categorical_crossentropy", {}, np.array([1, 0, 3]), GP),
    ("sparse_categorical_crossentropy", {"from_logits": True}, np.array([1, 0, 3]), GREG),
    ("dice", {}, GY01, GP),
    ("tversky", {}, GY01, GP),
]


@pytest.mark.parametrize("name,kwargs,yt,yp", GRAD_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(GRAD_CASES)])
def test_gradient_wrt_y_pred(name, kwargs, yt, yp):
    fn = getattr(losses, name)
    check_gradients(lambda p: fn(yt, p, **kwargs), [yp])


def test_loss_class_gradient_with_weights():
    loss = losses.CategoricalCrossentropy(label_smoothing=0.1, dtype="float64")
    check_gradients(lambda p: loss(GONEHOT, p, sample_weight=np.array([1.0, 0.5, 2.0])), [GP])


def test_gradient_check_can_fail():
    def wrong(yt, yp):  # value of mse, gradient of something else
        return tf.stop_gradient(losses.mean_squared_error(yt, yp)) + tf.reduce_mean(yp, axis=-1) * 0.0
    with pytest.raises(AssertionError):
        check_gradients(lambda p: wrong(GREG, p), [GREG + 0.5])


# ---------------------------------------------------------------------------------------------
# Lookup, configs and errors
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("alias,fn", [
    ("mse", losses.mean_squared_error), ("MSE", losses.mean_squared_error),
    ("mae", losses.mean_absolute_error), ("mape", losses.mean_absolute_percentage_error),
    ("msle", losses.mean_squared_logarithmic_error), ("bce", losses.binary_crossentropy),
    ("binary_crossentropy", losses.binary_crossentropy),
    ("categorical_crossentropy", losses.categorical_crossentropy),
    ("sparse_categorical_crossentropy", losses.sparse_categorical_crossentropy),
    ("huber", losses.huber), ("log_cosh", losses.log_cosh), ("logcosh", losses.log_cosh),
    ("kld", losses.kl_divergence), ("kl_divergence", losses.kl_divergence),
    ("kullback_leibler_divergence", losses.kl_divergence), ("poisson", losses.poisson),
    ("hinge", losses.hinge), ("squared_hinge", losses.squared_hinge),
    ("categorical_hinge", losses.categorical_hinge), ("cosine_similarity", losses.cosine_similarity),
])
def test_get_string_aliases(alias, fn):
    assert losses.get(alias) is fn


def test_get_classes_instances_configs_and_errors():
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    inst = losses.BinaryCrossentropy(from_logits=True)
    assert losses.get(inst) is inst
    fn = lambda yt, yp: yp  # noqa: E731
    assert losses.get(fn) is fn
    assert losses.get(None) is None
    obj = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert obj.from_logits is True
    with pytest.raises(ValueError, match="Valid names:.*mean_squared_error"):
        losses.get("mean_squared_eror")
    with pytest.raises(ValueError):
        losses.get(42)


@pytest.mark.parametrize("cls", [c for c in losses._CLASSES
                                 if c not in (losses.Loss, losses.LossFunctionWrapper)])
def test_config_round_trip(cls):
    obj = cls(reduction="sum", name="custom_name")
    config = obj.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    assert clone.name == "custom_name" and clone.reduction == "sum"
    again = losses.deserialize(losses.serialize(obj))
    assert type(again) is cls and again.get_config() == config
    y = LABELS if cls is losses.SparseCategoricalCrossentropy else (
        ONEHOT if "Categorical" in cls.__name__ else Y01)
    assert np.isfinite(np_(clone(y, P))).all()


def test_serialize_functions_and_wrapper():
    assert losses.deserialize(losses.serialize(losses.huber)) is losses.huber
    w = losses.LossFunctionWrapper(losses.huber, delta=0.5)
    clone = losses.LossFunctionWrapper.from_config(w.get_config())
    assert clone.fn is losses.huber and clone._fn_kwargs == {"delta": 0.5}


def test_custom_loss_subclass():
    class Scaled(losses.Loss):
        def call(self, y_true, y_pred):
            return tf.reduce_sum(tf.abs(y_true - y_pred), axis=-1) * 2.0

    loss = Scaled()
    assert loss.name.startswith("scaled")
    assert float(loss([[1.0, 2.0]], [[0.0, 0.0]])) == pytest.approx(6.0)
    assert loss.dtype == "float32"


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="same shape"):
        losses.binary_crossentropy(np.zeros((2, 3)), np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="shape"):
        losses.categorical_crossentropy(np.zeros((2, 3)), np.zeros((2, 4), "float32"))
    with pytest.raises(Exception, match="outside the valid range"):
        losses.sparse_categorical_crossentropy([0, 5], P[:2])
    with pytest.raises(ValueError, match="axis"):
        losses.categorical_crossentropy(ONEHOT, P, axis=True)


def test_float32_output_and_float64_inputs():
    out = losses.MeanSquaredError()(YREG.astype("float64"), LOGITS.astype("float64"))
    assert out.dtype == tf.float32
    out = losses.mean_squared_error(YREG.astype("float64"), LOGITS.astype("float64"))
    assert out.dtype == tf.float64


def test_loss_functions_record_on_tape_for_variables():
    w = tf.Variable(np.ones((2, 1), "float32"))
    x = np.array([[1.0, 2.0]], "float32")
    with tf.GradientTape() as tape:
        loss = losses.MeanSquaredError()(np.array([[1.0]], "float32"), tf.matmul(x, w))
    # d/dw (x w - 1)^2 = 2 (x w - 1) x = 2 * 2 * [1, 2]
    np.testing.assert_allclose(tape.gradient(loss, w).numpy().ravel(), [4.0, 8.0])

"""Keras 3's functional API on optimizers and metrics: `stateless_apply`,
`stateless_update_state` / `stateless_result` / `stateless_reset_state` (Keras 3 oracle), and
Muon's public helpers."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import metrics, optimizers


@pytest.fixture(scope="module")
def K():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras", minversion="3")


def _loss_scaled(learning_rate):
    return optimizers.LossScaleOptimizer(optimizers.Adam(learning_rate), initial_scale=4.0, dynamic_growth_steps=2)


def _multi(learning_rate):
    return optimizers.MultiOptimizer(lambda v: optimizers.SGD(learning_rate) if len(v.shape) == 1
                                     else optimizers.Lion(learning_rate))


@pytest.mark.parametrize("name,kwargs", [("Adam", {}), ("SGD", {"momentum": 0.9}), ("Lion", {}),
                                         ("Adafactor", {}), ("Muon", {}), ("Adam", {"use_ema": True}),
                                         (_loss_scaled, {}), (_multi, {})])
def test_stateless_apply_equals_apply_and_leaves_variables_alone(name, kwargs):
    # Keras's TensorFlow backend refuses stateless_apply; its JAX semantics are the reference:
    # the returned values are what `apply` would leave in the variables (itself checked against
    # Keras in test_optimizers*.py).
    rng = np.random.default_rng(1)
    w0 = [rng.standard_normal((4, 3)).astype("float32"), rng.standard_normal(3).astype("float32")]
    steps = [[rng.standard_normal(w.shape).astype("float32") for w in w0] for _ in range(3)]
    make = getattr(optimizers, name) if isinstance(name, str) else name
    stateless = make(learning_rate=0.05, **kwargs)
    stateful = make(learning_rate=0.05, **kwargs)
    sv = [tf.Variable(w) for w in w0]
    fv = [tf.Variable(w) for w in w0]
    stateless.build(sv)
    start = [v.numpy().copy() for v in stateless.variables]
    t_vals, o_vals = [v.numpy() for v in sv], [v.numpy() for v in stateless.variables]
    for grads in steps:
        t_vals, o_vals = stateless.stateless_apply(o_vals, [tf.constant(g) for g in grads], t_vals)
        stateful.apply([tf.constant(g) for g in grads], fv)
    for a, b in zip(t_vals, fv, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(o_vals, stateful.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for v, w in zip(sv, w0, strict=True):
        np.testing.assert_array_equal(v.numpy(), w)
    for v, before in zip(stateless.variables, start, strict=True):
        np.testing.assert_array_equal(v.numpy(), before)


def test_stateless_apply_errors():
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="must be built"):
        opt.stateless_apply([], [], [])
    var = tf.Variable([1.0, 2.0])
    opt.build([var])
    with pytest.raises(ValueError, match="corresponding 1:1"):
        opt.stateless_apply([], [tf.constant([1.0, 1.0])], [var.numpy()])
    with pytest.raises(ValueError, match="shape"):
        opt.stateless_apply([v.numpy() for v in opt.variables], [tf.constant([1.0, 1.0])], [np.ones(3, "float32")])
    np.testing.assert_array_equal(var.numpy(), [1.0, 2.0])


@pytest.mark.oracle
@pytest.mark.parametrize("make", [
    lambda M: M.Mean(), lambda M: M.AUC(num_thresholds=20), lambda M: M.MeanIoU(num_classes=3),
    lambda M: M.PrecisionAtRecall(0.5, num_thresholds=20),
], ids=["mean", "auc", "mean_iou", "precision_at_recall"])
def test_stateless_metric_methods_match_keras(K, make):
    rng = np.random.default_rng(2)
    ours, theirs = make(metrics), make(K.metrics)
    if isinstance(ours, metrics.Mean):
        batches = [(rng.standard_normal(5).astype("float32"),) for _ in range(2)]
    elif isinstance(ours, metrics.MeanIoU):
        batches = [(rng.integers(0, 3, 6), rng.integers(0, 3, 6)) for _ in range(2)]
    else:
        batches = [(rng.integers(0, 2, 8), rng.uniform(size=8).astype("float32")) for _ in range(2)]
    ovals = [v.numpy() for v in ours.variables]
    kvals = [np.asarray(v) for v in theirs.variables]
    for batch in batches:
        ovals = ours.stateless_update_state(ovals, *batch)
        kvals = theirs.stateless_update_state(kvals, *batch)
    np.testing.assert_allclose(ours.stateless_result(ovals).numpy(), np.asarray(theirs.stateless_result(kvals)),
                               rtol=1e-5, atol=1e-6)
    assert all(not np.asarray(v.numpy()).any() for v in ours.variables)  # own state untouched
    ours.update_state(*batches[0])
    reset = ours.stateless_reset_state()
    assert all(not np.asarray(r.numpy()).any() for r in reset)
    assert any(np.asarray(v.numpy()).any() for v in ours.variables)
    with pytest.raises(ValueError, match="corresponding 1:1"):
        ours.stateless_result(ovals[:-1])


def test_muon_helpers_take_tensors_and_arrays():
    opt = optimizers.Muon(rms_rate=0.2)
    x = np.random.default_rng(3).standard_normal((6, 4)).astype("float32")
    out = opt.zeropower_via_newtonschulz5(tf.constant(x), 5).numpy()
    # Newton-Schulz drives the singular values towards 1 (roughly, in 5 quintic steps).
    s = np.linalg.svd(out, compute_uv=False)
    assert np.all((s > 0.5) & (s < 1.5))
    np.testing.assert_allclose(opt.zeropower_via_newtonschulz5(x, 5), out)
    np.testing.assert_allclose(opt.lr_adjust(tf.constant(x)).numpy(), x * np.sqrt(6) * 0.2, rtol=1e-6)
    assert opt.transpose_last_axis(tf.constant(x)).shape == (4, 6)
    assert optimizers.Muon(rms_rate=None).lr_adjust(x) is x

"""Batch normalization ops: tf.nn.batch_normalization, fused_batch_norm, the fused training primitive."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.ops.normalization import batch_norm_training
from tapeflow.testing import OpCase, run_case

CASES = [
    OpCase("batch_normalization/per_channel",
           lambda x, m, v, b, g: tf.nn.batch_normalization(x, m, v, b, g, 1e-3),
           [(2, 3, 4), (4,), (4,), (4,), (4,)], ["normal", "normal", "positive", "normal", "normal"]),
    OpCase("batch_normalization/no_offset_scale",
           lambda x, m, v: tf.nn.batch_normalization(x, m, v, None, None, 1e-2),
           [(3, 2), (1, 2), (1, 2)], ["normal", "normal", "positive"]),
    # All three outputs (y, mean, variance) carry random weights, so their gradients are checked.
    OpCase("batch_norm_training/channels_last",
           lambda x, g, b: list(batch_norm_training(x, g, b, axis=-1, epsilon=1e-3)),
           [(4, 3, 2, 3), (3,), (3,)]),
    OpCase("batch_norm_training/axis1",
           lambda x, g, b: list(batch_norm_training(x, g, b, axis=1, epsilon=1e-2)),
           [(3, 2, 4), (2,), (2,)]),
    OpCase("batch_norm_training/2d", lambda x, g, b: list(batch_norm_training(x, g, b)),
           [(5, 3), (3,), (3,)]),
    OpCase("fused_batch_norm/training_nchw",
           lambda x, g, b: list(tf.nn.fused_batch_norm(x, g, b, data_format="NCHW", epsilon=1e-2)),
           [(2, 3, 2, 2), (3,), (3,)]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradients(case):
    run_case(case, second_order=False)


@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[3]], ids=lambda c: c.name)
def test_second_order(case):
    run_case(case, second_order=True)


def test_fused_matches_composition_float32():
    """The fused primitive gives the composed batch norm's values and gradients."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((8, 5, 5, 4)).astype(np.float32) * 3 + 1)
    g = tf.Variable(rng.uniform(0.5, 1.5, 4).astype(np.float32))
    b = tf.Variable(rng.standard_normal(4).astype(np.float32))
    dy = tf.constant(rng.standard_normal((8, 5, 5, 4)).astype(np.float32))
    res = []
    for fused in (True, False):
        with tf.GradientTape() as tape:
            tape.watch(x)
            if fused:
                y, m, v = batch_norm_training(x, g, b, -1, 1e-3)
            else:
                m, v = tf.nn.moments(x, [0, 1, 2])
                y = tf.nn.batch_normalization(x, m, v, b, g, 1e-3)
        res.append([y, m, v] + list(tape.gradient(y, [x, g, b], output_gradients=dy)))
    for a, c in zip(*res, strict=True):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=2e-5, atol=2e-5)
    assert all(t.dtype == tf.float32 for t in res[0])


@pytest.mark.parametrize("block_bytes", [None, 64])
@pytest.mark.parametrize("shape", [(64, 16, 16, 32), (7, 5, 3, 6), (3, 10, 24), (6, 4, 4, 3)])
def test_fused_blocked_passes_match_composition(shape, block_bytes, monkeypatch):
    """The forward and gradient's cache-blocked, widened-row passes (several blocks, rows that
    do and do not divide) give the composition's values and gradients, through y, mean and
    variance, in float64 to rounding."""
    from tapeflow.ops import normalization

    if block_bytes is not None:
        monkeypatch.setattr(normalization, "_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(3)
    C = shape[-1]
    x = tf.constant(rng.standard_normal(shape) * 2 + 5)
    g = tf.Variable(rng.uniform(0.5, 1.5, C))
    b = tf.Variable(rng.standard_normal(C))
    dy, cm, cv = (tf.constant(rng.standard_normal(s)) for s in (shape, (C,), (C,)))
    res = []
    for fused in (True, False):
        with tf.GradientTape() as tape:
            tape.watch(x)
            if fused:
                y, m, v = batch_norm_training(x, g, b, -1, 1e-3)
            else:
                m, v = tf.nn.moments(x, list(range(len(shape) - 1)))
                y = tf.nn.batch_normalization(x, m, v, b, g, 1e-3)
            loss = tf.reduce_sum(y * dy) + tf.reduce_sum(m * cm) + tf.reduce_sum(v * cv)
        res.append([y, m, v] + list(tape.gradient(loss, [x, g, b])))
    for a, c in zip(*res, strict=True):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-10, atol=1e-10)


def test_fused_gradients_in_blocks(monkeypatch):
    """Float64 gradient check with the passes split into many small blocks."""
    from tapeflow.ops import normalization

    monkeypatch.setattr(normalization, "_BLOCK_BYTES", 64)
    run_case(OpCase("batch_norm_training/blocks",
                    lambda x, g, b: list(batch_norm_training(x, g, b, axis=-1, epsilon=1e-3)),
                    [(4, 5, 4, 3), (3,), (3,)]), second_order=True)


@pytest.mark.oracle
def test_matches_tensorflow():
    tfm = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((6, 4, 4, 3)) * 2 + 0.5).astype(np.float32)
    g = rng.uniform(0.5, 1.5, 3).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    rm = rng.standard_normal(3).astype(np.float32)
    rv = rng.uniform(0.5, 2.0, 3).astype(np.float32)
    outs = {}
    for key, m in (("ours", tf), ("tf", tfm)):
        fbn = m.nn.fused_batch_norm if key == "ours" else m.compat.v1.nn.fused_batch_norm
        tx, tg, tb = m.constant(x), m.constant(g), m.constant(b)
        with m.GradientTape() as tape:
            tape.watch([tx, tg, tb])
            y, mean, var = fbn(tx, tg, tb, mean=rm, variance=rv, epsilon=1e-3, is_training=True,
                               exponential_avg_factor=0.3)
            y2 = m.nn.batch_normalization(tx, rm, rv, tb, tg, 1e-3)
            loss = m.reduce_sum(y * y) + m.reduce_sum(y2 * tx)
        grads = tape.gradient(loss, [tx, tg, tb])
        yi, _, _ = fbn(tx, tg, tb, mean=rm, variance=rv, epsilon=1e-3, is_training=False)
        outs[key] = [y, mean, var, y2, yi] + list(grads)
    for a, c in zip(outs["ours"], outs["tf"], strict=True):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-4, atol=1e-4)


def test_bad_input():
    x = np.ones((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"FusedBatchNorm: scale must have shape \(4,\).*received \(3,\)"):
        batch_norm_training(x, np.ones(3, np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="mean and variance are required"):
        tf.nn.fused_batch_norm(x, np.ones(4, np.float32), np.zeros(4, np.float32), is_training=False)
    with pytest.raises(TypeError, match="expected a floating-point tensor"):
        tf.nn.batch_normalization(np.ones((2, 2), np.int32), 0.0, 1.0, None, None, 1e-3)

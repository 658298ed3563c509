"""tf.train.ExponentialMovingAverage against TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf


def _run(mod, num_updates, dtype):
    w = mod.Variable(np.array([1.0, -2.0, 3.0]), dtype=dtype, name="w")
    b = mod.Variable(0.5, dtype=dtype, name="b")
    step = mod.Variable(0, dtype=mod.int64) if num_updates else None
    ema = mod.train.ExponentialMovingAverage(0.9, num_updates=step)
    history = []
    for i in range(6):
        w.assign(w * 1.5 + i)
        b.assign_add(0.25)
        if step is not None:
            step.assign_add(1)
        ema.apply([w, b])
        history.append((ema.average(w).numpy().copy(), ema.average(b).numpy().copy()))
    return history, ema, w


@pytest.mark.oracle
@pytest.mark.parametrize("num_updates", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_tensorflow(num_updates, dtype):
    ttf = pytest.importorskip("tensorflow")
    ours, ema, w = _run(tf, num_updates, getattr(tf, dtype))
    theirs, tema, tw = _run(ttf, num_updates, getattr(ttf, dtype))
    for (a, b), (c, d) in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, c, rtol=1e-6)
        np.testing.assert_allclose(b, d, rtol=1e-6)
        assert a.dtype == c.dtype
    assert ema.average_name(w) == "w/ExponentialMovingAverage"
    assert not ema.average(w).trainable


def test_inside_tf_function_and_errors():
    w = tf.Variable([1.0, 2.0])
    ema = tf.train.ExponentialMovingAverage(0.5)

    @tf.function
    def step():
        w.assign_add([1.0, 1.0])
        ema.apply([w])

    step()
    step()
    # The shadow starts at w's value when traced ([1, 2], as TF's init_scope read), then averages
    # [2, 3] and [3, 4] in: [1.5, 2.5], then [2.25, 3.25].
    np.testing.assert_allclose(ema.average(w).numpy(), [2.25, 3.25])
    assert ema.average(tf.Variable(1.0)) is None
    with pytest.raises(TypeError, match="half, float, or double"):
        ema.apply([tf.Variable(1)])
    with pytest.raises(TypeError, match="non-Variable tensors"):
        ema.apply([tf.constant(1.0)])
    assert list(ema.variables_to_restore()) == [ema.average_name(w)]

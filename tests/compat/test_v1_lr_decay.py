"""tf.compat.v1.train learning-rate decay functions against TF's (graph nodes fed by global_step)."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow.compat.v1 as tf

CASES = [
    ("cosine_decay", dict(learning_rate=0.1, decay_steps=50, alpha=0.1)),
    ("cosine_decay_restarts", dict(learning_rate=0.1, first_decay_steps=10, t_mul=2.0, m_mul=0.8, alpha=0.05)),
    ("cosine_decay_restarts", dict(learning_rate=0.1, first_decay_steps=7, t_mul=1.0)),
    ("inverse_time_decay", dict(learning_rate=0.5, decay_steps=10, decay_rate=0.3)),
    ("inverse_time_decay", dict(learning_rate=0.5, decay_steps=10, decay_rate=0.3, staircase=True)),
    ("natural_exp_decay", dict(learning_rate=0.5, decay_steps=10, decay_rate=0.2)),
    ("natural_exp_decay", dict(learning_rate=0.5, decay_steps=10, decay_rate=0.2, staircase=True)),
    ("polynomial_decay", dict(learning_rate=0.5, decay_steps=30, end_learning_rate=0.01, power=2.0)),
    ("polynomial_decay", dict(learning_rate=0.5, decay_steps=30, power=0.5, cycle=True)),
    ("linear_cosine_decay", dict(learning_rate=0.2, decay_steps=40, num_periods=2.0, alpha=0.1)),
    ("piecewise_constant_decay", dict(boundaries=[10, 20], values=[1.0, 0.5, 0.1])),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name,kwargs", CASES)
def test_matches_tensorflow(name, kwargs):
    ttf = pytest.importorskip("tensorflow")
    tf.reset_default_graph()
    step = tf.placeholder(tf.int64, [])
    key = "x" if name == "piecewise_constant_decay" else "global_step"
    node = getattr(tf.train, name)(**{key: step}, **kwargs)
    with tf.Session() as sess:
        for s in (0, 1, 5, 9, 10, 17, 30, 45, 80):
            theirs = getattr(ttf.compat.v1.train, name)(**{key: ttf.constant(s, ttf.int64)}, **kwargs)
            want = theirs() if callable(theirs) else theirs
            np.testing.assert_allclose(sess.run(node, {step: s}), want.numpy(), rtol=2e-6, atol=1e-8)

"""tf.random's counter-based ops give TF's Philox numbers: stateless_* (uniform, normal,
truncated normal, ints, categorical), fold_in/split, create_rng_state and Generator streams."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf


def _same(ours, theirs, tol=0.0):
    a, b = ours.numpy() if hasattr(ours, "numpy") else np.asarray(ours), theirs.numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    if tol:
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.oracle
@pytest.mark.parametrize("seed", [[1, 2], [-3, 2**40]])
def test_stateless_ops_match_tensorflow(seed):
    ttf = pytest.importorskip("tensorflow")
    for d, tol in (("float32", 0.0), ("float64", 0.0), ("float16", 0.0)):
        _same(tf.random.stateless_uniform([3, 5], seed, dtype=d, minval=-2, maxval=3),
              ttf.random.stateless_uniform([3, 5], seed, dtype=d, minval=-2, maxval=3), tol)
    for d in ("float32", "float64"):
        # NOTE: float32 Box-Muller uses float32 log/sin/cos: within an ulp of TF's Eigen versions.
        _same(tf.random.stateless_normal([3, 5], seed, dtype=d),
              ttf.random.stateless_normal([3, 5], seed, dtype=d), 1e-6)
        _same(tf.random.stateless_truncated_normal([3, 7], seed, 1.0, 2.0, dtype=d),
              ttf.random.stateless_truncated_normal([3, 7], seed, 1.0, 2.0, dtype=d), 1e-6)
    for d in ("int32", "int64"):
        _same(tf.random.stateless_uniform([9], seed, -5, 100, dtype=d),
              ttf.random.stateless_uniform([9], seed, -5, 100, dtype=d))
        _same(tf.random.stateless_uniform([9], seed, None, None, dtype=d),
              ttf.random.stateless_uniform([9], seed, None, None, dtype=d))
    logits = np.log([[0.5, 0.2, 0.3], [0.1, 0.1, 0.8]]).astype(np.float32)
    _same(tf.random.stateless_categorical(logits, 5, seed), ttf.random.stateless_categorical(logits, 5, seed))
    _same(tf.random.fold_in(seed, 7), ttf.random.fold_in(seed, 7))
    _same(tf.random.split(seed, 3), ttf.random.split(seed, 3))


@pytest.mark.oracle
def test_generator_streams_match_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    _same(tf.random.create_rng_state(5, "philox"), ttf.random.create_rng_state(5, "philox"))
    _same(tf.random.create_rng_state([5, 6], "philox"), ttf.random.create_rng_state([5, 6], "philox"))
    ours, theirs = tf.random.Generator.from_seed(7), ttf.random.Generator.from_seed(7)
    _same(ours.normal([2, 3]), theirs.normal([2, 3]), 1e-6)
    _same(ours.uniform([5], dtype="float64"), theirs.uniform([5], dtype="float64"))
    _same(ours.truncated_normal([6]), theirs.truncated_normal([6]), 1e-6)
    _same(ours.uniform([4], maxval=10, dtype="int32"), theirs.uniform([4], maxval=10, dtype="int32"))
    _same(ours.uniform_full_int([3], dtype="int64"), theirs.uniform_full_int([3], dtype="int64"))
    _same(ours.state, theirs.state)
    _same(ours.split(2)[1].normal([3]), theirs.split(2)[1].normal([3]), 1e-6)
    _same(ours.make_seeds(2), theirs.make_seeds(2))
    ours.reset_from_seed(3)
    theirs.reset_from_seed(3)
    _same(ours.normal([2]), theirs.normal([2]), 1e-6)


def test_global_generator_and_errors():
    g = tf.random.Generator.from_seed(1)
    tf.random.set_global_generator(g)
    assert tf.random.get_global_generator() is g
    with pytest.raises(TypeError, match="tf.random.Generator"):
        tf.random.set_global_generator(3)
    with pytest.raises(ValueError, match="shape \\[2\\]"):
        tf.random.stateless_uniform([2], [1, 2, 3])
    with pytest.raises(ValueError, match="threefry"):
        tf.random.stateless_normal([2], [1, 2], alg="threefry")


def test_samplers_have_the_right_statistics():
    tf.random.set_seed(0)
    g = tf.random.gamma([4000], alpha=[2.0, 5.0], beta=2.0).numpy()
    np.testing.assert_allclose(g.mean(0), [1.0, 2.5], rtol=0.05)
    p = tf.random.stateless_poisson([4000], [1, 2], lam=3.0).numpy()
    assert p.dtype == np.int32 and abs(p.mean() - 3.0) < 0.1
    b = tf.random.stateless_binomial([4000], [1, 2], counts=10, probs=0.3).numpy()
    assert abs(b.mean() - 3.0) < 0.1
    t = tf.random.stateless_parameterized_truncated_normal([2000], [1, 2], 0.0, 1.0, -0.5, 1.0).numpy()
    assert t.min() >= -0.5 and t.max() <= 1.0
    s = tf.random.uniform_candidate_sampler(np.array([[1], [2]]), 1, 5, True, 10)
    assert len(set(s.sampled_candidates.numpy().tolist())) == 5
    np.testing.assert_allclose(s.true_expected_count.numpy(), 1 - (1 - 0.1) ** 5, rtol=0.5)

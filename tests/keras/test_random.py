"""keras.random: seeds (int, SeedGenerator, global), distributions, dtypes and dropout."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import random


def test_int_seed_repeats_and_seed_generator_advances():
    a = random.normal((3,), seed=7)
    b = random.normal((3,), seed=7)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    gen = random.SeedGenerator(42)
    first, second = random.uniform((4,), seed=gen), random.uniform((4,), seed=gen)
    assert not np.allclose(first.numpy(), second.numpy())
    again = random.SeedGenerator(42)
    np.testing.assert_array_equal(random.uniform((4,), seed=again).numpy(), first.numpy())
    assert gen.get_config() == {"seed": 42, "name": gen.name}
    assert gen.state.numpy().tolist() == [42, 2]


def test_global_seed_follows_set_random_seed():
    keras.utils.set_random_seed(3)
    a = random.normal((2,))
    keras.utils.set_random_seed(3)
    np.testing.assert_array_equal(random.normal((2,)).numpy(), a.numpy())


def test_dtypes_and_ranges():
    assert random.normal((2,), seed=1).dtype == tf.float32
    assert random.uniform((2,), dtype="float64", seed=1).dtype == tf.float64
    ints = random.randint((1000,), 2, 5, seed=1)
    assert ints.dtype == tf.int32 and set(np.unique(ints.numpy())) == {2, 3, 4}
    t = random.truncated_normal((2000,), mean=1.0, stddev=0.5, seed=1).numpy()
    assert t.min() >= 0.0 and t.max() <= 2.0
    g = random.gamma((4000,), 2.0, seed=1).numpy()
    assert abs(g.mean() - 2.0) < 0.15
    b = random.beta((4000,), 2.0, 3.0, seed=1).numpy()
    assert abs(b.mean() - 0.4) < 0.02
    n = random.binomial((4000,), 10, 0.3, seed=1)
    assert n.dtype == tf.float32 and abs(n.numpy().mean() - 3.0) < 0.15
    c = random.categorical(np.log([[0.1, 0.9]]), 2000, seed=1)
    assert c.dtype == tf.int32 and abs(c.numpy().mean() - 0.9) < 0.03
    with pytest.raises(ValueError, match="randint"):
        random.uniform((2,), dtype="int32")


def test_shuffle_is_a_permutation_along_axis():
    x = np.arange(12).reshape(3, 4)
    out = random.shuffle(x, axis=1, seed=2).numpy()
    assert sorted(out[0].tolist()) == [0, 1, 2, 3]
    np.testing.assert_array_equal(out - out[:, :1], np.zeros((3, 1)) + (out[0] - out[0, 0]))


def test_dropout_scales_and_is_differentiable():
    x = tf.Variable(np.ones((200, 50), "float32"))
    with tf.GradientTape() as tape:
        y = random.dropout(x, 0.3, seed=5)
        loss = tf.reduce_sum(y)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), y.numpy(), rtol=1e-6)
    shared = random.dropout(np.ones((4, 6), "float32"), 0.5, noise_shape=(4, 1), seed=1).numpy()
    assert all(len(set(row)) == 1 for row in shared)


@pytest.mark.oracle
def test_signatures_match_keras():
    import inspect

    kr = pytest.importorskip("keras").random
    for name in [n for n in dir(kr) if not n.startswith("_")]:
        assert list(inspect.signature(getattr(random, name)).parameters) == \
            list(inspect.signature(getattr(kr, name)).parameters), name


def test_draws_inside_tf_function_are_new_on_every_call_and_match_eager():
    gen = random.SeedGenerator(3)
    v = tf.Variable(np.ones((2, 6), "float32"))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            y = random.dropout(v * 2.0, 0.5, seed=gen)
            loss = tf.reduce_sum(y)
        return tape.gradient(loss, v), y

    (g1, y1), (_, y2) = step(), step()
    assert not np.array_equal(y1.numpy(), y2.numpy())
    np.testing.assert_allclose(g1.numpy(), y1.numpy(), rtol=1e-6)
    assert gen.state.numpy().tolist() == [3, 2]  # the trace's shape probe did not count
    eager = random.SeedGenerator(3)
    np.testing.assert_array_equal(random.dropout(np.full((2, 6), 2.0, "float32"), 0.5, seed=eager).numpy(),
                                  y1.numpy())

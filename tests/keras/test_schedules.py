"""keras.optimizers.schedules: values by hand and against Keras 3, configs, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras.optimizers import schedules


@pytest.fixture(scope="module")
def K():
    return pytest.importorskip("keras", minversion="3")


CASES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5,
                          "staircase": True}),
    ("PiecewiseConstantDecay", {"boundaries": [5, 12], "values": [1.0, 0.5, 0.1]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 20}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 8, "end_learning_rate": 0.01,
                         "power": 2.0, "cycle": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5,
                          "staircase": True}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 20}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 20, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 20, "warmup_target": 0.2,
                     "warmup_steps": 6}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5, "t_mul": 1.0,
                             "m_mul": 0.5, "alpha": 0.1}),
]
STEPS = [0, 1, 3, 5, 6, 10, 12, 13, 19, 20, 25, 40]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_values_match_keras(K, name, kwargs):
    ours = getattr(schedules, name)(**kwargs)
    theirs = getattr(K.optimizers.schedules, name)(**kwargs)
    for step in STEPS:
        got = ours(step)
        assert got.dtype == tf.float32
        assert float(got) == pytest.approx(float(np.asarray(theirs(step))), rel=1e-6, abs=1e-8), step


def test_values_by_hand():
    s = schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
    assert float(s(100)) == pytest.approx(0.05)
    assert float(s(50)) == pytest.approx(0.1 * 0.5**0.5, rel=1e-6)
    s = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [float(s(t)) for t in (0, 10, 11, 20, 21)] == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.1])
    s = schedules.PolynomialDecay(1.0, 10, end_learning_rate=0.0, power=1.0)
    assert [float(s(t)) for t in (0, 5, 10, 15)] == pytest.approx([1.0, 0.5, 0.0, 0.0])
    s = schedules.InverseTimeDecay(1.0, decay_steps=1, decay_rate=0.5)
    assert float(s(2)) == pytest.approx(0.5)
    s = schedules.CosineDecay(1.0, decay_steps=10)
    assert float(s(5)) == pytest.approx(0.5, abs=1e-6)
    assert float(s(10)) == pytest.approx(0.0, abs=1e-6)
    s = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=4)
    assert float(s(2)) == pytest.approx(0.5)
    assert float(s(4)) == pytest.approx(1.0)
    assert float(s(9)) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)), abs=1e-6)


def test_schedule_accepts_iteration_variable():
    s = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    assert float(s(tf.Variable(np.int64(2)))) == pytest.approx(0.025)


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_config_round_trip(name, kwargs):
    s = getattr(schedules, name)(**kwargs)
    clone = type(s).from_config(s.get_config())
    assert clone.get_config() == s.get_config()
    again = schedules.deserialize(schedules.serialize(s))
    assert type(again) is type(s)
    assert [float(again(t)) for t in STEPS] == [float(s(t)) for t in STEPS]


def test_errors_and_custom_schedule():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5)
    with pytest.raises(ValueError, match="1 less"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0])
    with pytest.raises(NotImplementedError):
        schedules.LearningRateSchedule()(1)

    class Halving(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 1.0 / (2.0 ** tf.cast(step, tf.float32))

        def get_config(self):
            return {}

    from tapeflow.keras import optimizers

    var = tf.Variable([0.0])
    opt = optimizers.SGD(Halving())
    for _ in range(3):
        opt.apply_gradients([(tf.constant([1.0]), var)])
    assert var.numpy()[0] == pytest.approx(-(1.0 + 0.5 + 0.25))


def test_a_schedule_takes_an_array_of_steps():
    """The overfit-and-underfit tutorial plots `lr_schedule(np.linspace(0, 100000))`: one rate per
    step, float32, as Keras's schedules (written with ops) give (checked against Keras 3)."""
    schedule = schedules.InverseTimeDecay(0.001, decay_steps=20 * 1000, decay_rate=1)
    steps = np.linspace(0, 100000)
    rates = schedule(steps)
    assert rates.shape == (50,) and rates.dtype == "float32"
    np.testing.assert_allclose(rates.numpy(), 0.001 / (1 + steps / 20000), rtol=1e-6)
    assert float(schedule(steps[7])) == pytest.approx(float(rates[7]), rel=1e-7)
    real = pytest.importorskip("keras")
    theirs = real.optimizers.schedules.InverseTimeDecay(0.001, decay_steps=20 * 1000, decay_rate=1)(steps)
    np.testing.assert_allclose(rates.numpy(), np.asarray(theirs), rtol=1e-6)
    ramp = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    np.testing.assert_allclose(ramp(np.array([[0, 10], [15, 30]])).numpy(), [[1.0, 1.0], [0.5, 0.1]], rtol=1e-7)

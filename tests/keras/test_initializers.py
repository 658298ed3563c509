"""keras.initializers: statistics and shapes against Keras 3, seeds, formulas, lookup."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import initializers


@pytest.fixture(scope="module")
def K():
    return pytest.importorskip("keras", minversion="3")


SHAPE = (300, 200)
RANDOM_CASES = [
    ("GlorotUniform", {}), ("GlorotNormal", {}), ("HeUniform", {}), ("HeNormal", {}),
    ("LecunUniform", {}), ("LecunNormal", {}), ("RandomNormal", {}),
    ("RandomNormal", {"mean": 1.0, "stddev": 0.3}),
    ("RandomUniform", {}), ("RandomUniform", {"minval": 2.0, "maxval": 5.0}), ("TruncatedNormal", {}),
    ("TruncatedNormal", {"mean": -1.0, "stddev": 2.0}), ("VarianceScaling", {}),
    ("VarianceScaling", {"scale": 3.0, "mode": "fan_out", "distribution": "uniform"}),
    ("VarianceScaling", {"scale": 0.5, "mode": "fan_avg", "distribution": "untruncated_normal"}),
    ("Orthogonal", {}), ("Orthogonal", {"gain": 2.0}),
]


@pytest.mark.parametrize("name,kwargs", RANDOM_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(RANDOM_CASES)])
def test_statistics_shape_dtype_match_keras(K, name, kwargs):
    ours = getattr(initializers, name)(seed=1, **kwargs)(SHAPE)
    theirs = np.asarray(getattr(K.initializers, name)(seed=1, **kwargs)(SHAPE))
    a = ours.numpy()
    assert a.shape == theirs.shape and a.dtype == theirs.dtype == np.float32
    std = float(theirs.std())
    assert a.std() == pytest.approx(std, rel=0.03)
    assert a.mean() == pytest.approx(theirs.mean(), abs=0.03 * std + 1e-3)
    bounded = ("Uniform" in name or "Truncated" in name
               or name in ("GlorotNormal", "HeNormal", "LecunNormal")
               or kwargs.get("distribution") == "uniform" or (name == "VarianceScaling" and not kwargs))
    if bounded:  # uniform / truncated: the same support, and 60,000 samples reach its ends
        assert abs(a.min() - theirs.min()) <= 0.05 * std
        assert abs(a.max() - theirs.max()) <= 0.05 * std
    ours64 = getattr(initializers, name)(seed=1, **kwargs)((4, 3), dtype="float64")
    assert ours64.dtype == tf.float64 and tuple(ours64.shape) == (4, 3)


def test_formulas():
    fan_in, fan_out = SHAPE
    a = initializers.GlorotUniform(seed=0)(SHAPE).numpy()
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    assert a.max() <= limit and a.min() >= -limit and a.max() > 0.99 * limit
    a = initializers.HeNormal(seed=0)(SHAPE).numpy()
    assert a.std() == pytest.approx(math.sqrt(2.0 / fan_in), rel=0.02)
    # truncated at two (corrected) standard deviations
    assert np.abs(a).max() <= 2 * math.sqrt(2.0 / fan_in) / 0.87962566103423978 + 1e-6
    a = initializers.RandomNormal(seed=0)(SHAPE).numpy()
    assert a.std() == pytest.approx(0.05, rel=0.02)
    a = initializers.TruncatedNormal(seed=0)(SHAPE).numpy()
    assert np.abs(a).max() <= 0.1 + 1e-6
    # Convolution kernels: fans multiply by the receptive field.
    assert initializers.compute_fans((3, 3, 8, 16)) == (72, 144)
    assert initializers.compute_fans((5,)) == (5, 5)
    a = initializers.LecunUniform(seed=0)((3, 3, 8, 16)).numpy()
    assert np.abs(a).max() <= math.sqrt(3.0 / 72)


def test_seed_semantics():
    init = initializers.GlorotUniform(seed=7)
    np.testing.assert_array_equal(init((3, 4)).numpy(), init((3, 4)).numpy())
    np.testing.assert_array_equal(init((3, 4)).numpy(), initializers.GlorotUniform(seed=7)((3, 4)).numpy())
    assert not np.array_equal(init((3, 4)).numpy(), initializers.GlorotUniform(seed=8)((3, 4)).numpy())
    free = initializers.RandomNormal()
    assert not np.array_equal(free((3, 4)).numpy(), free((3, 4)).numpy())
    tf.random.set_seed(123)
    first = [initializers.HeUniform()((3, 4)).numpy(), initializers.Orthogonal()((4, 4)).numpy()]
    tf.random.set_seed(123)
    second = [initializers.HeUniform()((3, 4)).numpy(), initializers.Orthogonal()((4, 4)).numpy()]
    for x, y in zip(first, second, strict=True):
        np.testing.assert_array_equal(x, y)


def test_constant_initializers():
    np.testing.assert_array_equal(initializers.Zeros()((2, 3)).numpy(), np.zeros((2, 3)))
    ones = initializers.Ones()((2,), dtype="int32")
    assert ones.dtype == tf.int32 and ones.numpy().tolist() == [1, 1]
    c = initializers.Constant(2.5)((2, 2), dtype="float64")
    assert c.dtype == tf.float64 and np.all(c.numpy() == 2.5)
    eye = initializers.Identity(gain=3.0)((2, 3)).numpy()
    np.testing.assert_array_equal(eye, 3.0 * np.eye(2, 3))
    with pytest.raises(ValueError, match="2D"):
        initializers.Identity()((2, 2, 2))


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 2, 5)])
def test_orthogonal_is_orthogonal(shape):
    q = initializers.Orthogonal(gain=2.0, seed=3)(shape).numpy().reshape(-1, shape[-1])
    small = min(q.shape)
    gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-5)
    with pytest.raises(ValueError, match="two-dimensional"):
        initializers.Orthogonal()((5,))


def test_orthogonal_values_are_row_major():
    # q.T of the QR factor is F-ordered; the initializer returns row-major values (as TF).
    for shape in [(128, 512), (512, 128), (3, 4, 5)]:
        assert initializers.Orthogonal(seed=1)(shape)._value.flags.c_contiguous


def test_get_and_configs():
    for name, cls in [("glorot_uniform", initializers.GlorotUniform),
                      ("he_normal", initializers.HeNormal), ("zeros", initializers.Zeros),
                      ("ones", initializers.Ones), ("orthogonal", initializers.Orthogonal),
                      ("truncated_normal", initializers.TruncatedNormal),
                      ("variance_scaling", initializers.VarianceScaling),
                      ("GlorotNormal", initializers.GlorotNormal),
                      ("uniform", initializers.RandomUniform), ("normal", initializers.RandomNormal)]:
        assert type(initializers.get(name)) is cls
    inst = initializers.Constant(3)
    assert initializers.get(inst) is inst
    assert isinstance(initializers.get(initializers.HeUniform), initializers.HeUniform)
    assert initializers.get(None) is None
    fn = initializers.get(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(fn((2, 3)).numpy(), np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="Expected `shape`"):
        fn((3, 2))
    with pytest.raises(ValueError, match="Valid names:.*glorot_uniform"):
        initializers.get("glorot_unifrom")
    for cls in initializers._CLASSES[1:]:
        obj = cls()
        clone = cls.from_config(obj.get_config())
        assert clone.get_config() == obj.get_config()
        again = initializers.deserialize(initializers.serialize(obj))
        assert type(again) is cls
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan")
    with pytest.raises(ValueError, match="scale"):
        initializers.VarianceScaling(scale=0.0)

"""Elementwise ops: values against NumPy, gradients (first and second order) in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import OpCase, available_devices, check_gradients, run_case

B1, B2 = (3, 1, 4), (2, 4)  # broadcast to (3, 2, 4)

CASES = [
    OpCase("add/same", tf.add, [(2, 3), (2, 3)]),
    OpCase("add/broadcast", tf.add, [B1, B2]),
    OpCase("add/scalar_rhs", lambda x: x + 2.5, [(3, 4)]),
    OpCase("add/scalar_lhs", lambda x: 2.5 + x, [(3, 4)]),
    OpCase("subtract/broadcast", tf.subtract, [B1, B2]),
    OpCase("subtract/rsub", lambda x: 1.0 - x, [(4,)]),
    OpCase("multiply/broadcast", tf.multiply, [B1, B2]),
    OpCase("multiply/rank0", tf.multiply, [(), (2, 3)]),
    OpCase("divide/broadcast", tf.divide, [B1, B2], domain=["normal", "positive"]),
    OpCase("truediv/operator", lambda a, b: a / b, [(2, 4), (4,)], domain=["normal", "nonzero"]),
    OpCase("rtruediv/scalar", lambda x: 2.0 / x, [(5,)], domain="positive"),
    OpCase("pow/broadcast", tf.pow, [B1, B2], domain="positive"),
    OpCase("pow/const_exp", lambda x: x ** 3.0, [(2, 3)]),
    OpCase("pow/const_base", lambda x: 2.0 ** x, [(2, 3)]),
    OpCase("pow/sqrt_via_pow", lambda x: tf.pow(x, 0.5), [(4,)], domain="positive"),
    OpCase("negative", tf.negative, [(2, 3)]),
    OpCase("negative/operator", lambda x: -x, [(2, 3)]),
    OpCase("abs", tf.abs, [(2, 3)], domain="nonzero"),
    OpCase("sign", lambda x: tf.sign(x) * x, [(2, 3)], domain="nonzero"),
    OpCase("square", tf.square, [(2, 3)]),
    OpCase("sqrt", tf.sqrt, [(2, 3)], domain="positive"),
    OpCase("rsqrt", tf.math.rsqrt, [(2, 3)], domain="positive"),
    OpCase("exp", tf.exp, [(2, 3)]),
    OpCase("log", tf.math.log, [(2, 3)], domain="positive"),
    OpCase("log1p", tf.math.log1p, [(2, 3)], domain="positive"),
    OpCase("expm1", tf.math.expm1, [(2, 3)]),
    OpCase("sin", tf.sin, [(2, 3)]),
    OpCase("cos", tf.cos, [(2, 3)]),
    OpCase("tan", tf.math.tan, [(2, 3)], domain="unit"),
    OpCase("tanh", tf.tanh, [(2, 3)]),
    OpCase("sigmoid", tf.sigmoid, [(2, 3)]),
    OpCase("erf", tf.math.erf, [(2, 3)]),
    OpCase("reciprocal", tf.math.reciprocal, [(2, 3)], domain="positive"),
    OpCase("squared_difference", tf.math.squared_difference, [B1, B2]),
    OpCase("maximum/broadcast", tf.maximum, [B1, B2]),
    OpCase("minimum/broadcast", tf.minimum, [B1, B2]),
    OpCase("maximum/scalar", lambda x: tf.maximum(x, 0.1), [(3, 4)], domain="nonzero"),
    OpCase("clip_by_value", lambda x: tf.clip_by_value(x, -0.5, 0.7), [(4, 5)]),
    OpCase("clip_by_value/rank0", lambda x: tf.clip_by_value(x, -0.5, 0.7) * x, [np.array(0.3)]),
    OpCase("clip_by_value/int_bounds", lambda x: tf.clip_by_value(x, -1, 1), [(3, 4)], domain="unit"),
    OpCase("clip_by_value/tensor_bounds", lambda x, lo: tf.clip_by_value(x, lo, 1.0), [(3, 4), (4,)]),
    OpCase("where/broadcast",
           lambda a, b: tf.where(tf.constant(np.array([True, False, True, False])), a, b), [B1, B2]),
    OpCase("where/scalar_branch", lambda a: tf.where(a > 0, a, 0.0), [(3, 4)], domain="nonzero"),
    # float64 -> float32 -> float64 would defeat central differences; cast through a complex-free
    # wider type and back keeps precision while recording two Cast ops.
    OpCase("cast/roundtrip", lambda x: tf.cast(tf.cast(x, tf.float32), tf.float64) * 0.0
           + tf.cast(tf.cast(x, tf.complex128), tf.float64) * x, [(3,)]),
    OpCase("round_floor_ceil", lambda x: x * (tf.round(x) + tf.floor(x) + tf.math.ceil(x)), [(2, 3)],
           domain="nonzero"),
    OpCase("identity", lambda x: tf.identity(x) * x, [(2, 3)]),
    OpCase("add_n", lambda a, b, c: tf.add_n([a, b, c]), [(2, 3), (2, 3), (2, 3)]),
    OpCase("divide_no_nan", lambda a, b: tf.math.divide_no_nan(a, b), [(2, 3), (2, 3)],
           domain=["normal", "positive"]),
    OpCase("chain/mixed", lambda a, b: tf.exp(tf.sin(a) * b) / (1.0 + b * b), [B1, B2]),
]


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradients(case: OpCase, device: str) -> None:
    with tf.device(device):
        run_case(case)


def test_stop_gradient_blocks() -> None:
    x = tf.constant(2.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * tf.stop_gradient(x * x)
    assert float(tape.gradient(y, x)) == pytest.approx(4.0)


def test_gradient_check_can_fail() -> None:
    """A wrong backward is caught: a function whose tape gradient ignores part of it."""
    def wrong(x):
        return x * tf.stop_gradient(x)
    with pytest.raises(AssertionError, match="gradient mismatch"):
        check_gradients(wrong, [np.array([1.0, 2.0])])


# ---------------------------------------------------------------------------------------------
# Forward values
# ---------------------------------------------------------------------------------------------

UNARY = [
    (tf.abs, np.abs), (tf.negative, np.negative), (tf.sign, np.sign), (tf.square, np.square),
    (tf.exp, np.exp), (tf.sin, np.sin), (tf.cos, np.cos), (tf.tanh, np.tanh), (tf.math.expm1, np.expm1),
    (tf.floor, np.floor), (tf.math.ceil, np.ceil), (tf.round, np.round),
    (tf.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
]


@pytest.mark.parametrize("tf_fn,np_fn", UNARY, ids=lambda f: getattr(f, "__name__", "f"))
def test_unary_values(tf_fn, np_fn) -> None:
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32) * 3
    out = tf_fn(x)
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), np_fn(x), rtol=1e-6, atol=1e-6)


def test_positive_domain_values() -> None:
    x = np.array([0.25, 1.0, 4.0], np.float32)
    np.testing.assert_allclose(tf.sqrt(x).numpy(), [0.5, 1.0, 2.0])
    np.testing.assert_allclose(tf.math.rsqrt(x).numpy(), [2.0, 1.0, 0.5])
    np.testing.assert_allclose(tf.math.log(x).numpy(), np.log(x), rtol=1e-6)
    np.testing.assert_allclose(tf.math.log1p(x).numpy(), np.log1p(x), rtol=1e-6)
    np.testing.assert_allclose(tf.math.erf(x).numpy(), [math.erf(v) for v in x], rtol=1e-6)


def test_round_half_to_even() -> None:
    np.testing.assert_array_equal(tf.round([0.5, 1.5, 2.5, -0.5]).numpy(), [0.0, 2.0, 2.0, -0.0])


def test_sigmoid_extremes_are_finite() -> None:
    y = tf.sigmoid(tf.constant([-1000.0, 0.0, 1000.0])).numpy()
    np.testing.assert_allclose(y, [0.0, 0.5, 1.0])


def test_binary_values_and_broadcast_shape() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal(B1).astype(np.float32)
    b = rng.uniform(0.5, 2, B2).astype(np.float32)
    for f, g in [(tf.add, np.add), (tf.subtract, np.subtract), (tf.multiply, np.multiply),
                 (tf.divide, np.divide), (tf.maximum, np.maximum), (tf.minimum, np.minimum)]:
        out = f(a, b)
        assert out.shape == (3, 2, 4)
        np.testing.assert_allclose(out.numpy(), g(a, b), rtol=1e-6)
    np.testing.assert_allclose(tf.pow(b, a).numpy(), np.power(b, a), rtol=1e-5)


def test_floordiv_mod_follow_python_sign_rules() -> None:
    a = tf.constant([7, -7, 7, -7])
    b = tf.constant([2, 2, -2, -2])
    np.testing.assert_array_equal((a // b).numpy(), [3, -4, -4, 3])
    np.testing.assert_array_equal((a % b).numpy(), [1, 1, -1, -1])
    assert (a // b).dtype == tf.int32
    np.testing.assert_allclose(tf.math.floormod(tf.constant([5.5, -5.5]), 2.0).numpy(), [1.5, 0.5])


def test_floordiv_mod_have_no_gradient() -> None:
    x = tf.constant([3.0, 4.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x // 2.0 + x % 2.0
    assert tape.gradient(y, x) is None


def test_round_floor_ceil_sign_zero_gradient() -> None:
    x = tf.constant([1.3, -2.7])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ys = [tf.round(x), tf.floor(x), tf.math.ceil(x), tf.sign(x)]
    for y in ys:
        np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0.0, 0.0])


def test_comparisons_and_logical() -> None:
    a = tf.constant([1.0, 2.0, 3.0])
    np.testing.assert_array_equal((a < 2).numpy(), [True, False, False])
    np.testing.assert_array_equal((a <= 2).numpy(), [True, True, False])
    np.testing.assert_array_equal((a > 2).numpy(), [False, False, True])
    np.testing.assert_array_equal((a >= 2).numpy(), [False, True, True])
    np.testing.assert_array_equal(tf.equal(a, 2.0).numpy(), [False, True, False])
    np.testing.assert_array_equal(tf.not_equal(a, 2.0).numpy(), [True, False, True])
    p = tf.constant([True, False, True])
    q = tf.constant([True, True, False])
    np.testing.assert_array_equal(tf.logical_and(p, q).numpy(), [True, False, False])
    np.testing.assert_array_equal(tf.logical_or(p, q).numpy(), [True, True, True])
    np.testing.assert_array_equal(tf.logical_not(p).numpy(), [False, True, False])
    np.testing.assert_array_equal((p & q).numpy(), [True, False, False])
    np.testing.assert_array_equal((~p).numpy(), [False, True, False])
    assert tf.equal(a, 2.0).dtype == tf.bool
    with pytest.raises(TypeError, match="bool"):
        tf.logical_and(a, a)


def test_comparisons_are_not_recorded() -> None:
    x = tf.constant([1.0, -1.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        m = x > 0
    assert tape.gradient(tf.cast(m, tf.float32), x) is None


def test_maximum_tie_gradient_goes_to_first() -> None:
    x = tf.constant([1.0, 2.0])
    y = tf.constant([1.0, 1.0])
    with tf.GradientTape() as tape:
        tape.watch([x, y])
        z = tf.maximum(x, y)
    gx, gy = tape.gradient(z, [x, y])
    np.testing.assert_array_equal(gx.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(gy.numpy(), [0.0, 0.0])


def test_clip_by_value_gradient_mask() -> None:
    x = tf.constant([-2.0, 0.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.clip_by_value(x, -1.0, 1.0)
    np.testing.assert_array_equal(y.numpy(), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0.0, 1.0, 0.0])


def test_pow_gradient_wrt_exponent_at_nonpositive_base_is_finite() -> None:
    a = tf.constant([0.0, -2.0, 2.0])
    b = tf.constant([2.0, 2.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(b)
        y = tf.pow(a, b)
    g = tape.gradient(y, b).numpy()
    assert np.isfinite(g).all()
    np.testing.assert_allclose(g, [0.0, 0.0, 4 * math.log(2.0)], rtol=1e-6)


def test_where_single_argument_gives_indices() -> None:
    idx = tf.where(tf.constant([[True, False], [False, True]]))
    assert idx.dtype == tf.int64
    np.testing.assert_array_equal(idx.numpy(), [[0, 0], [1, 1]])


def test_where_values_and_errors() -> None:
    c = tf.constant([True, False])
    np.testing.assert_array_equal(tf.where(c, 1.0, 2.0).numpy(), [1.0, 2.0])
    with pytest.raises(TypeError, match="bool"):
        tf.where(tf.constant([1.0, 0.0]), 1.0, 2.0)


def test_cast_values_and_gradient() -> None:
    x = tf.constant([1.7, -1.7, 2.5])
    np.testing.assert_array_equal(tf.cast(x, tf.int32).numpy(), [1, -1, 2])  # truncates
    assert tf.cast(x, "float16").dtype == tf.float16
    assert tf.cast(x, tf.float32) is x
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.cast(x, tf.float64) * 3.0
    g = tape.gradient(y, x)
    assert g.dtype == tf.float32
    np.testing.assert_allclose(g.numpy(), [3.0, 3.0, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.cast(tf.cast(x, tf.int32), tf.float32)
    assert tape.gradient(y, x) is None


def test_integer_division_promotes_to_float() -> None:
    out = tf.constant([1, 2]) / tf.constant([2, 4])
    assert out.dtype == tf.float64  # TF: int32 / int32 -> float64
    np.testing.assert_allclose(out.numpy(), [0.5, 0.5])


@pytest.mark.oracle
def test_where_gradient_ignores_non_finite_gradients_of_the_discarded_branch():
    tf_real = pytest.importorskip("tensorflow")

    def grads(m):
        x = m.Variable([1.0, 2.0])
        with m.GradientTape() as tape:
            y = m.where([False, True], x, [-float("inf"), -float("inf")])
            out = m.nn.softplus(m.reduce_logsumexp(y[:1]))
        g_where = tape.gradient(out, x)
        with m.GradientTape() as tape:
            out = m.reduce_sum(m.maximum(x, [3.0, 0.0]) * [float("inf"), 1.0])
        g_max = tape.gradient(out, x)
        return g_where.numpy(), g_max.numpy()

    for a, b in zip(grads(tf), grads(tf_real), strict=True):
        np.testing.assert_array_equal(a, b)

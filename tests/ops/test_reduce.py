"""Reductions: values against NumPy for axis/keepdims variants; gradients in float64."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import OpCase, available_devices, run_case

AXES = [None, 0, 1, -1, [0, 2], (1, 2)]


def _cases(name, fn, domain="normal", second_order=True):
    out = []
    for axis in AXES:
        for keepdims in (False, True):
            out.append(OpCase(f"{name}/axis={axis}/keepdims={keepdims}",
                              lambda x, a=axis, k=keepdims: fn(x, axis=a, keepdims=k),
                              [(2, 3, 4)], domain=domain, second_order=second_order))
    return out


CASES = (
    _cases("reduce_sum", tf.reduce_sum)
    + _cases("reduce_mean", tf.reduce_mean)
    + _cases("reduce_max", tf.reduce_max, domain="distinct")
    + _cases("reduce_min", tf.reduce_min, domain="distinct")
    + _cases("reduce_prod", tf.reduce_prod, domain="nonzero")
    + _cases("reduce_logsumexp", tf.reduce_logsumexp)
    + _cases("reduce_variance", tf.math.reduce_variance)
    + _cases("reduce_std", tf.math.reduce_std)
    + [
        OpCase("reduce_mean/rank0", lambda x: tf.reduce_mean(x) * x, [np.array(1.5)]),
        OpCase("reduce_mean/large_broadcast_view", lambda x: tf.reduce_mean(x, axis=0) * 3.0, [(300, 250)],
               second_order=False),
        OpCase("reduce_sum/after_broadcast", lambda a, b: tf.reduce_sum(a * b, axis=1), [(3, 1, 4), (2, 4)]),
        OpCase("reduce_prod/with_zero",
               lambda x: tf.reduce_prod(x * tf.constant([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]], tf.float64),
                                        axis=1),
               [(2, 3)]),
        OpCase("reduce_prod/two_zeros",
               lambda x: tf.reduce_prod(x * tf.constant([[1.0, 0.0, 0.0], [1.0, 0.0, 1.0]], tf.float64)),
               [(2, 3)]),
        OpCase("reduce_euclidean_norm", lambda x: tf.math.reduce_euclidean_norm(x, axis=1), [(3, 4)]),
        OpCase("norm/all", tf.norm, [(3, 4)]),
        OpCase("norm/axis", lambda x: tf.norm(x, axis=-1, keepdims=True), [(3, 4)]),
        OpCase("norm/ord1", lambda x: tf.norm(x, ord=1, axis=0), [(3, 4)], domain="nonzero"),
        OpCase("norm/ord3", lambda x: tf.norm(x, ord=3), [(3, 4)], domain="nonzero"),
        OpCase("norm/inf", lambda x: tf.norm(x, ord=np.inf, axis=1), [(3, 4)], domain="distinct"),
        OpCase("linalg.norm", lambda x: tf.linalg.norm(x, axis=1), [(3, 4)]),
        OpCase("cumsum/axis0", lambda x: tf.cumsum(x, axis=0), [(3, 4)]),
        OpCase("cumsum/axis1", lambda x: tf.cumsum(x, axis=1), [(3, 4)]),
        OpCase("cumsum/exclusive", lambda x: tf.cumsum(x, axis=1, exclusive=True), [(3, 4)]),
        OpCase("cumsum/reverse", lambda x: tf.cumsum(x, axis=-1, reverse=True), [(3, 4)]),
        OpCase("cumsum/exclusive_reverse", lambda x: tf.cumsum(x, axis=0, exclusive=True, reverse=True),
               [(3, 4)]),
        OpCase("cumprod", lambda x: tf.math.cumprod(x, axis=1), [(2, 4)], domain="nonzero"),
        OpCase("cumprod/exclusive_reverse", lambda x: tf.math.cumprod(x, axis=0, exclusive=True, reverse=True),
               [(3, 4)], domain="nonzero"),
        OpCase("cumprod/exclusive", lambda x: tf.math.cumprod(x, axis=-1, exclusive=True), [(2, 3, 4)],
               domain="nonzero"),
    ]
)


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradients(case: OpCase, device: str) -> None:
    with tf.device(device):
        run_case(case)


NP_REDUCE = [
    (tf.reduce_sum, np.sum), (tf.reduce_mean, np.mean), (tf.reduce_max, np.max),
    (tf.reduce_min, np.min), (tf.reduce_prod, np.prod), (tf.math.reduce_variance, np.var),
    (tf.math.reduce_std, np.std),
]


@pytest.mark.parametrize("tf_fn,np_fn", NP_REDUCE, ids=lambda f: getattr(f, "__name__", "f"))
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_values(tf_fn, np_fn, axis, keepdims) -> None:
    x = np.random.default_rng(3).uniform(0.5, 1.5, (2, 3, 4)).astype(np.float32)
    out = tf_fn(x, axis=axis, keepdims=keepdims)
    ax = tuple(axis) if isinstance(axis, list) else axis
    want = np_fn(x, axis=ax, keepdims=keepdims)
    assert out.shape == want.shape
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")
def test_logsumexp_is_stable() -> None:
    x = tf.constant([[1000.0, 1000.0], [-1000.0, -1000.0]])
    np.testing.assert_allclose(tf.reduce_logsumexp(x, axis=1).numpy(), [1000 + np.log(2), -1000 + np.log(2)])
    assert tf.reduce_logsumexp(x).shape == ()
    neg_inf = tf.constant([-np.inf, -np.inf])
    assert tf.reduce_logsumexp(neg_inf).numpy() == -np.inf


def test_reduce_max_ties_share_gradient() -> None:
    x = tf.constant([1.0, 3.0, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_max(x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [0.0, 0.5, 0.5])


def test_reduce_mean_integer_is_integer_division() -> None:
    out = tf.reduce_mean(tf.constant([1, 2, 4]))
    assert out.dtype == tf.int32 and int(out) == 2


def test_reduce_any_all_argmax_argmin() -> None:
    b = tf.constant([[True, False], [False, False]])
    np.testing.assert_array_equal(tf.reduce_any(b, axis=1).numpy(), [True, False])
    np.testing.assert_array_equal(tf.reduce_all(b, axis=0).numpy(), [False, False])
    assert bool(tf.reduce_any(b)) and not bool(tf.reduce_all(b))
    x = tf.constant([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    am = tf.argmax(x, axis=1)
    assert am.dtype == tf.int64
    np.testing.assert_array_equal(am.numpy(), [1, 0])
    np.testing.assert_array_equal(tf.argmax(x).numpy(), [1, 0, 1])  # axis defaults to 0
    np.testing.assert_array_equal(tf.argmin(x, axis=-1, output_type=tf.int32).numpy(), [0, 1])
    assert tf.argmin(x, axis=1, output_type=tf.int32).dtype == tf.int32


def test_cumsum_values() -> None:
    x = np.arange(1.0, 5.0, dtype=np.float32)
    np.testing.assert_array_equal(tf.cumsum(x).numpy(), [1, 3, 6, 10])
    np.testing.assert_array_equal(tf.cumsum(x, exclusive=True).numpy(), [0, 1, 3, 6])
    np.testing.assert_array_equal(tf.cumsum(x, reverse=True).numpy(), [10, 9, 7, 4])
    np.testing.assert_array_equal(tf.cumsum(x, exclusive=True, reverse=True).numpy(), [9, 7, 4, 0])
    np.testing.assert_allclose(tf.math.cumprod(x).numpy(), [1, 2, 6, 24])
    np.testing.assert_allclose(tf.math.cumprod(-x).numpy(), [-1, 2, -6, 24])


def test_norm_values() -> None:
    x = np.array([[3.0, -4.0], [0.0, 1.0]], np.float32)
    np.testing.assert_allclose(tf.norm(x).numpy(), np.sqrt(26.0), rtol=1e-6)
    np.testing.assert_allclose(tf.norm(x, axis=1).numpy(), [5.0, 1.0])
    np.testing.assert_allclose(tf.norm(x, ord=1, axis=1).numpy(), [7.0, 1.0])
    np.testing.assert_allclose(tf.norm(x, ord=np.inf, axis=1).numpy(), [4.0, 1.0])


def test_axis_out_of_range_names_op() -> None:
    with pytest.raises(ValueError, match="Sum: axis 3 is out of range for a tensor of rank 2"):
        tf.reduce_sum(tf.ones((2, 2)), axis=3)


def test_reduce_empty_sum_and_max() -> None:
    assert float(tf.reduce_sum(tf.zeros((0,)))) == 0.0
    with np.errstate(invalid="ignore"):
        assert np.isnan(float(tf.reduce_mean(tf.zeros((0,)))))  # TF: nan
    # TF: the reduction's identity over an empty axis (-inf, or the dtype's extreme), shapes kept.
    assert float(tf.reduce_max(tf.zeros((0,)))) == -np.inf
    np.testing.assert_array_equal(tf.reduce_min(tf.zeros((0, 3), tf.int32), axis=0).numpy(), [2**31 - 1] * 3)
    assert int(tf.reduce_max(tf.zeros((0,), tf.int64))) == -(2**63)
    assert tf.reduce_max(tf.zeros((0, 1, 4)), axis=1).shape == (0, 4)
    assert tf.reduce_max(tf.zeros((0, 2)), axis=0, keepdims=True).numpy().tolist() == [[-np.inf, -np.inf]]


def test_running_products_and_sums_are_exact_and_keep_integer_dtypes():
    """TF multiplies (and adds) step by step: exact products, exclusive scans by shifting, ints kept."""
    x = np.array([3.0, 7.0, 11.0, 13.0, 17.0, 19.0], np.float32)
    np.testing.assert_array_equal(tf.math.cumprod(x).numpy(), np.cumprod(x))
    np.testing.assert_array_equal(tf.math.cumprod(x, exclusive=True, reverse=True).numpy(),
                                  np.flip(np.concatenate([[1.0], np.cumprod(x[::-1])[:-1]])))
    ints = tf.math.cumprod(tf.constant([[1, 2, 3], [4, 5, 6]]), axis=1, exclusive=True)
    assert ints.dtype == tf.int32
    np.testing.assert_array_equal(ints.numpy(), [[1, 1, 2], [1, 4, 20]])
    big = np.array([1.0, 1e8], np.float32)  # inclusive minus x would give [0, 0]
    np.testing.assert_array_equal(tf.cumsum(big, exclusive=True).numpy(), [0.0, 1.0])
    assert tf.math.cumprod(np.zeros((0, 3), np.float32), exclusive=True).shape == (0, 3)


def test_reduce_prod_gradient_traces_without_values():
    """The gradient of reduce_prod is built from primitives, so a tf.function traces it (no
    value is read at trace time) and equals the eager gradient, zeros included."""
    x = tf.Variable([[2.0, 0.0, 3.0], [4.0, 5.0, 0.5]])

    def grad():
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(tf.reduce_prod(x, axis=1) ** 2)
        return tape.gradient(y, x)

    np.testing.assert_allclose(tf.function(grad)().numpy(), grad().numpy(), rtol=1e-6)
    np.testing.assert_allclose(grad().numpy(), [[0.0, 0.0, 0.0], [50.0, 40.0, 400.0]], rtol=1e-6)


def test_cumprod_gradient_with_a_zero_is_tfs():
    """TF divides with div_no_nan in cumprod's gradient: 0 (not inf or nan) where x is 0."""
    x = tf.Variable([2.0, 0.0, 3.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.math.cumprod(x))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [1.0, 0.0, 0.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape, axes", [((32, 256, 16), (1,)), ((4, 6, 5, 3), (1, 2)), ((3, 7, 2), (0,)),
                                         ((5, 4, 3, 2), (0, 1, 2)), ((2, 0, 3), (1,)), ((6, 5), (0,))])
def test_middle_axis_sums_match_ufunc_reduce_bit_for_bit(dtype, shape, axes):
    """Sums over a block of middle axes run through einsum (faster): the same bits as NumPy's
    reduction, for reduce_sum, reduce_mean and with keepdims."""
    from tapeflow.ops.reduce import sum_array

    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    for keepdims in (False, True):
        want = np.add.reduce(a, axis=axes, keepdims=keepdims)
        got = sum_array(a, axes, keepdims)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(tf.reduce_sum(a, list(axes), keepdims=keepdims).numpy(), want)
    if a.size:
        np.testing.assert_array_equal(tf.reduce_mean(a, list(axes)).numpy(),
                                      np.add.reduce(a, axis=axes) / a.dtype.type(np.prod([shape[i] for i in axes])))
    strided = a[:, ::-1] if a.ndim > 1 else a
    np.testing.assert_array_equal(sum_array(strided, axes, False), np.add.reduce(strided, axis=axes))

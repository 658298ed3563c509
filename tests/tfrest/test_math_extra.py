"""The rest of tf.math: special functions, safe ops, segment reductions, counting helpers."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)
X = RNG.uniform(0.1, 0.9, (3, 4)).astype(np.float32)
Y = RNG.uniform(1.5, 3.0, (3, 4)).astype(np.float32)

UNARY = ["acos", "asin", "atan", "acosh", "asinh", "atanh", "sinh", "cosh", "bessel_i0", "bessel_i1",
         "bessel_i0e", "bessel_i1e", "erfc", "erfcinv", "erfinv", "ndtri", "lgamma", "digamma",
         "reciprocal_no_nan", "rint", "real", "imag", "conj", "angle", "is_non_decreasing",
         "is_strictly_increasing", "zero_fraction"]
BINARY = ["atan2", "xlogy", "xdivy", "xlog1py", "multiply_no_nan", "nextafter", "igamma", "igammac",
          "zeta", "polygamma"]


@pytest.mark.oracle
@pytest.mark.parametrize("name", UNARY)
def test_unary_against_tensorflow(name):
    ttf = pytest.importorskip("tensorflow")
    arg = Y if name == "acosh" else X
    a = getattr(ttf.math, name)(arg).numpy()
    b = getattr(tf.math, name)(arg).numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_allclose(b.astype(float), a.astype(float), rtol=2e-6, atol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("name", BINARY)
def test_binary_against_tensorflow(name):
    ttf = pytest.importorskip("tensorflow")
    first = {"polygamma": np.round(X * 3), "zeta": Y}.get(name, X)
    a = getattr(ttf.math, name)(first, Y[:1]).numpy()  # broadcasting (3, 4) with (1, 4)
    b = getattr(tf.math, name)(first, Y[:1]).numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
def test_betainc_lbeta_cumulative_logsumexp_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    np.testing.assert_allclose(tf.math.betainc(X, Y, X).numpy(), ttf.math.betainc(X, Y, X).numpy(), rtol=1e-5)
    np.testing.assert_allclose(tf.math.lbeta(Y).numpy(), ttf.math.lbeta(Y).numpy(), rtol=1e-5)
    for kw in ({}, {"exclusive": True}, {"reverse": True}):
        np.testing.assert_allclose(tf.math.cumulative_logsumexp(X, 1, **kw).numpy(),
                                   ttf.math.cumulative_logsumexp(X, 1, **kw).numpy(), rtol=1e-5)
    np.testing.assert_allclose(tf.math.polyval([1.0, 2.0, 3.0], tf.constant(X)).numpy(),
                               ttf.math.polyval([1.0, 2.0, 3.0], ttf.constant(X)).numpy(), rtol=1e-6)


@pytest.mark.oracle
def test_segments_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    d = RNG.normal(size=(5, 2)).astype(np.float32)
    ids = np.array([0, 0, 2, 3, 3])
    for n in ["segment_sum", "segment_mean", "segment_max", "segment_min", "segment_prod"]:
        np.testing.assert_allclose(getattr(tf.math, n)(d, ids).numpy(), getattr(ttf.math, n)(d, ids).numpy(),
                                   rtol=1e-6, err_msg=n)
    uids = np.array([1, -1, 4, 1, 0])
    for n in ["unsorted_segment_sum", "unsorted_segment_mean", "unsorted_segment_max", "unsorted_segment_min",
              "unsorted_segment_prod", "unsorted_segment_sqrt_n"]:
        np.testing.assert_allclose(getattr(tf.math, n)(d, uids, 5).numpy(),
                                   getattr(ttf.math, n)(d, uids, 5).numpy(), rtol=1e-6, err_msg=n)
    ids2 = np.array([[0, 1], [1, 2]])  # ids spanning two leading axes
    d2 = RNG.normal(size=(2, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(tf.math.unsorted_segment_sum(d2, ids2, 3).numpy(),
                               ttf.math.unsorted_segment_sum(d2, ids2, 3).numpy(), rtol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="not increasing"):
        tf.math.segment_sum(d, [1, 0, 0, 0, 0])


@pytest.mark.oracle
def test_counting_helpers_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    cases = [((np.array([1, 1, 3]),), {"minlength": 6}), ((np.array([[1, 1], [3, 0]]),), {"axis": -1}),
             ((np.array([1, 1, 3]),), {"weights": np.array([0.5, 1.0, 2.0], np.float32)}),
             ((np.array([1, 1, 3]),), {"maxlength": 2, "binary_output": True})]
    for args, kw in cases:
        a, b = ttf.math.bincount(*args, **kw), tf.math.bincount(*args, **kw)
        assert a.dtype.name == b.dtype.name
        np.testing.assert_array_equal(b.numpy(), a.numpy())
    np.testing.assert_array_equal(tf.math.confusion_matrix([1, 2, 0], [1, 0, 0]).numpy(),
                                  ttf.math.confusion_matrix([1, 2, 0], [1, 0, 0]).numpy())
    np.testing.assert_array_equal(tf.math.invert_permutation([2, 0, 1]).numpy(), [1, 2, 0])
    p = [[0.1, 0.9, 0.3], [0.5, 0.2, 0.1]]
    np.testing.assert_array_equal(tf.math.in_top_k([1, 2], p, 1).numpy(), ttf.math.in_top_k([1, 2], p, 1).numpy())
    np.testing.assert_array_equal(tf.math.approx_max_k(X, 2)[1].numpy(), ttf.math.approx_max_k(X, 2)[1].numpy())
    np.testing.assert_allclose(tf.math.approx_min_k(X, 2, 0)[0].numpy(), np.sort(X, 0)[:2])


def test_gradients_float64():
    x = RNG.uniform(0.2, 0.8, (2, 3))
    y = RNG.uniform(1.5, 3.0, (1, 3))
    for f in (tf.math.acos, tf.math.asin, tf.math.atanh, tf.math.lgamma, tf.math.digamma, tf.math.erfc,
              tf.math.bessel_i0e, tf.math.ndtri, lambda t: tf.math.cumulative_logsumexp(t, 1)):
        check_gradients(f, [x])
    check_gradients(tf.math.acosh, [y])
    for f in (tf.math.atan2, tf.math.xlogy, tf.math.xdivy, tf.math.multiply_no_nan):
        check_gradients(f, [x, y])
    check_gradients(lambda q: tf.math.zeta(tf.constant(np.full((2, 3), 2.5)), q), [y])
    check_gradients(lambda t: tf.math.igamma(tf.constant(np.full((2, 3), 2.0)), t), [y])
    check_gradients(lambda t: tf.math.betainc(tf.constant(np.full((2, 3), 2.0)), tf.constant(np.full((2, 3), 3.0)), t),
                    [x])
    check_gradients(lambda d: tf.math.unsorted_segment_mean(d, [0, 1, 0], 2), [x.T])
    check_gradients(lambda d: tf.math.segment_max(d, [0, 0, 1]), [x.T])

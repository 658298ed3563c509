"""tf.gather_nd with batch_dims > 0: values against TF, float64 gradients, shape errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)
P = RNG.standard_normal((2, 3, 4, 5))
CASES = [(1, (2, 6), 2), (2, (2, 3, 4), 1), (1, (2, 2, 3), 3), (3, (2, 3, 4, 1), 1)]


def _indices(batch_dims, shape, k):
    highs = P.shape[batch_dims: batch_dims + k]
    return np.stack([RNG.integers(0, h, shape) for h in highs], -1)


def _expected(params, indices, batch_dims):
    batch = params.shape[:batch_dims]
    flat_p = params.reshape((-1,) + params.shape[batch_dims:])
    flat_i = indices.reshape((flat_p.shape[0],) + indices.shape[batch_dims:])
    out = np.stack([p[tuple(np.moveaxis(i, -1, 0))] for p, i in zip(flat_p, flat_i, strict=True)])
    return out.reshape(batch + out.shape[1:])


@pytest.mark.parametrize("batch_dims, shape, k", CASES)
def test_values_and_gradients(batch_dims, shape, k):
    idx = _indices(batch_dims, shape, k)
    np.testing.assert_array_equal(tf.gather_nd(P, idx, batch_dims=batch_dims).numpy(), _expected(P, idx, batch_dims))
    check_gradients(lambda x: tf.gather_nd(x, idx, batch_dims=batch_dims), [P])


@pytest.mark.oracle
@pytest.mark.parametrize("batch_dims, shape, k", CASES)
def test_against_tf(batch_dims, shape, k):
    real = pytest.importorskip("tensorflow")
    idx = _indices(batch_dims, shape, k)
    np.testing.assert_array_equal(tf.gather_nd(P, idx, batch_dims=batch_dims).numpy(),
                                  real.gather_nd(P, idx, batch_dims=batch_dims).numpy())


def test_mismatched_batch_axes_are_named():
    with pytest.raises(ValueError, match=r"batch_dims=1 needs .* params \(2, 3, 4, 5\) and indices \(1, 6, 2\)"):
        tf.gather_nd(P, np.zeros((1, 6, 2), "int64"), batch_dims=1)
    with pytest.raises(ValueError, match="GatherNd"):
        tf.gather_nd(P, np.zeros((2, 2), "int64"), batch_dims=2)

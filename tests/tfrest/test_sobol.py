"""tf.math.sobol_sample against TensorFlow (Joe & Kuo's direction numbers, TF's point numbering)."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.errors import InvalidArgumentError


def test_first_points_and_shape():
    got = tf.math.sobol_sample(3, 4)
    assert got.dtype == tf.float32 and tuple(got.shape) == (4, 3)
    np.testing.assert_array_equal(got.numpy(), [[0.5, 0.5, 0.5], [0.75, 0.25, 0.25], [0.25, 0.75, 0.75],
                                                [0.375, 0.375, 0.625]])


@pytest.mark.oracle
@pytest.mark.parametrize("dim,num_results,skip,dtype", [(1, 17, 0, "float32"), (50, 100, 0, "float64"),
                                                        (1111, 64, 5, "float32"), (21200, 3, 1000, "float64"),
                                                        (7, 500, 123456, "float32")])
def test_matches_tensorflow(dim, num_results, skip, dtype):
    ttf = pytest.importorskip("tensorflow")
    got = tf.math.sobol_sample(dim, num_results, skip=skip, dtype=getattr(tf, dtype))
    want = ttf.math.sobol_sample(dim, num_results, skip=skip, dtype=getattr(ttf, dtype))
    assert got.dtype.name == dtype
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_errors_as_tf():
    with pytest.raises(InvalidArgumentError, match="dim must be at least one"):
        tf.math.sobol_sample(0, 2)
    with pytest.raises(InvalidArgumentError, match="dim must be at most 21200"):
        tf.math.sobol_sample(21201, 2)
    with pytest.raises(InvalidArgumentError, match="num_results must be at least one"):
        tf.math.sobol_sample(2, 0)
    with pytest.raises(InvalidArgumentError, match="num_results\\+skip must be less than"):
        tf.math.sobol_sample(2, 20, skip=2**31 - 10)
    with pytest.raises(InvalidArgumentError, match="float32 or float64"):
        tf.math.sobol_sample(2, 2, dtype=tf.int32)

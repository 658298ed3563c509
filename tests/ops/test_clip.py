"""tf.clip_by_norm, tf.linalg.global_norm, tf.clip_by_global_norm."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients


def test_values_and_none_entries():
    out = tf.clip_by_norm(tf.constant([[3.0, 4.0], [0.3, 0.4]]), 1.0, axes=[1])
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)
    clipped, norm = tf.clip_by_global_norm([tf.constant([3.0]), None, tf.constant([4.0])], 1.0)
    assert clipped[1] is None and float(norm) == 5.0
    np.testing.assert_allclose([float(clipped[0][0]), float(clipped[2][0])], [0.6, 0.8], rtol=1e-6)
    assert float(tf.linalg.global_norm([tf.constant([3.0, 4.0])])) == 5.0
    with pytest.raises(TypeError, match="sequence"):
        tf.clip_by_global_norm(tf.constant([1.0]), 1.0)


def test_gradients_float64():
    check_gradients(lambda t: tf.clip_by_norm(t, 0.5), [np.array([[0.3, -1.2], [2.0, 0.1]])])
    check_gradients(lambda t: tf.clip_by_norm(t, 0.5, axes=[0]), [np.array([[0.3, -1.2], [2.0, 0.1]])])
    check_gradients(lambda a, b: tf.clip_by_global_norm([a, b], 1.0)[0][0],
                    [np.array([0.3, -1.2]), np.array([2.0, 0.1])])


@pytest.mark.oracle
def test_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    for axes in (None, [0], [1]):
        np.testing.assert_allclose(tf.clip_by_norm(x, 1.5, axes=axes).numpy(),
                                   ttf.clip_by_norm(x, 1.5, axes=axes).numpy(), rtol=1e-6)
    ours, n1 = tf.clip_by_global_norm([x, x[:2]], 2.0)
    theirs, n2 = ttf.clip_by_global_norm([x, x[:2]], 2.0)
    np.testing.assert_allclose(float(n1), float(n2), rtol=1e-6)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)

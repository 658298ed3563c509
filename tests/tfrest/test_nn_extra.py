"""More of tf.nn against TF: crelu, depth/space rearrangements, LRN, moment helpers, losses,
embedding lookup, atrous conv, pool, max_pool_with_argmax; float64 gradients."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)
IMG = RNG.normal(size=(2, 4, 6, 8)).astype(np.float32)


def _same(ours, theirs, tol=1e-5):
    if isinstance(theirs, (tuple, list)):
        for a, b in zip(ours, theirs, strict=True):
            _same(a, b, tol)
        return
    a, b = ours.numpy(), theirs.numpy()
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.oracle
def test_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    x = IMG[..., :4]
    cases = [("crelu", (x,), {}), ("depth_to_space", (IMG, 2), {}), ("space_to_depth", (IMG, 2), {}),
             ("local_response_normalization", (IMG,), {"depth_radius": 2, "bias": 2.0, "alpha": 0.1, "beta": 0.75}),
             ("lrn", (IMG,), {}), ("zero_fraction", (np.maximum(IMG, 0),), {}),
             ("sufficient_statistics", (IMG, [0, 1]), {"shift": 0.5}),
             ("weighted_moments", (IMG, [0, 2], np.abs(IMG)), {}),
             ("compute_average_loss", (IMG[:, 0, 0, 0],), {"global_batch_size": 4}),
             ("log_poisson_loss", (np.abs(IMG) * 3, IMG), {"compute_full_loss": True}),
             ("embedding_lookup", (IMG[0, 0], [[1, 3], [0, 0]]), {"max_norm": 1.0}),
             ("embedding_lookup", ([IMG[0, 0], IMG[0, 1, :5]], [1, 5, 2, 10]), {}),
             ("atrous_conv2d", (IMG, RNG.normal(size=(3, 3, 8, 2)).astype(np.float32), 2, "SAME"), {}),
             ("pool", (IMG, [2, 2], "AVG"), {"strides": [2, 2], "padding": "SAME"}),
             ("max_pool_with_argmax", (IMG, 2, 2, "SAME"), {}),
             ("max_pool_with_argmax", (IMG, 3, 2, "VALID"), {"include_batch_in_index": True}),
             ("top_k", (IMG, 3), {}), ("in_top_k", ([1, 2], IMG[:, 0, 0], 3), {})]
    for name, args, kw in cases:
        _same(getattr(tf.nn, name)(*args, **kw), getattr(ttf.nn, name)(*args, **kw))
    # TF has no CPU kernel for NCHW depth_to_space: compare with the NHWC result, transposed.
    nchw = tf.nn.depth_to_space(IMG.transpose(0, 3, 1, 2), 2, data_format="NCHW").numpy()
    np.testing.assert_array_equal(nchw.transpose(0, 2, 3, 1), ttf.nn.depth_to_space(IMG, 2).numpy())
    c, m, v, _ = ttf.nn.sufficient_statistics(IMG, [0, 1])
    _same(tf.nn.normalize_moments(c.numpy(), m.numpy(), v.numpy(), None), ttf.nn.normalize_moments(c, m, v, None))
    args = (IMG, IMG.mean(), IMG.var(), np.float32(0.1), np.float32(2.0), 1e-3, True)
    _same(tf.nn.batch_norm_with_global_normalization(*args), ttf.nn.batch_norm_with_global_normalization(*args))


def test_gradients_float64():
    x = RNG.normal(size=(1, 4, 4, 4))
    check_gradients(tf.nn.crelu, [x])
    check_gradients(lambda t: tf.nn.depth_to_space(t, 2), [x])
    check_gradients(lambda t: tf.nn.space_to_depth(t, 2), [x])
    check_gradients(lambda t: tf.nn.local_response_normalization(t, 1), [x])
    check_gradients(lambda t, w: tf.nn.weighted_moments(t, [1, 2], w)[1], [x, np.abs(x) + 0.1])
    check_gradients(lambda t: tf.nn.log_poisson_loss(np.abs(x) * 3, t, compute_full_loss=True), [x])
    check_gradients(lambda t: tf.nn.embedding_lookup(t, [[1, 3]], max_norm=0.5), [x[0, 0]])

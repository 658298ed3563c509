"""The rest of tf.nn against TF: CTC loss and decoders, dilation/erosion, fractional pooling,
isotonic regression, sampled losses and sparse embeddings, convolution extras, tf.nn.experimental;
float64 gradients of the differentiable ones."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import nn_morphology
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)
IMG = RNG.normal(size=(2, 7, 8, 3)).astype(np.float32)
LOGITS = RNG.normal(size=(7, 3, 5)).astype(np.float32)
LABELS = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [4, 4, 4, 1]], np.int64)
LABEL_LEN, LOGIT_LEN = np.array([3, 2, 4]), np.array([7, 5, 7])


def _dense(sp):
    return tf.sparse.to_dense(sp).numpy()


def _close(a, b, tol=1e-5):
    a, b = np.asarray(a), np.asarray(b.numpy() if hasattr(b, "numpy") else b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.oracle
def test_ctc_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    for blank in (None, 0, -1, 2):
        labels = np.where(LABELS == 0, 3, LABELS) if blank in (None, 0) else np.where(LABELS == blank % 5, 1, LABELS)
        ours = tf.nn.ctc_loss(labels, LOGITS, LABEL_LEN, LOGIT_LEN, blank_index=blank)
        _close(ours.numpy(), ttf.nn.ctc_loss(labels, LOGITS, LABEL_LEN, LOGIT_LEN, blank_index=blank))
    batch_major = LOGITS.transpose(1, 0, 2)
    sp = tf.sparse.from_dense(np.where(LABELS == 4, 1, LABELS))
    tsp = ttf.sparse.from_dense(np.where(LABELS == 4, 1, LABELS).astype(np.int32))
    _close(tf.nn.ctc_loss(sp, batch_major, None, LOGIT_LEN, logits_time_major=False, blank_index=4).numpy(),
           ttf.nn.ctc_loss(tsp, batch_major, None, LOGIT_LEN.astype(np.int32), logits_time_major=False, blank_index=4))
    x, tx = tf.constant(LOGITS), ttf.constant(LOGITS)
    labels = np.where(LABELS == 0, 1, LABELS)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.nn.ctc_loss(labels, x, LABEL_LEN, LOGIT_LEN))
    with ttf.GradientTape() as ttape:
        ttape.watch(tx)
        tloss = ttf.reduce_sum(ttf.nn.ctc_loss(labels, tx, LABEL_LEN, LOGIT_LEN))
    _close(tape.gradient(loss, x).numpy(), ttape.gradient(tloss, tx))
    for seed in range(3):
        x = np.random.default_rng(seed).normal(size=(8, 3, 4)).astype(np.float32) * 2
        seq = [8, 5, 3]
        (ours,), neg = tf.nn.ctc_greedy_decoder(x, seq)
        (theirs,), tneg = ttf.nn.ctc_greedy_decoder(x, seq)
        np.testing.assert_array_equal(_dense(ours), ttf.sparse.to_dense(theirs).numpy())
        _close(neg.numpy(), tneg)
        (ours,), _ = tf.nn.ctc_greedy_decoder(x, seq, merge_repeated=False, blank_index=0)
        (theirs,), _ = ttf.nn.ctc_greedy_decoder(x, seq, merge_repeated=False, blank_index=0)
        np.testing.assert_array_equal(_dense(ours), ttf.sparse.to_dense(theirs).numpy())
        paths, logp = tf.nn.ctc_beam_search_decoder(x, seq, beam_width=4, top_paths=3)
        tpaths, tlogp = ttf.nn.ctc_beam_search_decoder(x, seq, beam_width=4, top_paths=3)
        for a, b in zip(paths, tpaths, strict=True):
            assert a.indices.dtype == tf.int64 and a.values.dtype == tf.int64
            np.testing.assert_array_equal(_dense(a), ttf.sparse.to_dense(b).numpy())
        _close(logp.numpy(), tlogp)
    labels, lengths = [[1, 1, 2, 2, 3, 0], [4, 4, 4, 5, 0, 0]], [6, 4]
    for a, b in zip(tf.nn.collapse_repeated(labels, lengths), ttf.nn.collapse_repeated(labels, lengths), strict=True):
        _close(a.numpy(), b)
    for a, b in zip(tf.nn.ctc_unique_labels([[3, 1, 3, 2, 0], [4, 4, 5, 0, 0]]),
                    ttf.nn.ctc_unique_labels([[3, 1, 3, 2, 0], [4, 4, 5, 0, 0]]), strict=True):
        _close(a.numpy(), b)


def test_ctc_errors_and_gradients():
    sp = tf.sparse.from_dense(LABELS)
    with pytest.raises(ValueError, match="blank_index"):
        tf.nn.ctc_loss(sp, LOGITS, None, LOGIT_LEN)
    with pytest.raises(ValueError, match="labels of row"):
        tf.nn.ctc_loss(LABELS * 2, LOGITS, LABEL_LEN, LOGIT_LEN)
    with pytest.raises(ValueError, match="top_paths"):
        tf.nn.ctc_beam_search_decoder(LOGITS, LOGIT_LEN, beam_width=2, top_paths=3)
    labels = np.where(LABELS == 0, 2, LABELS)
    check_gradients(lambda t: tf.nn.ctc_loss(labels[:2], t, LABEL_LEN[:2], [7, 5]), [LOGITS[:, :2].astype(np.float64)],
                    rtol=1e-4, atol=1e-5)


@pytest.mark.oracle
def test_morphology_and_fractional_pools_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    f = RNG.normal(size=(3, 2, 3)).astype(np.float32)
    for pad in ("SAME", "VALID"):
        for s, r in (([1, 1, 1, 1], [1, 1, 1, 1]), ([1, 2, 3, 1], [1, 1, 1, 1]), ([1, 1, 2, 1], [1, 2, 2, 1])):
            _close(tf.nn.dilation2d(IMG, f, s, pad, dilations=r).numpy(), ttf.nn.dilation2d(IMG, f, s, pad, "NHWC", r))
            _close(tf.nn.erosion2d(IMG, f, s, pad, dilations=r).numpy(), ttf.nn.erosion2d(IMG, f, s, pad, "NHWC", r))
    for overlapping in (False, True):
        for ours, theirs in ((tf.nn.fractional_max_pool, ttf.nn.fractional_max_pool),
                             (tf.nn.fractional_avg_pool, ttf.nn.fractional_avg_pool)):
            out, rows, cols = theirs(IMG, [1.0, 1.5, 1.7, 1.0], overlapping=overlapping, seed=5)
            kind = "max" if ours is tf.nn.fractional_max_pool else "avg"
            got = nn_morphology._pool_axis(nn_morphology._pool_axis(tf.constant(IMG), 1, rows.numpy(), overlapping,
                                                                    kind), 2, cols.numpy(), overlapping, kind)
            _close(got.numpy(), out)
            mine, r, c = ours(IMG, [1.0, 1.5, 1.7, 1.0], overlapping=overlapping, seed=5)
            assert mine.shape == out.shape and r.dtype == tf.int64 and r.shape == rows.shape
    with pytest.raises(ValueError, match="first and last"):
        tf.nn.fractional_max_pool(IMG, [1.5, 1.6])
    for inputs, kw in (([[3, 1, 2, 5], [1, 2, 3, 0]], {}),
                       (np.array([[3, 1, 2, 5.0]]), {"decreasing": False, "axis": 0}),
                       (RNG.normal(size=(3, 6)), {"decreasing": False}), (IMG[0, :, :, 0], {"axis": 0}),
                       (np.array([[1, 2, 3]], np.int8), {})):
        for a, b in zip(tf.nn.isotonic_regression(inputs, **kw), ttf.nn.isotonic_regression(inputs, **kw), strict=True):
            _close(a.numpy(), b)


def test_fractional_pool_sequences_and_gradients():
    def pool(fn, *args, **kw):  # the op-seeded generator restarts with the global seed (as TF's)
        tf.random.set_seed(1)
        return fn(*args, **kw)

    for pseudo in (False, True):
        out, rows, cols = pool(tf.nn.fractional_max_pool, IMG, 1.4, pseudo_random=pseudo, seed=7)
        again = pool(tf.nn.fractional_max_pool, IMG, 1.4, pseudo_random=pseudo, seed=7)
        np.testing.assert_array_equal(out.numpy(), again[0].numpy())
        r = rows.numpy()
        assert r[0] == 0 and r[-1] == 7 and len(r) == int(7 / 1.4) + 1
        assert set(np.diff(r)) <= {1, 2}
    x = RNG.normal(size=(1, 5, 6, 2))
    check_gradients(lambda t: pool(tf.nn.fractional_max_pool, t, [1.0, 1.5, 1.5, 1.0], seed=3)[0], [x])
    check_gradients(lambda t: pool(tf.nn.fractional_avg_pool, t, [1.0, 1.5, 1.5, 1.0], overlapping=True, seed=3)[0],
                    [x])
    check_gradients(lambda t, w: tf.nn.dilation2d(t, w, [1, 2, 1, 1], "SAME", dilations=[1, 1, 2, 1]),
                    [x, RNG.normal(size=(2, 2, 2))])
    check_gradients(lambda t, w: tf.nn.erosion2d(t, w, [1, 1, 1, 1], "VALID"), [x, RNG.normal(size=(3, 2, 2))])
    check_gradients(lambda t: tf.nn.isotonic_regression(t, axis=0)[0], [RNG.normal(size=(6, 3))])


@pytest.mark.oracle
def test_sampled_losses_and_sparse_embeddings_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    w, b = RNG.normal(size=(20, 4)).astype(np.float32), RNG.normal(size=(20,)).astype(np.float32)
    x, labels = RNG.normal(size=(3, 4)).astype(np.float32), np.array([[1, 2], [3, 4], [5, 19]], np.int64)
    _, te, se = ttf.random.log_uniform_candidate_sampler(labels, 2, 6, True, 20, seed=3)
    sampled = (np.array([2, 7, 5, 0, 11, 3]), te.numpy(), se.numpy())
    for name in ("nce_loss", "sampled_softmax_loss"):
        for hits in (False, True):
            kw = {"num_true": 2, "sampled_values": sampled, "remove_accidental_hits": hits}
            _close(getattr(tf.nn, name)(w, b, labels, x, 6, 20, **kw).numpy(),
                   getattr(ttf.nn, name)(w, b, labels, x, 6, 20, **kw))
    for a, c in zip(tf.nn.compute_accidental_hits([[1, 2], [3, 4]], [2, 3, 1, 0], 2),
                    ttf.nn.compute_accidental_hits(ttf.constant([[1, 2], [3, 4]], ttf.int64),
                                                   ttf.constant([2, 3, 1, 0], ttf.int64), 2), strict=True):
        _close(a.numpy(), c)
    params = np.arange(12.0, dtype=np.float32).reshape(6, 2)
    idx, ids, wts = [[0, 0], [0, 1], [2, 0]], np.array([1, 3, 5], np.int64), np.array([2.0, 1.0, 3.0], np.float32)
    ours_ids, ours_w = tf.SparseTensor(idx, ids, [4, 2]), tf.SparseTensor(idx, wts, [4, 2])
    their_ids, their_w = ttf.sparse.SparseTensor(idx, ids, [4, 2]), ttf.sparse.SparseTensor(idx, wts, [4, 2])
    for combiner in ("mean", "sqrtn", "sum"):
        for ow, tw in ((None, None), (ours_w, their_w)):
            _close(tf.nn.embedding_lookup_sparse(params, ours_ids, ow, combiner=combiner, max_norm=5.0).numpy(),
                   ttf.nn.embedding_lookup_sparse(params, their_ids, tw, combiner=combiner, max_norm=5.0))
    idx3 = [[0, 0, 0], [0, 0, 1], [1, 1, 0], [1, 1, 1]]
    ids3, w3 = np.array([1, -1, 5, 2], np.int64), np.array([2.0, 1.0, 0.0, 3.0], np.float32)
    for default in (None, 4):
        for combiner in ("mean", "sum"):
            _close(tf.nn.safe_embedding_lookup_sparse(params, tf.SparseTensor(idx3, ids3, [2, 3, 2]),
                                                      tf.SparseTensor(idx3, w3, [2, 3, 2]), combiner=combiner,
                                                      default_id=default).numpy(),
                   ttf.nn.safe_embedding_lookup_sparse(params, ttf.sparse.SparseTensor(idx3, ids3, [2, 3, 2]),
                                                       ttf.sparse.SparseTensor(idx3, w3, [2, 3, 2]),
                                                       combiner=combiner, default_id=default))
    with pytest.raises(ValueError, match="combiner"):
        tf.nn.embedding_lookup_sparse(params, ours_ids, None, combiner="max")


def test_sampled_loss_gradients():
    w, b, x = RNG.normal(size=(12, 3)), RNG.normal(size=(12,)), RNG.normal(size=(2, 3))
    labels, sampled = np.array([[1], [4]]), (np.array([0, 4, 7, 9]), np.full((2, 1), 0.3), np.full(4, 0.2))
    for fn in (tf.nn.nce_loss, tf.nn.sampled_softmax_loss):
        check_gradients(lambda w, b, x, fn=fn: fn(w, b, labels, x, 4, 12, sampled_values=sampled), [w, b, x])
    sp = tf.SparseTensor([[0, 0], [0, 1], [2, 0]], np.array([1, 3, 5], np.int64), [3, 2])
    check_gradients(lambda p: tf.nn.embedding_lookup_sparse(p, sp, None, combiner="sqrtn"), [RNG.normal(size=(6, 2))])
    loss = tf.nn.sampled_softmax_loss(w, b, labels, x, num_sampled=3, num_classes=12)
    assert loss.shape == (2,)


@pytest.mark.oracle
def test_conv_extras_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    f = RNG.normal(size=(3, 3, 2, 3)).astype(np.float32)
    for pad in ("SAME", "VALID"):
        for rate in (1, 2):
            shape = [2, 7, 8, 2] if pad == "SAME" else [2, 7 + 2 * rate, 8 + 2 * rate, 2]
            _close(tf.nn.atrous_conv2d_transpose(IMG, f, shape, rate, pad).numpy(),
                   ttf.nn.atrous_conv2d_transpose(IMG, f, shape, rate, pad))
    dw = RNG.normal(size=(3, 3, 3, 2)).astype(np.float32)
    for pad in ("SAME", "VALID"):
        for s in ([1, 1, 1, 1], [1, 2, 2, 1]):
            dy = RNG.normal(size=ttf.nn.depthwise_conv2d(IMG, dw, s, pad).shape).astype(np.float32)
            _close(tf.nn.depthwise_conv2d_backprop_input(IMG.shape, dw, dy, s, pad).numpy(),
                   ttf.nn.depthwise_conv2d_backprop_input(IMG.shape, dw, dy, s, pad))
            _close(tf.nn.depthwise_conv2d_backprop_filter(IMG, dw.shape, dy, s, pad).numpy(),
                   ttf.nn.depthwise_conv2d_backprop_filter(IMG, dw.shape, dy, s, pad), 1e-4)
    w2 = RNG.normal(size=(3, 3, 3, 4)).astype(np.float32)
    for pad in ("SAME", "VALID"):
        for rate in ([2, 2], [1, 3], [1, 1]):
            _close(tf.nn.with_space_to_batch(IMG, rate, pad, lambda i, n, p: tf.nn.conv2d(i, w2, 1, p),
                                             filter_shape=[3, 3]).numpy(),
                   ttf.nn.with_space_to_batch(IMG, rate, pad, lambda i, n, p: ttf.nn.conv2d(i, w2, 1, p),
                                              filter_shape=[3, 3]), 1e-4)
    nchw = tf.nn.with_space_to_batch(IMG.transpose(0, 3, 1, 2), [2, 2], "VALID",
                                     lambda i, n, p: tf.nn.avg_pool2d(i, 2, 1, p, data_format="NCHW"),
                                     data_format="NCHW").numpy()
    _close(nchw.transpose(0, 2, 3, 1), ttf.nn.with_space_to_batch(IMG, [2, 2], "VALID",
                                                                   lambda i, n, p: ttf.nn.avg_pool2d(i, 2, 1, p)))
    for noise in (None, [2, 1, 1, 3]):
        _close(tf.nn.experimental.stateless_dropout(IMG, 0.4, seed=[1, 2], noise_shape=noise).numpy(),
               ttf.nn.experimental.stateless_dropout(IMG, 0.4, seed=[1, 2], noise_shape=noise))
    _close(tf.nn.space_to_batch(IMG, [2, 2], [[1, 0], [0, 0]]).numpy(),
           ttf.nn.space_to_batch(IMG, [2, 2], [[1, 0], [0, 0]]))


def test_conv_extra_gradients():
    x = RNG.normal(size=(1, 5, 5, 2))
    check_gradients(lambda v, w: tf.nn.atrous_conv2d_transpose(v, w, [1, 5, 5, 3], 2, "SAME"),
                    [x, RNG.normal(size=(2, 2, 3, 2))])
    check_gradients(lambda w, dy: tf.nn.depthwise_conv2d_backprop_input([1, 5, 5, 2], w, dy, [1, 1, 1, 1], "SAME"),
                    [RNG.normal(size=(3, 3, 2, 1)), RNG.normal(size=(1, 5, 5, 2))])
    check_gradients(lambda v, dy: tf.nn.depthwise_conv2d_backprop_filter(v, [3, 3, 2, 1], dy, [1, 1, 1, 1], "VALID"),
                    [x, RNG.normal(size=(1, 3, 3, 2))])
    check_gradients(lambda v: tf.nn.with_space_to_batch(v, [2, 2], "SAME", lambda i, n, p: tf.nn.max_pool2d(i, 2, 1, p),
                                                        filter_shape=[2, 2]), [x])
    with pytest.raises(ValueError, match="filter_shape"):
        tf.nn.with_space_to_batch(x, [2, 2], "SAME", lambda i, n, p: i)
    with pytest.raises(ValueError, match="rate"):
        tf.nn.experimental.stateless_dropout(x, 1.5, seed=[1, 2])

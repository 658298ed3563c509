"""tf.image.generate_bounding_box_proposals. TF has only a GPU kernel for it, so the test decodes
the boxes independently (NumPy, float64) and runs TF's CPU non_max_suppression on them as the
oracle of the selection; a small case is checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.errors import InvalidArgumentError, OutOfRangeError


def _case(seed, n=2, h=4, w=5, a=3):
    rng = np.random.default_rng(seed)
    scores = rng.random((n, h, w, a)).astype(np.float32)
    deltas = (rng.standard_normal((n, h, w, 4 * a)) * 0.3).astype(np.float32)
    ys, xs = np.meshgrid(np.arange(h) * 8.0, np.arange(w) * 8.0, indexing="ij")
    sizes = np.array([8.0, 16.0, 24.0])[:a]
    anchors = np.stack([np.stack([ys - s / 2, xs - s / 2, ys + s / 2, xs + s / 2], -1) for s in sizes], 2)
    anchors = anchors.reshape(h, w, 4 * a).astype(np.float32)
    info = np.array([[32, 40, 1.0, 0, 0], [30, 36, 0.5, 0, 0]], np.float32)[:n]
    return scores, deltas, info, anchors


def _reference(scores, deltas, info, anchors, thr, pre, min_size, post, ttf):
    n, h, w, a = scores.shape
    rois, probs = np.zeros((n, post, 4)), np.zeros((n, post))
    for i in range(n):
        order = np.argsort(-scores[i].ravel(), kind="stable")[:pre]
        anc = anchors.reshape(-1, 4)[order].astype(np.float64)
        d = deltas[i].reshape(-1, 4)[order].astype(np.float64)
        dh, dw = np.minimum(d[:, 2], math.log(1000 / 16)), np.minimum(d[:, 3], math.log(1000 / 16))
        hh, ww = anc[:, 2] - anc[:, 0], anc[:, 3] - anc[:, 1]
        cy, cx = anc[:, 0] + hh / 2 + hh * d[:, 0], anc[:, 1] + ww / 2 + ww * d[:, 1]
        ph, pw = hh * np.exp(dh), ww * np.exp(dw)
        box = np.stack([np.clip(cy - ph / 2, 0, info[i, 0]), np.clip(cx - pw / 2, 0, info[i, 1]),
                        np.clip(cy + ph / 2, 0, info[i, 0]), np.clip(cx + pw / 2, 0, info[i, 1])], 1)
        keep = np.minimum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]) >= min_size * info[i, 2]
        box, sc = box[keep], scores[i].ravel()[order][keep]
        sel = ttf.image.non_max_suppression(box.astype(np.float32), sc, post, iou_threshold=thr).numpy()
        rois[i, :len(sel)], probs[i, :len(sel)] = box[sel], sc[sel]
    return rois, probs


@pytest.mark.oracle
@pytest.mark.parametrize("seed,thr,pre,min_size,post", [(0, 0.7, 6000, 4.0, 30), (1, 0.3, 25, 2.0, 10),
                                                        (2, 0.5, 40, 0.0, 200)])
def test_matches_decoding_plus_tf_nms(seed, thr, pre, min_size, post):
    ttf = pytest.importorskip("tensorflow")
    args = _case(seed)
    rois, probs = tf.image.generate_bounding_box_proposals(*args, nms_threshold=thr, pre_nms_topn=pre,
                                                           min_size=min_size, post_nms_topn=post)
    assert tuple(rois.shape) == (2, post, 4) and tuple(probs.shape) == (2, post)
    want_rois, want_probs = _reference(*args, thr, pre, min_size, post, ttf)
    np.testing.assert_allclose(rois.numpy(), want_rois, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(probs.numpy(), want_probs.astype(np.float32))


def test_small_case_by_hand():
    scores = np.array([[[[0.9, 0.8]]]], np.float32)             # one position, two anchors
    deltas = np.zeros((1, 1, 1, 8), np.float32)
    deltas[0, 0, 0, 4:] = [0.0, 0.0, math.log(2.0), 0.0]       # the second anchor twice as tall
    anchors = np.array([[[0, 0, 10, 10, 0, 0, 10, 10]]], np.float32)
    info = np.array([[100, 100, 1, 0, 0]], np.float32)
    rois, probs = tf.image.generate_bounding_box_proposals(scores, deltas, info, anchors, nms_threshold=0.7,
                                                           min_size=1, post_nms_topn=3)
    # IoU of [0,0,10,10] and [-5,0,15,10] clipped to [0,0,15,10] is 100/150 < 0.7: both kept.
    np.testing.assert_allclose(rois.numpy()[0], [[0, 0, 10, 10], [0, 0, 15, 10], [0, 0, 0, 0]])
    np.testing.assert_allclose(probs.numpy()[0], [0.9, 0.8, 0.0])
    rois, probs = tf.image.generate_bounding_box_proposals(scores, deltas, info, anchors, nms_threshold=0.5,
                                                           min_size=1, post_nms_topn=3)
    np.testing.assert_allclose(probs.numpy()[0], [0.9, 0.0, 0.0])   # 0.667 > 0.5: suppressed


def test_errors():
    scores, deltas, info, anchors = _case(0)
    with pytest.raises(InvalidArgumentError, match="must be rank 3"):
        tf.image.generate_bounding_box_proposals(scores, deltas, info, anchors.reshape(-1, 4))
    with pytest.raises(InvalidArgumentError, match="nms_threshold should be between 0 and 1"):
        tf.image.generate_bounding_box_proposals(scores, deltas, info, anchors, nms_threshold=1.5)
    with pytest.raises(InvalidArgumentError, match="pre_nms_topn should be greater than 0"):
        tf.image.generate_bounding_box_proposals(scores, deltas, info, anchors, pre_nms_topn=0)
    with pytest.raises(OutOfRangeError, match="Box dimensions need to be 4"):
        tf.image.generate_bounding_box_proposals(scores, deltas, info, anchors[..., :8])

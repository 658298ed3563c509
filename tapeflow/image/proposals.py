"""`tf.image.generate_bounding_box_proposals`: region proposals as in Faster R-CNN (RPN), TF's op.

Per image: the top `pre_nms_topn` anchor positions by score (stable descending sort of the
[height, width, num_anchors] scores), decoded from `bbox_deltas` relative to their anchors (eq. 2
of arXiv:1506.01497, dw/dh clipped at log(1000/16)), clipped to the image, the ones narrower than
`min_size * image_info[2]` dropped, then greedy NMS at `nms_threshold` keeping at most
`post_nms_topn`. TF has only a GPU kernel for it; this follows that kernel (float32 arithmetic).
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from tapeflow.errors import InvalidArgumentError, OutOfRangeError
from tapeflow.tensor import Tensor, convert_to_tensor

GenerateBoundingBoxProposals = namedtuple("GenerateBoundingBoxProposals", ["rois", "roi_probabilities"])
_XFORM_CLIP = np.float32(math.log(1000.0 / 16.0))


def _f32(x: Any, op: str, name: str, rank: int | None) -> Any:
    arr = np.asarray((x if isinstance(x, Tensor) else convert_to_tensor(x)).numpy(), np.float32)
    if rank is not None and arr.ndim != rank:
        raise InvalidArgumentError(None, None, f"{op}: {name} must be rank {rank} but is rank {arr.ndim} "
                                               f"(shape {arr.shape})")
    return arr


def _nms(boxes: Any, threshold: float, limit: int) -> list:
    """Greedy NMS of score-sorted boxes [n, 4] (x1, y1, x2, y2): kept indices, at most `limit`.
    A box of zero area suppresses nothing and is suppressed by nothing (TF's GPU rule)."""
    x1, y1, x2, y2 = boxes.T
    area = (x2 - x1) * (y2 - y1)
    suppressed = np.zeros(len(boxes), bool)
    keep: list = []
    thr = np.float32(threshold)
    for i in range(len(boxes)):
        if suppressed[i]:
            continue
        keep.append(i)
        if len(keep) == limit:
            break
        w = np.maximum(np.float32(0), np.minimum(x2[i], x2) - np.maximum(x1[i], x1))
        h = np.maximum(np.float32(0), np.minimum(y2[i], y2) - np.maximum(y1[i], y1))
        inter = w * h
        over = inter > (area[i] + area - inter) * thr
        over &= (area[i] != 0) & (area != 0)
        suppressed |= over
    return keep


def generate_bounding_box_proposals(scores: Any, bbox_deltas: Any, image_info: Any, anchors: Any,
                                    nms_threshold: Any = 0.7, pre_nms_topn: Any = 6000, min_size: Any = 16,
                                    post_nms_topn: int = 300, name: Any = None) -> GenerateBoundingBoxProposals:
    """Region proposals from per-anchor scores and box deltas.

    Args:
        scores: [num_images, height, width, num_anchors] float scores.
        bbox_deltas: [num_images, height, width, 4 * num_anchors], each anchor's [dy, dx, dh, dw].
        image_info: [num_images, 5]: height, width, scale (min_size is multiplied by it), ...
        anchors: [height, width, 4 * num_anchors]: each position's anchors as [y1, x1, y2, x2].
        nms_threshold: IoU above which a lower-scored box is dropped, in [0, 1].
        pre_nms_topn: how many top-scored boxes are decoded (> 0). min_size: smallest side kept.
        post_nms_topn: the number of output rows (> 0).

    Returns:
        (rois [num_images, post_nms_topn, 4] as [y1, x1, y2, x2], roi_probabilities
        [num_images, post_nms_topn]), by decreasing score, zero-padded.
    """
    op = "generate_bounding_box_proposals"
    post_nms_topn = int(post_nms_topn)
    if post_nms_topn <= 0:
        raise InvalidArgumentError(None, None, f"{op}: post_nms_topn can't be 0 or less, received {post_nms_topn}")
    s = _f32(scores, op, "scores", 4)
    deltas = _f32(bbox_deltas, op, "bbox_deltas", 4)
    info = _f32(image_info, op, "image_info", 2)
    anc = _f32(anchors, op, "anchors", 3)
    n, height, width, num_anchors = s.shape
    if anc.shape[2] != 4 * num_anchors or deltas.shape[3] != 4 * num_anchors:
        raise OutOfRangeError(None, None, f"{op}: Box dimensions need to be 4: anchors {anc.shape} and bbox_deltas "
                                          f"{deltas.shape} must end in 4 * num_anchors = {4 * num_anchors}")
    if anc.shape[:2] != (height, width) or deltas.shape[:3] != (n, height, width) or info.shape != (n, 5):
        raise InvalidArgumentError(None, None, f"{op}: expected bbox_deltas [{n}, {height}, {width}, "
                                               f"{4 * num_anchors}], image_info [{n}, 5], anchors [{height}, {width}, "
                                               f"{4 * num_anchors}]; received {deltas.shape}, {info.shape}, "
                                               f"{anc.shape}")
    threshold = float(np.asarray(convert_to_tensor(nms_threshold).numpy()))
    if not 0.0 <= threshold <= 1.0:
        raise InvalidArgumentError(None, None, f"{op}: nms_threshold should be between 0 and 1. Got {threshold}")
    pre = int(np.asarray(convert_to_tensor(pre_nms_topn).numpy()))
    if pre <= 0:
        raise InvalidArgumentError(None, None, f"{op}: pre_nms_topn should be greater than 0, received {pre}")
    min_side = np.float32(np.asarray(convert_to_tensor(min_size).numpy()))
    boxes_per_image = height * width * num_anchors
    count = min(boxes_per_image, pre)
    anchors_flat = anc.reshape(boxes_per_image, 4)
    rois = np.zeros((n, post_nms_topn, 4), np.float32)
    probs = np.zeros((n, post_nms_topn), np.float32)
    half = np.float32(0.5)
    for i in range(n):
        flat = s[i].reshape(-1)
        order = np.argsort(-flat, kind="stable")[:count]
        y1, x1, y2, x2 = anchors_flat[order].T
        dy, dx, dh, dw = deltas[i].reshape(boxes_per_image, 4)[order].T
        dw, dh = np.minimum(dw, _XFORM_CLIP), np.minimum(dh, _XFORM_CLIP)
        w = x2 - x1
        ctr_x = x1 + half * w
        pred_ctr_x, pred_w = ctr_x + w * dx, w * np.exp(dw)
        h = y2 - y1
        ctr_y = y1 + half * h
        pred_ctr_y, pred_h = ctr_y + h * dy, h * np.exp(dh)
        img_h, img_w, scale = info[i, 0], info[i, 1], info[i, 2]
        bx1 = np.clip(pred_ctr_x - half * pred_w, 0, img_w)
        bx2 = np.clip(pred_ctr_x + half * pred_w, 0, img_w)
        by1 = np.clip(pred_ctr_y - half * pred_h, 0, img_h)
        by2 = np.clip(pred_ctr_y + half * pred_h, 0, img_h)
        keep = np.minimum(bx2 - bx1, by2 - by1) >= min_side * scale
        boxes = np.stack([bx1, by1, bx2, by2], axis=1).astype(np.float32)[keep]
        box_scores = flat[order][keep]
        kept = _nms(boxes, threshold, post_nms_topn)
        rois[i, :len(kept)] = boxes[kept][:, [1, 0, 3, 2]]
        probs[i, :len(kept)] = box_scores[kept]
    return GenerateBoundingBoxProposals(Tensor(rois), Tensor(probs))

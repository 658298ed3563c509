"""`tf.image` boxes: non_max_suppression (+ _with_scores/soft-NMS, _overlaps, _padded),
combined_non_max_suppression, draw_bounding_boxes.

NMS is greedy and therefore sequential in the number of boxes it keeps; each step is vectorised
over every box and over every (batch, class) group at once, so the loop runs at most
`max_output_size` times, never once per box or per image."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.image._common import as_float, as_int, image_tensor
from tapeflow.ops import elementwise as ew
from tapeflow.ops import image_sampling as smp
from tapeflow.tensor import Tensor, convert_to_tensor


def _array(x: Any, op: str, name: str) -> Any:
    t = x if isinstance(x, Tensor) else convert_to_tensor(x)
    if t._value is None:
        raise ValueError(f"{op}: {name} must have a value (NMS runs eagerly).")
    return t._value


def _iou_with(boxes: Any, chosen: Any, xp: Any) -> Any:
    """IoU of every box (G, N, 4) with the chosen box of its group (G, 4), corners in any order
    (TF's rule: a box of non-positive area overlaps nothing)."""
    def span(b: Any) -> tuple:
        return (xp.minimum(b[..., 0], b[..., 2]), xp.minimum(b[..., 1], b[..., 3]),
                xp.maximum(b[..., 0], b[..., 2]), xp.maximum(b[..., 1], b[..., 3]))

    y1, x1, y2, x2 = span(boxes)
    cy1, cx1, cy2, cx2 = (v[:, None] for v in span(chosen))
    area = (y2 - y1) * (x2 - x1)
    carea = (cy2 - cy1) * (cx2 - cx1)
    inter = (xp.maximum(xp.minimum(y2, cy2) - xp.maximum(y1, cy1), 0)
             * xp.maximum(xp.minimum(x2, cx2) - xp.maximum(x1, cx1), 0))
    union = area + carea - inter
    ok = (area > 0) & (carea > 0)
    return xp.where(ok, inter / xp.where(ok, union, 1), 0)


def greedy_nms(scores: Any, overlap: Any, max_out: int, iou_threshold: float, score_threshold: float,
               soft_nms_sigma: float, xp: Any) -> tuple:
    """Greedy (soft-)NMS over groups: `scores` (G, N); `overlap(rows, picked)` gives (G, N)
    similarities with each group's picked box. Returns (indices (G, max_out), picked scores
    (G, max_out), counts (G,)); unused slots hold index 0 and score 0."""
    g, n = scores.shape
    ninf = xp.asarray(-np.inf, scores.dtype)
    live = xp.where(scores > score_threshold, scores, ninf)
    scale = -0.5 / soft_nms_sigma if soft_nms_sigma > 0 else 0.0
    rows = xp.arange(g)
    idx_out = xp.zeros((g, max_out), np.int64)
    score_out = xp.zeros((g, max_out), scores.dtype)
    counts = xp.zeros((g,), np.int64)
    for k in range(min(max_out, n)):
        pick = xp.argmax(live, axis=1)
        best = live[rows, pick]
        ok = best > ninf
        if not bool(ok.any()):
            break
        idx_out[:, k] = xp.where(ok, pick, 0)
        score_out[:, k] = xp.where(ok, best, 0)
        counts += ok
        live[rows, pick] = ninf
        sim = overlap(rows, pick)
        weight = xp.where(sim <= iou_threshold, xp.exp(scale * sim * sim), 0).astype(scores.dtype)
        kept = weight > 0
        decayed = xp.where(kept, live * xp.where(kept, weight, 1) if scale else live, ninf)
        decayed = xp.where(decayed > score_threshold, decayed, ninf)
        live = xp.where(ok[:, None], decayed, live)
    return idx_out, score_out, counts


def _nms_arrays(boxes: Any, scores: Any, max_output_size: Any, iou_threshold: Any, score_threshold: Any,
                soft_nms_sigma: float, op: str) -> tuple:
    b = _array(boxes, op, "boxes")
    s = _array(scores, op, "scores")
    if b.ndim != 2 or b.shape[1] != 4 or s.shape != (b.shape[0],):
        raise ValueError(f"{op}: boxes must have shape (num_boxes, 4) and scores (num_boxes,), received "
                         f"{tuple(b.shape)} and {tuple(s.shape)}.")
    xp = backend.get_xp(b)
    thr = as_float(iou_threshold)
    if not 0.0 <= thr <= 1.0:
        raise ValueError(f"{op}: iou_threshold must be in [0, 1], received {iou_threshold!r}.")
    bf = b.astype(np.float32)

    def overlap(rows: Any, pick: Any) -> Any:
        return _iou_with(bf[None], bf[pick], xp)

    m = as_int(max_output_size)
    if m < 0:
        raise ValueError(f"{op}: max_output_size must be non-negative, received {max_output_size!r}.")
    out = greedy_nms(s.astype(np.float32)[None].copy(), overlap, m, thr, as_float(score_threshold),
                     float(soft_nms_sigma), xp)
    return tuple(o[0] for o in out)


def non_max_suppression(boxes: Any, scores: Any, max_output_size: Any, iou_threshold: float = 0.5,
                        score_threshold: float = float("-inf"), name: Any = None) -> Tensor:
    """Indices (int32) of at most `max_output_size` boxes kept by greedy NMS, by decreasing score.
    Boxes are [y1, x1, y2, x2] (any corner order); a box overlapping a kept one by IoU above
    `iou_threshold` is dropped; scores <= `score_threshold` are never kept."""
    idx, _, count = _nms_arrays(boxes, scores, max_output_size, iou_threshold, score_threshold, 0.0,
                                "non_max_suppression")
    return Tensor(idx[:int(count)].astype(np.int32))


def non_max_suppression_with_scores(boxes: Any, scores: Any, max_output_size: Any, iou_threshold: float = 0.5,
                                    score_threshold: float = float("-inf"), soft_nms_sigma: float = 0.0,
                                    name: Any = None) -> tuple:
    """(indices, scores) of greedy NMS; `soft_nms_sigma` > 0 decays overlapping scores by
    exp(-iou^2 / (2 sigma)) instead of dropping them (Soft-NMS); the scores returned are the
    decayed ones."""
    if soft_nms_sigma < 0:
        raise ValueError(f"non_max_suppression_with_scores: soft_nms_sigma must be >= 0, received {soft_nms_sigma!r}.")
    idx, sc, count = _nms_arrays(boxes, scores, max_output_size, iou_threshold, score_threshold,
                                 soft_nms_sigma, "non_max_suppression_with_scores")
    count = int(count)
    return Tensor(idx[:count].astype(np.int32)), Tensor(sc[:count].astype(np.float32))


def non_max_suppression_overlaps(overlaps: Any, scores: Any, max_output_size: Any, overlap_threshold: float = 0.5,
                                 score_threshold: float = float("-inf"), name: Any = None) -> Tensor:
    """Greedy NMS with a given (num_boxes, num_boxes) overlap matrix instead of IoU."""
    ov = _array(overlaps, "non_max_suppression_overlaps", "overlaps")
    s = _array(scores, "non_max_suppression_overlaps", "scores")
    if ov.ndim != 2 or ov.shape[0] != ov.shape[1] or s.shape != (ov.shape[0],):
        raise ValueError(f"non_max_suppression_overlaps: overlaps must be (num_boxes, num_boxes) and scores "
                         f"(num_boxes,), received {tuple(ov.shape)} and {tuple(s.shape)}.")
    xp = backend.get_xp(ov)
    ovf = ov.astype(np.float32)
    idx, _, count = greedy_nms(s.astype(np.float32)[None].copy(), lambda rows, pick: ovf[:, pick].T,
                               as_int(max_output_size), as_float(overlap_threshold), as_float(score_threshold), 0.0, xp)
    return Tensor(idx[0, :int(count[0])].astype(np.int32))


def non_max_suppression_padded(boxes: Any, scores: Any, max_output_size: Any, iou_threshold: float = 0.5,
                               score_threshold: float = float("-inf"), pad_to_max_output_size: bool = False,
                               name: Any = None, sorted_input: bool = False, canonicalized_coordinates: bool = False,
                               tile_size: int = 512) -> tuple:
    """(indices, valid count) of greedy NMS for boxes (..., N, 4) and scores (..., N); with
    batch dimensions or `pad_to_max_output_size` the indices are padded with zeros to
    `max_output_size`."""
    b = _array(boxes, "non_max_suppression_padded", "boxes")
    s = _array(scores, "non_max_suppression_padded", "scores")
    if b.ndim < 2 or b.shape[-1] != 4 or tuple(s.shape) != tuple(b.shape[:-1]):
        raise ValueError(f"non_max_suppression_padded: boxes must have shape (..., num_boxes, 4) and scores "
                         f"(..., num_boxes), received {tuple(b.shape)} and {tuple(s.shape)}.")
    xp = backend.get_xp(b)
    lead, n = tuple(b.shape[:-2]), b.shape[-2]
    if lead and not pad_to_max_output_size:
        raise ValueError(f"non_max_suppression_padded: 'pad_to_max_output_size' (value {pad_to_max_output_size}) "
                         "must be True for batched input.")
    bf = b.reshape(-1, n, 4).astype(np.float32)
    m = as_int(max_output_size)
    idx, _, count = greedy_nms(s.reshape(-1, n).astype(np.float32).copy(),
                               lambda rows, pick: _iou_with(bf, bf[rows, pick], xp), m, as_float(iou_threshold),
                               as_float(score_threshold), 0.0, xp)
    idx = idx.astype(np.int32).reshape(lead + (m,))
    count = count.astype(np.int32).reshape(lead)
    if not lead and not pad_to_max_output_size:
        idx = idx[:int(count)]
    return Tensor(idx), Tensor(count)


def combined_non_max_suppression(boxes: Any, scores: Any, max_output_size_per_class: Any, max_total_size: Any,
                                 iou_threshold: float = 0.5, score_threshold: float = float("-inf"),
                                 pad_per_class: bool = False, clip_boxes: bool = True, name: Any = None) -> tuple:
    """Per-class greedy NMS over a batch, then the best `max_total_size` detections per image.

    boxes (B, N, q, 4) with q = 1 (shared) or num_classes; scores (B, N, num_classes).
    Returns (nmsed_boxes (B, T, 4), nmsed_scores (B, T), nmsed_classes (B, T), valid_detections
    (B,)), all float32 but the int32 counts; T = max_total_size (or the per-class total when
    `pad_per_class` and smaller)."""
    op = "combined_non_max_suppression"
    b = _array(boxes, op, "boxes").astype(np.float32)
    s = _array(scores, op, "scores").astype(np.float32)
    shapes_ok = b.ndim == 4 and b.shape[-1] == 4 and s.ndim == 3 and s.shape[:2] == b.shape[:2]
    if not shapes_ok or b.shape[2] not in (1, s.shape[2]):
        raise ValueError(f"{op}: boxes must have shape (batch, num_boxes, q, 4) with q 1 or num_classes, scores "
                         f"(batch, num_boxes, num_classes); received {tuple(b.shape)} and {tuple(s.shape)}.")
    xp = backend.get_xp(b)
    batch, n, q, _ = b.shape
    classes = s.shape[2]
    per_class, total = as_int(max_output_size_per_class), as_int(max_total_size)
    # groups are (image, class): boxes (B*C, N, 4), scores (B*C, N)
    gb = xp.broadcast_to(b.transpose(0, 2, 1, 3), (batch, classes, n, 4)).reshape(-1, n, 4)
    gs = s.transpose(0, 2, 1).reshape(-1, n).copy()
    idx, sc, count = greedy_nms(gs, lambda rows, pick: _iou_with(gb, gb[rows, pick], xp), per_class,
                                as_float(iou_threshold), as_float(score_threshold), 0.0, xp)
    slots = idx.shape[1]
    valid = xp.arange(slots)[None, :] < count[:, None]
    picked = gb[xp.arange(gb.shape[0])[:, None], idx]                       # (B*C, slots, 4)
    cls = xp.broadcast_to(xp.arange(classes)[None, :, None], (batch, classes, slots))
    flat_scores = xp.where(valid, sc, -np.inf).reshape(batch, classes * slots)
    order = xp.argsort(-flat_scores, axis=1, kind="stable")
    size = min(total, per_class * classes) if pad_per_class else total
    keep = order[:, :min(size, classes * slots)]
    r = xp.arange(batch)[:, None]
    out_scores = flat_scores[r, keep]
    out_boxes = picked.reshape(batch, classes * slots, 4)[r, keep]
    out_classes = cls.reshape(batch, -1)[r, keep].astype(np.float32)
    good = out_scores > -np.inf
    out_scores = xp.where(good, out_scores, 0).astype(np.float32)
    out_boxes = xp.where(good[..., None], out_boxes, 0).astype(np.float32)
    out_classes = xp.where(good, out_classes, 0).astype(np.float32)
    if clip_boxes:
        out_boxes = xp.clip(out_boxes, 0.0, 1.0)
    pad = size - out_scores.shape[1]
    if pad > 0:
        out_boxes = xp.concatenate([out_boxes, xp.zeros((batch, pad, 4), np.float32)], 1)
        out_scores = xp.concatenate([out_scores, xp.zeros((batch, pad), np.float32)], 1)
        out_classes = xp.concatenate([out_classes, xp.zeros((batch, pad), np.float32)], 1)
    return (Tensor(out_boxes), Tensor(out_scores), Tensor(out_classes),
            Tensor(good.sum(1).astype(np.int32)))


_DEFAULT_COLORS = np.array([[1, 1, 0, 1], [0, 0, 1, 1], [1, 0, 0, 1], [0, 1, 0, 1], [0.5, 0, 0.5, 1],
                            [0.5, 0.5, 0, 1], [0.5, 0, 0, 1], [0, 0, 0.5, 1], [0, 1, 1, 1], [1, 0, 1, 1]], np.float64)


def draw_bounding_boxes(images: Any, boxes: Any, colors: Any = None, name: Any = None) -> Tensor:
    """Draw 1-pixel box outlines on (N, H, W, depth) float images; boxes (N, num_boxes, 4) are
    normalized [y_min, x_min, y_max, x_max]; box i takes colors[i % len(colors)] (later boxes
    on top). Gradients flow to the pixels not drawn over."""
    x = image_tensor(images, "draw_bounding_boxes", (4,))
    if not x.dtype.is_floating:
        raise TypeError(f"draw_bounding_boxes: expected float images, received {x.dtype.name}.")
    bx = np.asarray(backend.to_numpy(_array(boxes, "draw_bounding_boxes", "boxes")), np.float32)
    n, h, w, depth = x.shape
    if bx.ndim != 3 or bx.shape[0] != n or bx.shape[2] != 4:
        raise ValueError(f"draw_bounding_boxes: boxes must have shape ({n}, num_boxes, 4), received {bx.shape}.")
    if colors is None:
        table = _DEFAULT_COLORS.copy()
        if depth == 1:
            table[:, 0] = 1.0
    else:
        table = np.asarray(backend.to_numpy(_array(colors, "draw_bounding_boxes", "colors")), np.float64)
        if table.ndim != 2 or table.shape[1] < depth:
            raise ValueError(f"draw_bounding_boxes: colors must have shape (num_colors, >= {depth}), received "
                             f"{table.shape}.")
    top = np.trunc(bx[..., 0] * np.float32(h - 1)).astype(np.int64)[..., None, None]
    left = np.trunc(bx[..., 1] * np.float32(w - 1)).astype(np.int64)[..., None, None]
    bottom = np.trunc(bx[..., 2] * np.float32(h - 1)).astype(np.int64)[..., None, None]
    right = np.trunc(bx[..., 3] * np.float32(w - 1)).astype(np.int64)[..., None, None]
    rows = np.arange(h)[:, None]
    cols = np.arange(w)[None, :]
    in_cols = (cols >= np.maximum(left, 0)) & (cols <= np.minimum(right, w - 1))
    in_rows = (rows >= np.maximum(top, 0)) & (rows <= np.minimum(bottom, h - 1))
    lines = (((rows == top) | (rows == bottom)) & in_cols) | (((cols == left) | (cols == right)) & in_rows)
    drawn = lines & ((top <= bottom) & (left <= right) & (top < h) & (bottom >= 0) & (left < w) & (right >= 0))
    nb = bx.shape[1]
    hit = drawn.any(1)                                                    # (N, H, W)
    last = nb - 1 - np.argmax(drawn[:, ::-1], axis=1) if nb else np.zeros((n, h, w), np.int64)
    paint = table[last % len(table)][..., :depth]                         # (N, H, W, depth)
    mask = smp.constant_like(np.broadcast_to(hit[..., None], x.shape), x, bool)
    return ew.where(mask, smp.constant_like(paint, x), x)

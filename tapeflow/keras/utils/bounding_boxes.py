"""`keras.utils.bounding_boxes`: box formats, clipping, crops/pads/affine maps of boxes, IoU/CIoU
and anchor box encodings.

Formats (the last axis holds 4 numbers): "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw" in
pixels, and "rel_xyxy", "rel_yxyx", "rel_xywh", "rel_center_xywh" as fractions of the image's
width and height. Conversions go through "xyxy".
"""

from __future__ import annotations

import math
from typing import Any

import tapeflow as tf
from tapeflow.keras import backend

SUPPORTED_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
                     "rel_center_xywh")

__all__ = ["affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou", "convert_format", "crop",
           "decode_deltas_to_boxes", "encode_box_to_deltas", "pad"]


def _split(boxes: Any) -> list:
    return tf.split(boxes, 4, axis=-1)


def _cat(parts: list) -> Any:
    return tf.concat(parts, axis=-1)


def _to_xyxy(boxes: Any, source: str, height: Any, width: Any) -> Any:
    a, b, c, d = _split(boxes)
    if source == "xyxy":
        return boxes
    if source == "yxyx":
        return _cat([b, a, d, c])
    if source == "xywh":
        return _cat([a, b, a + c, b + d])
    if source == "center_xywh":
        return _cat([a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0])
    if source == "center_yxhw":
        return _cat([b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0])
    if source == "rel_xyxy":
        return _cat([a * width, b * height, c * width, d * height])
    if source == "rel_yxyx":
        return _cat([b * width, a * height, d * width, c * height])
    if source == "rel_xywh":
        return _cat([a * width, b * height, (a + c) * width, (b + d) * height])
    return _cat([(a - c / 2.0) * width, (b - d / 2.0) * height, (a + c / 2.0) * width, (b + d / 2.0) * height])


def _from_xyxy(boxes: Any, target: str, height: Any, width: Any) -> Any:
    x1, y1, x2, y2 = _split(boxes)
    if target == "xyxy":
        return boxes
    if target == "yxyx":
        return _cat([y1, x1, y2, x2])
    if target == "xywh":
        return _cat([x1, y1, x2 - x1, y2 - y1])
    cx, cy = x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0
    if target == "center_xywh":
        return _cat([cx, cy, x2 - x1, y2 - y1])
    if target == "center_yxhw":
        return _cat([cy, cx, y2 - y1, x2 - x1])
    if target == "rel_xyxy":
        return _cat([x1 / width, y1 / height, x2 / width, y2 / height])
    if target == "rel_yxyx":
        return _cat([y1 / height, x1 / width, y2 / height, x2 / width])
    if target == "rel_xywh":
        return _cat([x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height])
    return _cat([cx / width, cy / height, (x2 - x1) / width, (y2 - y1) / height])


def convert_format(boxes: Any, source: str, target: str, height: Any = None, width: Any = None,
                   dtype: str = "float32") -> Any:
    """Boxes (a tensor whose last axis is 4, or a dict with "boxes") from `source` to `target` format.

    `height` and `width` (the image's) are needed when either format is relative ("rel_*").
    """
    if isinstance(boxes, dict):
        boxes["boxes"] = convert_format(boxes["boxes"], source, target, height, width, dtype)
        return boxes
    boxes = tf.convert_to_tensor(boxes)
    if int(boxes.shape[-1]) != 4:
        raise ValueError(f"`boxes` must be a tensor with the last dimension of 4. Received: boxes.shape="
                         f"{tuple(boxes.shape)}")
    source, target = source.lower(), target.lower()
    if source not in SUPPORTED_FORMATS or target not in SUPPORTED_FORMATS:
        raise ValueError(f"Invalid source or target format. Supported formats: {SUPPORTED_FORMATS}")
    if (source.startswith("rel_") or target.startswith("rel_")) and (width is None or height is None):
        raise ValueError("convert_format() must receive `height` and `width` transforming between relative and "
                         f"absolute formats. convert_format() received source=`{source}`, target=`{target}, but "
                         f"height={height} and width={width}.")
    boxes = tf.cast(boxes, dtype)
    if source == target:
        return boxes
    width = None if width is None else tf.cast(width, dtype)
    height = None if height is None else tf.cast(height, dtype)
    if source.startswith("rel_") and target.startswith("rel_"):
        source, target = source[4:], target[4:]
    return _from_xyxy(_to_xyxy(boxes, source, height, width), target, height, width)


def _xyxy_only(name: str, bounding_box_format: str) -> None:
    if bounding_box_format != "xyxy":
        raise ValueError(f"bounding_boxes.{name} supports bounding_box_format='xyxy' only (as Keras); received "
                         f"{bounding_box_format!r}. Convert with convert_format first.")


def clip_to_image_size(bounding_boxes: dict, height: Any = None, width: Any = None,
                       bounding_box_format: str = "xyxy") -> dict:
    """Clip {"boxes", "labels"} to the image (pixels for "xyxy", [0, 1] for "rel_xyxy"); boxes left
    with no area get label -1."""
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise ValueError(f"clip_to_image_size supports 'xyxy' and 'rel_xyxy'; received {bounding_box_format!r}.")
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError("`height` and `width` must be set if `format='xyxy'`.")
    boxes = tf.convert_to_tensor(bounding_boxes["boxes"])
    labels = bounding_boxes.get("labels")
    hi_x, hi_y = (1.0, 1.0) if bounding_box_format == "rel_xyxy" else (width, height)
    x1, y1, x2, y2 = _split(boxes)
    boxes = _cat([tf.clip_by_value(x1, 0, hi_x), tf.clip_by_value(y1, 0, hi_y), tf.clip_by_value(x2, 0, hi_x),
                  tf.clip_by_value(y2, 0, hi_y)])
    result = dict(bounding_boxes)
    result["boxes"] = boxes
    if labels is not None:
        x1, y1, x2, y2 = _split(boxes)
        areas = tf.squeeze((x2 - x1) * (y2 - y1), axis=-1)
        labels = tf.convert_to_tensor(labels)
        result["labels"] = tf.where(areas > 0, labels, tf.cast(-1, labels.dtype))
    return result


def crop(boxes: Any, top: Any, left: Any, height: Any, width: Any, bounding_box_format: str = "xyxy") -> Any:
    """Boxes of the image cropped at (top, left) to height x width, clipped to the crop."""
    _xyxy_only("crop", bounding_box_format)
    x1, y1, x2, y2 = _split(tf.convert_to_tensor(boxes))
    return _cat([tf.clip_by_value(x1 - left, 0, width), tf.clip_by_value(y1 - top, 0, height),
                 tf.clip_by_value(x2 - left, 0, width), tf.clip_by_value(y2 - top, 0, height)])


def pad(boxes: Any, top: Any, left: Any, height: Any = None, width: Any = None,
        bounding_box_format: str = "xyxy") -> Any:
    """Boxes of the image padded by `top` rows and `left` columns (`height`/`width` unused, as Keras)."""
    _xyxy_only("pad", bounding_box_format)
    x1, y1, x2, y2 = _split(tf.convert_to_tensor(boxes))
    return _cat([x1 + left, y1 + top, x2 + left, y2 + top])


def affine_transform(boxes: Any, angle: Any, translate_x: Any, translate_y: Any, scale: Any, shear_x: Any,
                     shear_y: Any, height: Any, width: Any, center_x: Any = None, center_y: Any = None,
                     bounding_box_format: str = "xyxy") -> Any:
    """The enclosing boxes of (batch, n, 4) boxes moved by an affine map per image (degrees for the
    angle and shears, translations as fractions of the image, rotation about `center`)."""
    _xyxy_only("affine_transform", bounding_box_format)
    angle = tf.convert_to_tensor(angle)
    dtype = angle.dtype
    cx = (0.5 if center_x is None else center_x) * (width - 1)
    cy = (0.5 if center_y is None else center_y) * (height - 1)
    rot = -angle * (math.pi / 180.0)
    tx, ty = -tf.cast(translate_x, dtype) * (width - 1), -tf.cast(translate_y, dtype) * (height - 1)
    sx, sy = -tf.cast(shear_x, dtype) * (math.pi / 180.0), -tf.cast(shear_y, dtype) * (math.pi / 180.0)
    scale = tf.cast(scale, dtype)
    a = tf.cos(rot - sy) / tf.cos(sy)
    b = a * tf.tan(sx) + tf.sin(rot)
    c = -tf.sin(rot - sy) / tf.cos(sy)
    d = tf.cos(rot) - c * tf.tan(sx)
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    # (batch, 3, 2): the transposed first two rows of the inverse affine matrix.
    matrix_t = tf.stack([tf.stack([a0, b0], -1), tf.stack([a1, b1], -1), tf.stack([a2, b2], -1)], axis=1)
    boxes = tf.cast(tf.convert_to_tensor(boxes), dtype)
    batch, n = int(boxes.shape[0]), int(boxes.shape[1])
    x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
    corners = tf.reshape(tf.stack([x1, y1, x2, y1, x2, y2, x1, y2], axis=-1), (batch, n, 4, 2))
    corners = tf.concat([corners, tf.ones((batch, n, 4, 1), dtype)], axis=-1)
    moved = tf.einsum("bnxy,byz->bnxz", corners, matrix_t)
    return tf.concat([tf.reduce_min(moved, axis=2), tf.reduce_max(moved, axis=2)], axis=-1)


def _area_yxyx(box: Any) -> Any:
    y1, x1, y2, x2 = _split(box[..., :4])
    return tf.squeeze((y2 - y1) * (x2 - x1), axis=-1)


def compute_iou(boxes1: Any, boxes2: Any, bounding_box_format: str, use_masking: bool = False,
                mask_val: float = -1, image_shape: Any = None) -> Any:
    """Pairwise IoU: (N, M) for (N, 4) and (M, 4) boxes, (B, N, M) for batched ones.

    With `use_masking`, pairs involving a box whose coordinates are all negative (padding) get
    `mask_val`.
    """
    rank1, rank2 = len(tf.convert_to_tensor(boxes1).shape), len(tf.convert_to_tensor(boxes2).shape)
    for name, rank in (("boxes1", rank1), ("boxes2", rank2)):
        if rank not in (2, 3):
            raise ValueError(f"compute_iou() expects {name} to be batched, or to be unbatched. Received "
                             f"len(boxes1.shape)={rank1}, len(boxes2.shape)={rank2}. Expected either "
                             f"len({name}.shape)=2 AND or len({name}.shape)=3.")
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument "
                         f"must be provided.Received `image_shape`: {image_shape}")
    height, width = (None, None) if image_shape is None else tuple(image_shape)[:2]
    b1 = convert_format(boxes1, bounding_box_format, "yxyx", height, width)
    b2 = convert_format(boxes2, bounding_box_format, "yxyx", height, width)
    perm = [1, 0] if rank2 == 2 else [0, 2, 1]
    ya1, xa1, ya2, xa2 = _split(b1)
    yb1, xb1, yb2, xb2 = (tf.transpose(t, perm) for t in _split(b2))
    inter_h = tf.maximum(tf.minimum(ya2, yb2) - tf.maximum(ya1, yb1), 0.0)
    inter_w = tf.maximum(tf.minimum(xa2, xb2) - tf.maximum(xa1, xb1), 0.0)
    intersection = inter_h * inter_w
    area1 = tf.expand_dims(_area_yxyx(b1), -1)
    area2 = tf.expand_dims(_area_yxyx(b2), 1 if rank2 == 3 else 0)
    iou = intersection / (area1 + area2 - intersection + backend.epsilon())
    if not use_masking:
        return iou
    perm1 = [1, 0] if rank1 == 2 else [0, 2, 1]
    background = tf.logical_or(tf.reduce_max(b1, axis=-1, keepdims=True) < 0.0,
                               tf.transpose(tf.reduce_max(b2, axis=-1, keepdims=True) < 0.0, perm1))
    return tf.where(background, tf.cast(mask_val, iou.dtype) * tf.ones_like(iou), iou)


def compute_ciou(boxes1: Any, boxes2: Any, bounding_box_format: str, image_shape: Any = None) -> Any:
    """Complete IoU of matching boxes: IoU minus the centre-distance and aspect-ratio penalties."""
    if "rel" in bounding_box_format:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument "
                         f"must be provided.Received `image_shape`: {image_shape}")
    height, width = (None, None) if image_shape is None else tuple(image_shape)[:2]
    eps = backend.epsilon()
    x11, y11, x12, y12 = _split(convert_format(boxes1, bounding_box_format, "xyxy", height, width)[..., :4])
    x21, y21, x22, y22 = _split(convert_format(boxes2, bounding_box_format, "xyxy", height, width)[..., :4])
    w1, h1 = x12 - x11, y12 - y11 + eps
    w2, h2 = x22 - x21, y22 - y21 + eps
    inter = (tf.maximum(tf.minimum(x12, x22) - tf.maximum(x11, x21), 0.0)
             * tf.maximum(tf.minimum(y12, y22) - tf.maximum(y11, y21), 0.0))
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = tf.squeeze(inter / (union + eps), axis=-1)
    convex_w = tf.maximum(x12, x22) - tf.minimum(x11, x21)
    convex_h = tf.maximum(y12, y22) - tf.minimum(y11, y21)
    diagonal = tf.squeeze(convex_w ** 2 + convex_h ** 2 + eps, axis=-1)
    centres = tf.squeeze(((x11 + x12) / 2 - (x21 + x22) / 2) ** 2 + ((y11 + y12) / 2 - (y21 + y22) / 2) ** 2,
                         axis=-1)
    v = tf.squeeze((4 / math.pi ** 2) * (tf.atan(w2 / h2) - tf.atan(w1 / h1)) ** 2, axis=-1)
    alpha = v / (v - iou + (1 + eps))
    return iou - (centres / diagonal + v * alpha)


def _check_encoding(name: str, value: str, variance: Any) -> Any:
    if variance is not None:
        variance = tf.convert_to_tensor(variance, "float32")
        if int(variance.shape[-1]) != 4:
            raise ValueError(f"`variance` must be length 4, got {variance}")
    if value not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"`{name}` should be one of 'center_xywh' or 'center_yxhw', got {value}")
    return variance


def encode_box_to_deltas(anchors: Any, boxes: Any, anchor_format: str, box_format: str,
                         encoding_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """Regression targets of `boxes` relative to `anchors`: centre offsets over the anchor's size and
    log size ratios (divided by `variance` when given)."""
    variance = _check_encoding("encoding_format", encoding_format, variance)
    height, width = (None, None) if image_shape is None else tuple(image_shape)[:2]
    anchors = convert_format(anchors, anchor_format, encoding_format, height, width)
    boxes = convert_format(boxes, box_format, encoding_format, height, width)
    anchor_dims = tf.maximum(anchors[..., 2:], backend.epsilon())
    box_dims = tf.maximum(boxes[..., 2:], backend.epsilon())
    deltas = tf.concat([(boxes[..., :2] - anchors[..., :2]) / anchor_dims, tf.math.log(box_dims / anchor_dims)],
                       axis=-1)
    return deltas / variance if variance is not None else deltas


def decode_deltas_to_boxes(anchors: Any, boxes_delta: Any, anchor_format: str, box_format: str,
                           encoded_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """The inverse of `encode_box_to_deltas`; dicts of pyramid levels are decoded level by level."""
    variance = _check_encoding("encoded_format", encoded_format, variance)
    height, width = (None, None) if image_shape is None else tuple(image_shape)[:2]

    def decode(anchor: Any, delta: Any) -> Any:
        anchor = convert_format(anchor, anchor_format, encoded_format, height, width)
        delta = tf.convert_to_tensor(delta)
        if variance is not None:
            delta = delta * variance
        box = tf.concat([delta[..., :2] * anchor[..., 2:] + anchor[..., :2], tf.exp(delta[..., 2:]) * anchor[..., 2:]],
                        axis=-1)
        return convert_format(box, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)

"""`tf.image.sample_distorted_bounding_box` (+ stateless): a random crop window with an aspect
ratio and area in given ranges that covers enough of at least one object box (TF's sampler;
all `max_attempts` candidates are drawn and checked at once, the first valid one wins)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.image._random import stateless_uniform_array, uniform_array
from tapeflow.tensor import Tensor, convert_to_tensor


def _host(x: Any) -> np.ndarray:
    t = x if isinstance(x, Tensor) else convert_to_tensor(x)
    return np.asarray(backend.to_numpy(t._value))


def _crops(width: int, height: int, area_range: tuple, ratios: np.ndarray, draws: np.ndarray) -> tuple:
    """TF's GenerateRandomCrop for every candidate ratio: (x, y, w, h, ok) arrays."""
    min_area = area_range[0] * width * height
    max_area = area_range[1] * width * height
    h = np.rint(np.sqrt(min_area / ratios))
    max_h = np.rint(np.sqrt(max_area / ratios))
    too_wide = np.rint(max_h * ratios) > width
    fit = np.floor((width + 0.5 - 1e-7) / ratios)
    fit = np.where(np.rint(fit * ratios) > width, fit - 1, fit)
    max_h = np.minimum(np.where(too_wide, fit, max_h), height)
    h = np.minimum(h, max_h)
    h = h + np.where(h < max_h, np.floor(draws[0] * (max_h - h + 1)), 0)
    w = np.rint(h * ratios)
    low = w * h < min_area
    h = np.where(low, h + 1, h)
    w = np.rint(h * ratios)
    high = w * h > max_area
    h = np.where(high, h - 1, h)
    w = np.rint(h * ratios)
    area = w * h
    ok = (area >= min_area) & (area <= max_area) & (w <= width) & (h <= height) & (w > 0) & (h > 0)
    y = np.where(h < height, np.floor(draws[1] * (height - h)), 0)
    x = np.where(w < width, np.floor(draws[2] * (width - w)), 0)
    return x, y, w, h, ok


def _sample(image_size: Any, bounding_boxes: Any, draw: Any, min_object_covered: Any, aspect_ratio_range: Any,
            area_range: Any, max_attempts: Any, use_image_if_no_bounding_boxes: Any, op: str) -> tuple:
    size = _host(image_size).reshape(-1).astype(np.int64)
    boxes = _host(bounding_boxes).astype(np.float32)
    if size.shape != (3,) or (size[:2] <= 0).any():
        raise ValueError(f"{op}: image_size must be [height, width, channels] with positive height and width, "
                         f"received {size.tolist()}.")
    if boxes.ndim != 3 or boxes.shape[-1] != 4:
        raise ValueError(f"{op}: bounding_boxes must have shape [batch, N, 4], received {boxes.shape}.")
    if ((boxes < 0) | (boxes > 1)).any():
        raise ValueError(f"{op}: all bounding box coordinates must be in [0, 1].")
    height, width = int(size[0]), int(size[1])
    boxes = boxes.reshape(-1, 4)
    if boxes.shape[0] == 0:
        if not use_image_if_no_bounding_boxes:
            raise ValueError(f"{op}: no bounding boxes provided as input. One must enable "
                             "use_image_if_no_bounding_boxes if you wish to not provide any bounding boxes.")
        boxes = np.array([[0.0, 0.0, 1.0, 1.0]], np.float32)
    ratio_lo, ratio_hi = (float(v) for v in (aspect_ratio_range or (0.75, 1.33)))
    area_lo, area_hi = (float(v) for v in (area_range or (0.05, 1.0)))
    if not (0 < ratio_lo <= ratio_hi) or not (0 < area_lo <= area_hi <= 1):
        raise ValueError(f"{op}: need 0 < aspect_ratio_range[0] <= [1] and 0 < area_range[0] <= [1] <= 1, received "
                         f"{aspect_ratio_range} and {area_range}.")
    attempts = int(max_attempts or 100)
    if attempts <= 0:
        raise ValueError(f"{op}: max_attempts must be positive, received {max_attempts!r}.")
    u = draw((4, attempts))
    ratios = ratio_lo + (ratio_hi - ratio_lo) * u[0]
    x, y, w, h, ok = _crops(width, height, (area_lo, area_hi), ratios, u[1:])
    # NOTE: TF truncates object boxes to whole pixels before measuring coverage
    bx0, by0 = np.trunc(boxes[:, 1] * width), np.trunc(boxes[:, 0] * height)
    bx1, by1 = np.trunc(boxes[:, 3] * width), np.trunc(boxes[:, 2] * height)
    barea = (bx1 - bx0) * (by1 - by0)
    iw = np.clip(np.minimum(x[:, None] + w[:, None], bx1) - np.maximum(x[:, None], bx0), 0, None)
    ih = np.clip(np.minimum(y[:, None] + h[:, None], by1) - np.maximum(y[:, None], by0), 0, None)
    covered = ((iw * ih) >= float(min_object_covered) * barea) & (barea >= 1.0)
    ok &= (w * h >= 1.0) & covered.any(1)
    if ok.any():
        k = int(np.argmax(ok))
        x0, y0, cw, ch = int(x[k]), int(y[k]), int(w[k]), int(h[k])
    else:
        x0, y0, cw, ch = 0, 0, width, height
    begin = Tensor(np.array([y0, x0, 0], np.int32))
    size_out = Tensor(np.array([ch, cw, -1], np.int32))
    box = np.array([[[y0 / height, x0 / width, (y0 + ch) / height, (x0 + cw) / width]]], np.float32)
    return begin, size_out, Tensor(box)


def sample_distorted_bounding_box(image_size: Any, bounding_boxes: Any, seed: Any = 0, min_object_covered: Any = 0.1,
                                  aspect_ratio_range: Any = None, area_range: Any = None, max_attempts: Any = None,
                                  use_image_if_no_bounding_boxes: Any = None, name: Any = None) -> tuple:
    """(begin, size, bboxes) of a random crop for `tf.slice(image, begin, size)`: begin
    [y, x, 0], size [h, w, -1] (int32), bboxes [[[y0, x0, y1, x1]]] normalized (float32)."""
    return _sample(image_size, bounding_boxes, lambda shape: uniform_array(shape, seed or None), min_object_covered,
                   aspect_ratio_range, area_range, max_attempts, use_image_if_no_bounding_boxes,
                   "sample_distorted_bounding_box")


def stateless_sample_distorted_bounding_box(image_size: Any, bounding_boxes: Any, seed: Any,
                                            min_object_covered: Any = 0.1, aspect_ratio_range: Any = None,
                                            area_range: Any = None, max_attempts: Any = None,
                                            use_image_if_no_bounding_boxes: Any = None, name: Any = None) -> tuple:
    """`sample_distorted_bounding_box` decided by a seed pair."""
    return _sample(image_size, bounding_boxes, lambda shape: stateless_uniform_array(shape, seed),
                   min_object_covered, aspect_ratio_range, area_range, max_attempts,
                   use_image_if_no_bounding_boxes, "stateless_sample_distorted_bounding_box")

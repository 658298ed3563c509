"""Drawing on batches of images: bounding boxes (Pillow) and segmentation masks (NumPy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras import backend


def _numpy(x: Any) -> np.ndarray:
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def _palette(num_classes: int) -> list:
    base = np.array([2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1])
    return [((i * base) % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(images: Any, segmentation_masks: Any, num_classes: int | None = None,
                            color_mapping: dict | None = None, alpha: float = 0.8, blend: bool = True,
                            ignore_index: int = -1, data_format: str | None = None) -> Any:
    """Colour each class's pixels of (batch, H, W, 1) integer masks onto (batch, H, W, 3) images.

    Args:
        num_classes: the number of classes (default: the mask's maximum value, as Keras).
        color_mapping: {class: (r, g, b)}; default a fixed palette.
        alpha: the colour's weight when `blend` (uint8 output); without blending the colours replace
            the pixels (float32 output).
        ignore_index: a mask value left uncoloured.
    """
    data_format = data_format or backend.image_data_format()
    images = _numpy(images)
    if images.ndim != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: images.shape={images.shape}")
    masks = _numpy(segmentation_masks)
    if data_format == "channels_first":
        images, masks = images.transpose(0, 2, 3, 1), masks.transpose(0, 2, 3, 1)
    images = images.astype("float32")
    if masks.dtype.kind not in "iu":
        raise TypeError(f"`segmentation_masks` must be in integer dtype. Received: segmentation_masks.dtype="
                        f"{masks.dtype.name}")
    if num_classes is None:
        num_classes = int(masks.max())
    colors = _palette(num_classes) if color_mapping is None else [color_mapping[i] for i in range(num_classes)]
    valid = np.squeeze(masks != ignore_index, axis=-1)
    labels = masks[..., 0]
    drawn = images.copy()
    for cls, color in enumerate(colors):
        drawn[labels == cls] = np.asarray(color, dtype=drawn.dtype)[None, :]
    if not blend:
        return drawn
    out = images * (1 - alpha) + drawn * alpha
    out = np.where(valid[..., None], out, images)
    return out.astype("uint8")


def _text_origin(x: int, y: int, font_scale: float, thickness: int) -> tuple:
    """Above the box when there is room, else just inside its top-left corner (Keras's rule)."""
    font_height = int(font_scale * 12)
    if y - 8 - 2 * font_height > 0:
        return x, y - 8
    return x + 3, y + 2 * font_height + thickness + 3


def draw_bounding_boxes(images: Any, bounding_boxes: dict, bounding_box_format: str,
                        class_mapping: dict | None = None, color: tuple = (128, 128, 128), line_thickness: int = 2,
                        text_thickness: int = 1, font_scale: float = 1.0, data_format: str | None = None) -> np.ndarray:
    """Draw {"boxes": (batch, n, 4), "labels": (batch, n)[, "confidences"]} on (batch, H, W, C) images.

    Boxes with label -1 are skipped; labels in `class_mapping` are written above their box (with the
    confidence when given). Float images in [0, 1] are scaled to [0, 255]. Returns uint8 images.
    """
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise ImportError('draw_bounding_boxes needs Pillow to draw; install the extra with `pip install '
                          '"tapeflow[image]"` (or `pip install Pillow`).') from None
    from tapeflow.keras.utils.bounding_boxes import convert_format

    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    data_format = data_format or backend.image_data_format()
    images = _numpy(images)
    if images.ndim != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: images.shape={images.shape}")
    if not isinstance(bounding_boxes, dict):
        raise TypeError(f"`bounding_boxes` should be a dict. Received: bounding_boxes={bounding_boxes} of type "
                        f"{type(bounding_boxes)}")
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError("`bounding_boxes` should be a dict containing 'boxes' and 'labels' keys. Received: "
                         f"bounding_boxes={bounding_boxes}")
    if data_format == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    height, width = images.shape[1], images.shape[2]
    boxes = _numpy(convert_format(dict(bounding_boxes), bounding_box_format, "xyxy", height, width)["boxes"])
    labels = _numpy(bounding_boxes["labels"])
    confidences = _numpy(bounding_boxes["confidences"]) if "confidences" in bounding_boxes else None
    if images.dtype.kind == "f" and images.size > 0:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0, 255)
    images = images.astype("uint8")
    font = ImageFont.load_default(size=max(8, int(12 * font_scale))) if hasattr(ImageFont, "load_default") else None
    out = []
    for i in range(images.shape[0]):
        channels = images.shape[-1]
        canvas = Image.fromarray(images[i][..., 0] if channels == 1 else images[i])
        pen = ImageDraw.Draw(canvas)
        fill = tuple(int(c) for c in color) if channels != 1 else int(color[0])
        for j in range(boxes.shape[1]):
            label = int(labels[i][j])
            if label == -1:
                continue
            x1, y1, x2, y2 = (int(v) for v in boxes[i][j].astype("int32"))
            pen.rectangle([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)], outline=fill, width=line_thickness)
            if label in class_mapping:
                text = class_mapping[label]
                if confidences is not None:
                    text = f"{text} | {confidences[i][j]:.2f}"
                tx, ty = _text_origin(x1, y1, font_scale, text_thickness)
                pen.text((tx, ty), str(text), fill=fill, font=font, anchor="ls")
        drawn = np.asarray(canvas)
        out.append(drawn[..., None] if channels == 1 else drawn)
    return np.stack(out, axis=0)

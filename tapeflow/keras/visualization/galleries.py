"""Image galleries with matplotlib: plain, with bounding boxes, with segmentation masks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.keras import backend
from tapeflow.keras.visualization.drawing import _numpy, draw_bounding_boxes, draw_segmentation_masks


def _pyplot(what: str) -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(f"The `{what}` function requires the `matplotlib` package. Please install it with "
                          '`pip install matplotlib` (or `pip install "tapeflow[plot]"`).') from None
    return plt


def _to_range(images: np.ndarray, value_range: Any) -> np.ndarray:
    low, high = value_range
    images = images.astype("float32")
    if (low, high) == (0, 255):
        return images
    return (images - low) * (255.0 / (high - low))


def plot_image_gallery(images: Any, y_true: Any = None, y_pred: Any = None, label_map: dict | None = None,
                       rows: int | None = None, cols: int | None = None, value_range: tuple = (0, 255),
                       scale: float = 2, path: str | None = None, show: bool | None = None, transparent: bool = True,
                       dpi: int = 60, legend_handles: Any = None, data_format: str | None = None) -> None:
    """Plot a grid of a batch of images (titled with `label_map[y_true]` / `label_map[y_pred]`),
    shown or saved to `path`."""
    plt = _pyplot("plot_image_gallery")
    if path is not None and show:
        raise ValueError("plot_gallery() expects either `path` to be set, or `show` to be true.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError("If `y_true` or `y_pred` are provided, a `label_map` must also be provided.")
    show = show if show is not None else path is None
    data_format = data_format or backend.image_data_format()
    images = _numpy(images)
    if images.ndim != 4:
        raise ValueError("`plot_images_gallery()` requires you to batch your `np.array` samples together.")
    batch_size = images.shape[0]
    rows = rows or int(math.ceil(math.sqrt(batch_size)))
    cols = cols or int(math.ceil(batch_size // rows))
    images = images[: min(rows * cols, batch_size)]
    if data_format == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    fig, axes = plt.subplots(nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale), frameon=False,
                             layout="tight", squeeze=True, sharex="row", sharey="col")
    fig.subplots_adjust(wspace=0, hspace=0)
    if isinstance(axes, np.ndarray) and axes.ndim == 1:
        axes = np.expand_dims(axes, 0 if rows == 1 else -1)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    images = _to_range(images, value_range)
    y_true = None if y_true is None else _numpy(y_true)
    y_pred = None if y_pred is None else _numpy(y_pred)
    for row in range(rows):
        for col in range(cols):
            index = row * cols + col
            axis = axes[row, col] if isinstance(axes, np.ndarray) else axes
            if index >= len(images):
                axis.axis("off")
                continue
            axis.imshow(images[index].astype("uint8"))
            axis.margins(x=0, y=0)
            axis.axis("off")
            title = []
            if y_true is not None and index < len(y_true):
                title.append(f"Label: {label_map.get(y_true[index], 'Unknown')}")
            if y_pred is not None and index < len(y_pred):
                title.append(f"Pred: {label_map.get(y_pred[index], 'Unknown')}")
            if title:
                axis.set_title("  ".join(title), fontsize=8)
    if path is not None:
        plt.savefig(fname=path, pad_inches=0, bbox_inches="tight", transparent=transparent, dpi=dpi)
        plt.close()
    elif show:
        plt.show()
        plt.close()


def plot_bounding_box_gallery(images: Any, bounding_box_format: str, y_true: Any = None, y_pred: Any = None,
                              value_range: tuple = (0, 255), true_color: tuple = (0, 188, 212),
                              pred_color: tuple = (255, 235, 59), line_thickness: int = 2, font_scale: float = 1.0,
                              text_thickness: int | None = None, class_mapping: dict | None = None,
                              ground_truth_mapping: dict | None = None, prediction_mapping: dict | None = None,
                              legend: bool = False, legend_handles: Any = None, rows: int | None = None,
                              cols: int | None = None, data_format: str | None = None, **kwargs: Any) -> None:
    """A gallery with the true and predicted boxes drawn (see `draw_bounding_boxes`)."""
    _pyplot("plot_bounding_box_gallery")
    from matplotlib import patches

    prediction_mapping = prediction_mapping or class_mapping
    ground_truth_mapping = ground_truth_mapping or class_mapping
    data_format = data_format or backend.image_data_format()
    images = _numpy(images)
    if images.ndim != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: images.shape={images.shape}")
    if data_format == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    drawn = images
    options = {"bounding_box_format": bounding_box_format, "line_thickness": line_thickness,
               "text_thickness": text_thickness, "font_scale": font_scale, "data_format": "channels_last"}
    if y_true is not None:
        drawn = draw_bounding_boxes(drawn, y_true, color=true_color, class_mapping=ground_truth_mapping, **options)
    if y_pred is not None:
        drawn = draw_bounding_boxes(drawn, y_pred, color=pred_color, class_mapping=prediction_mapping, **options)
    if legend:
        if legend_handles:
            raise ValueError("Only pass `legend` OR `legend_handles` to "
                             "`keras.visualization.plot_bounding_box_gallery()`.")
        legend_handles = [patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
                          patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction")]
    plot_image_gallery(drawn, value_range=value_range, legend_handles=legend_handles, rows=rows, cols=cols,
                       **kwargs)


def plot_segmentation_mask_gallery(images: Any, num_classes: int, value_range: tuple = (0, 255), y_true: Any = None,
                                   y_pred: Any = None, color_mapping: dict | None = None, blend: bool = True,
                                   alpha: float = 0.8, ignore_index: int = -1, data_format: str | None = None,
                                   **kwargs: Any) -> None:
    """One row per image: the image, then its true and predicted masks drawn on it."""
    _pyplot("plot_segmentation_mask_gallery")
    data_format = data_format or backend.image_data_format()
    images = _numpy(images)
    if images.ndim != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: images.shape={images.shape}")
    if data_format == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    rows, cols = images.shape[0], 1 + (y_true is not None) + (y_pred is not None)

    def draw(masks: Any) -> np.ndarray:
        masks = _numpy(masks)
        if data_format == "channels_first":
            masks = masks.transpose(0, 2, 3, 1)
        return draw_segmentation_masks(images, masks.astype("int32"), num_classes=num_classes,
                                       color_mapping=color_mapping, alpha=alpha, ignore_index=ignore_index,
                                       blend=blend, data_format="channels_last")

    true_drawn = draw(y_true) if y_true is not None else None
    pred_drawn = draw(y_pred) if y_pred is not None else None
    gallery = []
    for i in range(rows):
        gallery.append(images[i])
        if true_drawn is not None:
            gallery.append(true_drawn[i])
        if pred_drawn is not None:
            gallery.append(pred_drawn[i])
    plot_image_gallery(np.stack(gallery, axis=0), value_range=value_range, rows=rows, cols=cols, **kwargs)

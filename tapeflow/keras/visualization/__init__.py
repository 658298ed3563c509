"""`keras.visualization`: draw boxes and segmentation masks on images, plot image galleries.

`draw_segmentation_masks` is NumPy only. `draw_bounding_boxes` draws with Pillow (`pip install
"tapeflow[image]"`; Keras uses OpenCV, so the pixels of lines and text differ slightly). The
gallery functions plot with matplotlib (`pip install "tapeflow[plot]"`).
"""

from tapeflow.keras.visualization.drawing import draw_bounding_boxes, draw_segmentation_masks
from tapeflow.keras.visualization.galleries import (
    plot_bounding_box_gallery,
    plot_image_gallery,
    plot_segmentation_mask_gallery,
)

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery", "plot_image_gallery",
           "plot_segmentation_mask_gallery"]

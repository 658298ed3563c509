"""keras.visualization: masks and boxes drawn on images, galleries (matplotlib optional)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from tapeflow.keras import visualization as vis


def _images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (2, 12, 16, 3)).astype("float32")


def test_draw_segmentation_masks_colours_and_ignores() -> None:
    masks = np.zeros((2, 12, 16, 1), "int32")
    masks[:, :4] = 1
    masks[:, -2:] = -1
    out = vis.draw_segmentation_masks(_images(), masks, num_classes=2, color_mapping={0: (0, 0, 0), 1: (255, 0, 0)},
                                      alpha=1.0)
    assert out.dtype == np.uint8 and out.shape == (2, 12, 16, 3)
    np.testing.assert_array_equal(out[:, :4], np.broadcast_to([255, 0, 0], (2, 4, 16, 3)))
    np.testing.assert_array_equal(out[:, -2:], _images()[:, -2:].astype("uint8"))
    with pytest.raises(TypeError, match="integer dtype"):
        vis.draw_segmentation_masks(_images(), masks.astype("float32"))


def test_draw_bounding_boxes_outlines_boxes() -> None:
    pytest.importorskip("PIL")
    images = np.zeros((1, 40, 60, 3), "float32")
    boxes = {"boxes": np.array([[[5.0, 5.0, 30.0, 30.0], [1.0, 1.0, 2.0, 2.0]]]), "labels": np.array([[0, -1]])}
    out = vis.draw_bounding_boxes(images, boxes, "xyxy", color=(255, 0, 0), line_thickness=1)
    assert out.dtype == np.uint8
    assert (out[0, 5, 5:31, 0] == 255).all() and (out[0, 6:30, 6:30] == 0).all()  # outline only
    assert out[0, 1, 1, 0] == 0  # label -1 is skipped
    with pytest.raises(ValueError, match="'boxes' and 'labels'"):
        vis.draw_bounding_boxes(images, {"boxes": boxes["boxes"]}, "xyxy")


def test_galleries_need_matplotlib(tmp_path) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        with pytest.raises(ImportError, match="matplotlib"):
            vis.plot_image_gallery(_images())
        return
    import matplotlib

    matplotlib.use("Agg")
    path = tmp_path / "gallery.png"
    vis.plot_image_gallery(_images(), path=str(path))
    assert path.stat().st_size > 0


@pytest.mark.oracle
def test_segmentation_masks_match_keras() -> None:
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    masks = np.random.default_rng(1).integers(-1, 3, (2, 12, 16, 1)).astype("int32")
    for blend in (True, False):
        ours = vis.draw_segmentation_masks(_images(), masks, num_classes=3, blend=blend)
        theirs = np.asarray(keras.visualization.draw_segmentation_masks(_images(), masks, num_classes=3, blend=blend))
        np.testing.assert_array_equal(ours, theirs)

"""keras.utils.bounding_boxes, checked against Keras 3.15."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow.keras.utils import bounding_boxes as bb

BOXES = np.array([[10.0, 20.0, 50.0, 80.0], [0.0, 0.0, 30.0, 30.0], [5.0, 6.0, 7.0, 90.0]], "float32")


def test_formats_round_trip_and_errors() -> None:
    for fmt in bb.SUPPORTED_FORMATS:
        there = bb.convert_format(BOXES, "xyxy", fmt, height=100, width=200)
        np.testing.assert_allclose(bb.convert_format(there, fmt, "xyxy", height=100, width=200).numpy(), BOXES,
                                   rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="must receive `height` and `width`"):
        bb.convert_format(BOXES, "xyxy", "rel_xyxy")
    with pytest.raises(ValueError, match="last dimension of 4"):
        bb.convert_format(BOXES[:, :3], "xyxy", "yxyx")
    clipped = bb.clip_to_image_size({"boxes": BOXES, "labels": np.array([1, 2, 3])}, height=50, width=6)
    np.testing.assert_array_equal(clipped["labels"].numpy(), [-1, 2, 3])  # the first box has no width left
    np.testing.assert_allclose(bb.pad(BOXES, 2, 3).numpy()[0], [13, 22, 53, 82])
    with pytest.raises(ValueError, match="'xyxy' only"):
        bb.crop(BOXES, 0, 0, 10, 10, bounding_box_format="yxyx")


def test_iou_values() -> None:
    iou = bb.compute_iou(BOXES[:2], BOXES[:2], "xyxy").numpy()
    np.testing.assert_allclose(np.diag(iou), 1.0, rtol=1e-6)
    inter = 20 * 10
    np.testing.assert_allclose(iou[0, 1], inter / (40 * 60 + 900 - inter), rtol=1e-5)


@pytest.mark.oracle
def test_matches_keras_bounding_boxes() -> None:
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    kb = keras.utils.bounding_boxes
    for source in bb.SUPPORTED_FORMATS:
        for target in ("xyxy", "center_yxhw", "rel_xywh"):
            ours = bb.convert_format(BOXES, source, target, height=100, width=200).numpy()
            theirs = np.asarray(kb.convert_format(BOXES, source, target, height=100, width=200))
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-5)
    batched = np.stack([BOXES, BOXES[::-1] + 3])
    np.testing.assert_allclose(bb.compute_iou(batched, batched, "xyxy").numpy(),
                               np.asarray(kb.compute_iou(batched, batched, "xyxy")), rtol=1e-6)
    masked = np.concatenate([BOXES, -np.ones((1, 4), "float32")])
    np.testing.assert_allclose(bb.compute_iou(masked, BOXES, "xyxy", use_masking=True).numpy(),
                               np.asarray(kb.compute_iou(masked, BOXES, "xyxy", use_masking=True)), rtol=1e-6)
    np.testing.assert_allclose(bb.compute_ciou(BOXES, BOXES[::-1], "xyxy").numpy(),
                               np.asarray(kb.compute_ciou(BOXES, BOXES[::-1], "xyxy")), rtol=1e-5, atol=1e-6)
    args = [np.array([12.0, -30.0], "float32"), np.array([0.1, 0.0], "float32"), np.array([0.0, -0.2], "float32"),
            np.array([1.0, 1.3], "float32"), np.array([5.0, 0.0], "float32"), np.array([0.0, 8.0], "float32")]
    np.testing.assert_allclose(bb.affine_transform(batched, *args, 100, 200).numpy(),
                               np.asarray(kb.affine_transform(batched, *args, 100, 200)), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(bb.crop(BOXES, 5, 4, 40, 30).numpy(), np.asarray(kb.crop(BOXES, 5, 4, 40, 30)))
    anchors = BOXES + 2
    for variance in (None, [0.1, 0.1, 0.2, 0.2]):
        ours = bb.encode_box_to_deltas(anchors, BOXES, "xyxy", "xyxy", variance=variance).numpy()
        theirs = np.asarray(kb.encode_box_to_deltas(anchors, BOXES, "xyxy", "xyxy", variance=variance))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            bb.decode_deltas_to_boxes(anchors, ours, "xyxy", "xyxy", variance=variance).numpy(),
            np.asarray(kb.decode_deltas_to_boxes(anchors, theirs, "xyxy", "xyxy", variance=variance)), rtol=1e-5,
            atol=1e-4)

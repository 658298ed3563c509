"""The Keras 3.15 geometric and mixing augmentation layers: transform_* given the same
transformation as real Keras gives the same numbers; random draws checked by their properties."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow import keras

rng = np.random.default_rng(4)
IMAGES = (rng.random((3, 8, 10, 3)) * 255).astype("float32")
LABELS = np.eye(3, dtype="float32")


def _both(name, kwargs, transformation, images=IMAGES, method="transform_images"):
    real = pytest.importorskip("keras")
    ours = getattr(getattr(keras.layers, name)(**kwargs), method)(images, transformation)
    theirs = getattr(getattr(real.layers, name)(**kwargs), method)(images, transformation)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-4, atol=1e-3)


@pytest.mark.oracle
def test_transforms_match_keras_for_a_given_transformation():
    shear = np.array([[0.2, -0.1], [-0.3, 0.0], [0.1, 0.25]], "float32")
    for mode in ("reflect", "constant"):
        _both("RandomShear", {"fill_mode": mode, "fill_value": 7.0}, {"shear_factor": shear})
    start = np.repeat(np.array([[[0, 0], [9, 0], [0, 7], [9, 7]]], "float32"), 3, 0)
    end = start + start * rng.uniform(-0.2, 0.2, (3, 4, 2)).astype("float32")
    _both("RandomPerspective", {"fill_value": 3.0}, {"apply_perspective": np.array([True, False, True]),
                                                     "start_points": start, "end_points": end})
    masks = np.zeros(IMAGES.shape, bool)
    masks[:, 2:5, 3:7] = True
    fill = rng.random(IMAGES.shape).astype("float32") * 255
    _both("RandomErasing", {}, {"apply_erasing": np.array([True, True, False]), "batch_masks": masks,
                                "fill_value": fill})
    _both("RandomGaussianBlur", {"kernel_size": 5}, {"should_apply_blur": np.array([True, False, True]),
                                                     "blur_factor": np.array([0.7, 1.3], "float32")})
    mix = {"mix_weight": np.array([0.2, 0.7, 0.5], "float32"), "permutation_order": np.array([2, 0, 1])}
    _both("MixUp", {}, mix)
    _both("MixUp", {}, mix, LABELS, "transform_labels")
    cut = {"permutation_order": np.array([1, 2, 0]), "batch_masks": masks,
           "mix_weight": np.array([0.85, 0.85, 0.85], "float32")}
    _both("CutMix", {}, cut)
    _both("CutMix", {}, cut, LABELS, "transform_labels")
    _both("RandomHue", {"factor": 0.5}, {"factor": np.array([0.1, -0.3, 0.45], "float32")})


@pytest.mark.oracle
@pytest.mark.parametrize("name,kwargs", [
    ("RandomShear", {"x_factor": 0.3, "fill_mode": "constant"}), ("RandomPerspective", {"scale": 0.4}),
    ("RandomElasticTransform", {"scale": (0.2, 0.5)}), ("RandomErasing", {"fill_value": 3}),
    ("RandomGaussianBlur", {"kernel_size": (3, 5), "sigma": (0.1, 0.9)}), ("MixUp", {"alpha": 0.4}),
    ("CutMix", {"factor": 0.5}), ("RandAugment", {"num_ops": 3}), ("AugMix", {"all_ops": False}),
    ("MaxNumBoundingBoxes", {"max_number": 4}),
])
def test_configs_match_keras(name, kwargs):
    real = pytest.importorskip("keras")
    ours = getattr(keras.layers, name)(**kwargs).get_config()
    theirs = getattr(real.layers, name)(**kwargs).get_config()
    for key in ("name", "dtype", "trainable"):
        ours.pop(key, None)
        theirs.pop(key, None)
    norm = lambda c: {k: (list(v) if isinstance(v, tuple) else v) for k, v in c.items()}  # noqa: E731
    assert norm(ours) == norm(theirs)


def test_random_geometry_layers():
    always = (1.0, 1.0)
    for layer in (keras.layers.RandomShear(0.4, 0.4, seed=1), keras.layers.RandomPerspective(always, 0.5, seed=1),
                  keras.layers.RandomElasticTransform(always, seed=1),
                  keras.layers.RandomErasing(always, scale=0.3, seed=1),
                  keras.layers.RandomGaussianBlur(always, seed=1, sigma=(0.5, 1.0))):
        out = layer(IMAGES).numpy()
        assert out.shape == IMAGES.shape and out.dtype == np.float32, type(layer).__name__
        assert not np.allclose(out, IMAGES), type(layer).__name__
        np.testing.assert_array_equal(layer(IMAGES, training=False).numpy(), IMAGES)
    masks = (IMAGES[..., :1] > 128).astype("int32")
    out = keras.layers.RandomShear(0.5, seed=3)({"images": IMAGES, "segmentation_masks": masks})
    assert out["segmentation_masks"].dtype.name == "int32"
    assert set(np.unique(out["segmentation_masks"].numpy())) <= {0, 1}
    with pytest.raises(ValueError, match="bounding boxes"):
        keras.layers.RandomShear(0.5, bounding_box_format="xyxy")(
            {"images": IMAGES, "bounding_boxes": {"boxes": np.zeros((3, 1, 4)), "labels": np.zeros((3, 1))}})
    with pytest.raises(ValueError, match="odd"):
        keras.layers.RandomGaussianBlur(kernel_size=4)


def test_mixing_layers():
    out = keras.layers.MixUp(seed=2)({"images": IMAGES, "labels": LABELS})
    images, labels = out["images"].numpy(), out["labels"].numpy()
    np.testing.assert_allclose(labels.sum(1), 1.0, rtol=1e-6)
    w = labels.max(1)  # the image's own weight or its partner's; either explains the mixed image
    assert images.shape == IMAGES.shape and np.all(w >= 0.5 - 1e-6)
    out = keras.layers.CutMix(seed=2)({"images": IMAGES, "labels": LABELS})
    pasted = np.any(out["images"].numpy() != IMAGES, axis=-1).mean(axis=(1, 2))
    np.testing.assert_allclose(out["labels"].numpy().sum(1), 1.0, rtol=1e-5)
    assert np.all(pasted <= 1.0)
    np.testing.assert_array_equal(keras.layers.CutMix(seed=1)(IMAGES[0]).numpy(), IMAGES[0])
    for layer in (keras.layers.RandAugment(seed=1), keras.layers.AugMix(seed=1),
                  keras.layers.AugMix(all_ops=False, num_chains=2, seed=1)):
        out = layer(IMAGES).numpy()
        assert out.shape == IMAGES.shape and out.min() >= -1e-3 and out.max() <= 255 + 1e-3


def test_max_num_bounding_boxes():
    boxes = {"boxes": rng.random((2, 3, 4)).astype("float32"), "labels": np.array([[1, 2, 3], [4, 5, 6]])}
    layer = keras.layers.MaxNumBoundingBoxes(5, bounding_box_format="xyxy")
    out = layer({"images": IMAGES[:2], "bounding_boxes": boxes}, training=False)["bounding_boxes"]
    assert out["boxes"].shape == (2, 5, 4) and np.all(out["boxes"].numpy()[:, 3:] == -1)
    np.testing.assert_array_equal(out["labels"].numpy(), [[1, 2, 3, -1, -1], [4, 5, 6, -1, -1]])
    short = keras.layers.MaxNumBoundingBoxes(2, bounding_box_format="xyxy")(
        {"images": IMAGES[:2], "bounding_boxes": boxes})["bounding_boxes"]
    np.testing.assert_array_equal(short["labels"].numpy(), [[1, 2], [4, 5]])


@pytest.mark.oracle
def test_max_num_bounding_boxes_on_symbolic_dicts_gives_a_dict_like_keras():
    """A layer call on symbolic dicts returns the dict (as Keras's KerasTensors) with Keras's
    shapes; the Functional model runs it with any number of boxes."""
    real = pytest.importorskip("keras")

    def symbolic(k):
        data = {"images": k.Input((8, 10, 3), name="images"),
                "bounding_boxes": {"boxes": k.Input((None, 4), name="boxes"),
                                   "labels": k.Input((None,), name="labels", dtype="int32")}}
        return data, k.layers.MaxNumBoundingBoxes(4, bounding_box_format="xyxy")(data)

    (data, ours), (_, theirs) = symbolic(keras), symbolic(real)
    flat = lambda d: [d["images"], d["bounding_boxes"]["boxes"], d["bounding_boxes"]["labels"]]  # noqa: E731
    assert [tuple(t.shape) for t in flat(ours)] == [tuple(t.shape) for t in flat(theirs)]
    # NOTE: Keras's symbolic labels say float32 (its layer dtype) while its values stay int32;
    # Tapeflow's symbolic dtypes are the values' own.
    assert [t.dtype.name for t in flat(ours)] == ["float32", "float32", "int32"]
    model = keras.Model(data, ours)
    out = model.predict({"images": IMAGES[:2], "bounding_boxes": {"boxes": rng.random((2, 6, 4)).astype("float32"),
                                                                  "labels": np.ones((2, 6), "int32")}}, verbose=0)
    assert out["bounding_boxes"]["boxes"].shape == (2, 4, 4) and out["bounding_boxes"]["labels"].dtype == np.int32

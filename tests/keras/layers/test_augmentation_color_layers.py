"""The Keras 3.15 color augmentation layers against real Keras: deterministic settings exactly
(factor ranges of one value, AutoContrast, Equalization, CLAHE), random ones by range and shape."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow import keras

rng = np.random.default_rng(3)
IMAGES = (rng.random((2, 8, 10, 3)) * 255).astype("float32")
UNIT = rng.random((2, 8, 10, 3)).astype("float32")


def _real():
    return pytest.importorskip("keras")


def _compare(name, kwargs, images=IMAGES, atol=1e-3, training=True):
    real = _real()
    ours = getattr(keras.layers, name)(**kwargs)(images, training=training)
    theirs = getattr(real.layers, name)(**kwargs)(images, training=training)
    theirs = np.asarray(theirs)
    assert tuple(ours.shape) == theirs.shape and ours.dtype.name == str(theirs.dtype)
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-4, atol=atol)


DETERMINISTIC = [
    ("RandomSaturation", {"factor": (0.5, 0.5)}),
    ("RandomSaturation", {"factor": (0.8, 0.8), "value_range": (0, 1)}, UNIT),
    ("RandomSaturation", {"factor": (0.0, 0.0)}),
    ("RandomColorDegeneration", {"factor": (0.3, 0.3)}),
    ("RandomColorDegeneration", {"factor": (1.0, 1.0), "value_range": (0, 1)}, UNIT),
    ("RandomSharpness", {"factor": (0.9, 0.9)}),
    ("RandomSharpness", {"factor": (0.1, 0.1), "value_range": (0, 1)}, UNIT),
    ("RandomPosterization", {"factor": (3, 3)}),
    ("RandomPosterization", {"factor": (6, 6), "value_range": (0, 1)}, UNIT),
    ("RandomHue", {"factor": (0.0, 0.0)}),
    ("AutoContrast", {}),
    ("AutoContrast", {"value_range": (0, 1)}, UNIT * 0.5 + 0.2),
    ("Equalization", {}),
    ("Equalization", {"bins": 16, "value_range": (0, 1)}, UNIT),
    ("ContrastLimitedAdaptiveHistogramEqualization", {"tile_grid_size": (3, 4)}),
    ("ContrastLimitedAdaptiveHistogramEqualization", {"tile_grid_size": (2, 2), "clip_limit": 0.0,
                                                      "value_range": (0, 1)}, UNIT),
]


@pytest.mark.oracle
@pytest.mark.parametrize("case", DETERMINISTIC, ids=lambda c: c[0])
def test_deterministic_settings_match_keras(case):
    name, kwargs, *images = case
    _compare(name, kwargs, *(images or [IMAGES]))


@pytest.mark.oracle
def test_channels_first_and_single_images_match_keras():
    first = np.transpose(IMAGES, (0, 3, 1, 2))
    _compare("RandomSharpness", {"factor": (0.8, 0.8), "data_format": "channels_first"}, first)
    _compare("RandomSaturation", {"factor": (0.7, 0.7), "data_format": "channels_first"}, first)
    _compare("RandomColorDegeneration", {"factor": (0.4, 0.4)}, IMAGES[0])
    _compare("Equalization", {"data_format": "channels_first"}, first)
    _compare("ContrastLimitedAdaptiveHistogramEqualization", {"tile_grid_size": (2, 3)}, IMAGES[0])


@pytest.mark.oracle
@pytest.mark.parametrize("name,kwargs", [
    ("RandomHue", {"factor": 0.5, "seed": 1}), ("RandomSaturation", {"factor": 0.5, "seed": 1}),
    ("RandomPosterization", {"factor": 4}), ("RandomColorJitter", {"brightness_factor": 0.2, "hue_factor": 0.1}),
    ("ContrastLimitedAdaptiveHistogramEqualization", {"clip_limit": 2.0}), ("Equalization", {"bins": 64}),
    ("AutoContrast", {"value_range": (0, 1)}), ("RandomSharpness", {"factor": (0.2, 0.8)}),
    ("RandomColorDegeneration", {"factor": 0.5, "value_range": (0, 1)}),
])
def test_configs_match_keras(name, kwargs):
    real = _real()
    ours = getattr(keras.layers, name)(**kwargs).get_config()
    theirs = getattr(real.layers, name)(**kwargs).get_config()
    for key in ("name", "dtype", "trainable"):
        ours.pop(key, None)
        theirs.pop(key, None)
    assert {k: (list(v) if isinstance(v, tuple) else v) for k, v in ours.items()} == \
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in theirs.items()}


def test_random_layers_stay_in_range_and_vary_per_image():
    saturated = keras.layers.RandomSaturation((0.2, 0.9), value_range=(0, 1), seed=2)(UNIT).numpy()
    assert saturated.min() >= -1e-6 and saturated.max() <= 1 + 1e-6
    for layer in (keras.layers.RandomHue(0.8, seed=2),
                  keras.layers.RandomColorDegeneration(0.9, seed=2), keras.layers.RandomSharpness(0.9, seed=2),
                  keras.layers.RandomPosterization((1, 8), seed=2),
                  keras.layers.RandomColorJitter(brightness_factor=0.3, contrast_factor=0.5,
                                                 saturation_factor=(0.3, 0.7), hue_factor=0.4, seed=2)):
        batch = np.repeat(IMAGES[:1], 6, axis=0)
        out = layer(batch).numpy()
        assert out.shape == batch.shape and out.dtype == np.float32
        assert out.min() >= -1e-3 and out.max() <= 255 + 1e-3, type(layer).__name__
        assert not np.allclose(out[0], out[1:]), type(layer).__name__  # one draw per image
        np.testing.assert_array_equal(layer(batch, training=False).numpy(), batch)
    posterized = keras.layers.RandomPosterization((1, 3), seed=0)(IMAGES).numpy()
    assert np.all(posterized % 32 == 0)


def test_dict_inputs_and_errors():
    layer = keras.layers.RandomSaturation((0.6, 0.6))
    labels = np.eye(2, dtype="float32")
    out = layer({"images": IMAGES, "labels": labels, "segmentation_masks": IMAGES[..., :1]})
    np.testing.assert_array_equal(out["labels"].numpy(), labels)
    with pytest.raises(ValueError, match="bounding_box_format"):
        layer({"images": IMAGES, "bounding_boxes": {"boxes": np.zeros((2, 1, 4)), "labels": np.zeros((2, 1))}})
    with pytest.raises(ValueError, match="factor"):
        keras.layers.RandomHue(1.5)
    with pytest.raises(ValueError, match="value_range"):
        keras.layers.AutoContrast(value_range=3)
    with pytest.raises(ValueError, match="rank 3"):
        keras.layers.RandomSharpness(0.5)(np.zeros((4, 4)))


def test_in_a_model():
    model = keras.Sequential([keras.Input((8, 10, 3)), keras.layers.RandomColorDegeneration(0.5, seed=1),
                              keras.layers.AutoContrast(), keras.layers.Flatten(), keras.layers.Dense(2)])
    assert model.predict(IMAGES, verbose=0).shape == (2, 2)
    restored = keras.layers.RandomSharpness.from_config(keras.layers.RandomSharpness(0.4, seed=3).get_config())
    assert restored.factor == (0, 0.4) and restored.seed == 3

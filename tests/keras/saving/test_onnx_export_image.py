"""ONNX export of the image layers that compute at inference (CLAHE, MaxNumBoundingBoxes) and of
Equalization (the identity at inference): checked with onnx.checker and run in onnxruntime
against Tapeflow's predictions, alone and in small models, at two batch sizes."""

from __future__ import annotations

import numpy as np
import pytest
from keras_catalogue import randomize

from tapeflow import keras as tk
from tapeflow.keras import layers as L

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tapeflow.keras.saving.onnx_export import ExportError, to_onnx  # noqa: E402


def _session(model):
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _check(model, xs, atol=0.0):
    """Every output equal to `model.predict` (within `atol`), dtypes too, for each batch in `xs`."""
    session = _session(model)
    for x in xs:
        x = x if isinstance(x, list) else [x]
        want = model.predict(x if len(x) > 1 else x[0], verbose=0)
        want = want if isinstance(want, list) else [want]
        got = session.run(None, {i.name: v for i, v in zip(session.get_inputs(), x, strict=True)})
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            w = np.asarray(w)
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, atol=atol, rtol=0)


def _images(shape, high=255.0, seed=0):
    """Values a little outside [0, high] too (CLAHE clips them)."""
    return (np.random.default_rng(seed).random(shape) * high * 1.1 - 0.05 * high).astype("float32")


CLAHE = {
    "default": ({}, (13, 17, 3)),
    "clip_2_7_grid_3x4": ({"clip_limit": 2.7, "tile_grid_size": (3, 4)}, (32, 24, 1)),
    "no_clip": ({"clip_limit": 0, "tile_grid_size": (2, 2)}, (9, 8, 2)),
    "unit_range": ({"clip_limit": 1.3, "tile_grid_size": (5, 3), "value_range": (0, 1)}, (13, 17, 3)),
    "channels_first": ({"clip_limit": 3.1, "tile_grid_size": (4, 4), "data_format": "channels_first"}, (2, 13, 10)),
    "grid_larger_than_image": ({"clip_limit": 0.37}, (3, 5, 2)),  # padding longer than the image
}


@pytest.mark.parametrize("name", sorted(CLAHE))
def test_clahe_alone_is_exact(name):
    options, shape = CLAHE[name]
    inputs = tk.Input(shape)
    model = tk.Model(inputs, L.ContrastLimitedAdaptiveHistogramEqualization(**options)(inputs))
    high = options.get("value_range", (0, 255))[1]
    _check(model, [_images((3, *shape), high, seed=1), _images((1, *shape), high, seed=2)])


def test_clahe_in_a_model_of_uint8_images():
    inputs = tk.Input((16, 12, 3), dtype="uint8")
    x = L.ContrastLimitedAdaptiveHistogramEqualization(clip_limit=2.0, tile_grid_size=(4, 3))(inputs)
    x = L.Conv2D(4, 3, activation="relu")(L.Rescaling(1 / 255.0)(x))
    model = tk.Model(inputs, L.Dense(2)(L.GlobalAveragePooling2D()(x)))
    randomize(model, seed=3)
    rng = np.random.default_rng(4)
    _check(model, [rng.integers(0, 256, (n, 16, 12, 3)).astype("uint8") for n in (2, 5)], atol=1e-5)


def test_clahe_needs_known_image_sizes():
    inputs = tk.Input((None, 8, 3))
    model = tk.Model(inputs, L.ContrastLimitedAdaptiveHistogramEqualization(name="clahe")(inputs))
    with pytest.raises(ExportError, match="ContrastLimitedAdaptiveHistogramEqualization 'clahe'.*known height"):
        to_onnx(model)


def test_equalization_is_the_identity_at_inference():
    """As Keras 3's: Equalization equalizes only while training; predict (and ONNX) pass images."""
    inputs = tk.Input((6, 5, 3), dtype="uint8")
    x = L.Equalization(bins=32)(inputs)
    model = tk.Model(inputs, L.Dense(2)(L.Flatten()(L.Rescaling(1 / 255.0)(x))))
    randomize(model, seed=5)
    x = np.random.default_rng(6).integers(0, 256, (3, 6, 5, 3)).astype("uint8")
    _check(model, [x, x[:1]], atol=1e-5)
    alone = tk.Sequential([tk.Input((6, 5, 3)), L.Equalization(value_range=(0, 1))])
    images = np.random.default_rng(7).random((2, 6, 5, 3)).astype("float32")
    _check(alone, [images])
    np.testing.assert_array_equal(alone.predict(images, verbose=0), images)

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
    "mixed_float16": ({"clip_limit": 2.2, "tile_grid_size": (3, 3), "dtype": "mixed_float16"}, (12, 10, 3)),
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


def _boxes_model(count, labels_dtype, fill_value=-1):
    images = tk.Input((4, 5, 3), name="images", dtype="uint8")
    boxes = tk.Input((count, 4), name="boxes")
    labels = tk.Input((count,), name="labels", dtype=labels_dtype)
    data = {"images": images, "bounding_boxes": {"boxes": boxes, "labels": labels}}
    layer = L.MaxNumBoundingBoxes(3, fill_value=fill_value, bounding_box_format="xyxy")
    return tk.Model(data, layer(data)), layer


def _boxes_data(batch, count, labels_dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {"images": rng.integers(0, 256, (batch, 4, 5, 3)).astype("uint8"),
            "bounding_boxes": {"boxes": (rng.random((batch, count, 4)) * 50).astype("float32"),
                               "labels": rng.integers(0, 9, (batch, count)).astype(labels_dtype)}}


def _flat(data):
    """The ONNX graph's inputs or outputs in Keras's flattened order (dict keys sorted)."""
    return [data["bounding_boxes"]["boxes"], data["bounding_boxes"]["labels"], data["images"]]


@pytest.mark.parametrize("count, labels_dtype", [(None, "int32"), (5, "float32"), (2, "int64"), (3, "int32")])
def test_max_num_bounding_boxes(count, labels_dtype):
    """A dict in and out: ONNX inputs named as the keras.Inputs, outputs output_0.. in Keras's
    flattened order; any number of boxes when it is unknown."""
    model, layer = _boxes_model(count, labels_dtype, fill_value=-2)
    session = _session(model)
    assert [i.name for i in session.get_inputs()] == ["boxes", "labels", "images"]
    assert [o.shape for o in session.get_outputs()] == [["batch", 3, 4], ["batch", 3], ["batch", 4, 5, 3]]
    for batch, n in [(2, count or 0), (1, count or 2), (3, count or 5)]:
        data = _boxes_data(batch, n, labels_dtype, seed=n)
        got = session.run(None, {"boxes": _flat(data)[0], "labels": _flat(data)[1], "images": _flat(data)[2]})
        want = _flat(model.predict(data, verbose=0))
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
        assert got[0].dtype == np.float32 and got[2].dtype == np.float32


@pytest.mark.oracle
def test_max_num_bounding_boxes_matches_keras():
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    model, _ = _boxes_model(None, "int32")
    session = _session(model)
    real = keras.layers.MaxNumBoundingBoxes(3, bounding_box_format="xyxy")
    for n in (1, 4):
        data = _boxes_data(2, n, "int32", seed=n)
        want = _flat(real(data, training=False))
        got = session.run(None, dict(zip(["boxes", "labels", "images"], _flat(data), strict=True)))
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, np.asarray(w))


def test_max_num_bounding_boxes_in_a_detector_and_on_images_alone():
    images = tk.Input((6, 6, 3), name="images")
    boxes = tk.Input((None, 4), name="boxes")
    labels = tk.Input((None,), name="labels", dtype="int32")
    out = L.MaxNumBoundingBoxes(2, bounding_box_format="xyxy")(
        {"images": images, "bounding_boxes": {"boxes": boxes, "labels": labels}})
    scores = L.Dense(2)(L.GlobalAveragePooling2D()(L.Conv2D(3, 3)(out["images"])))
    model = tk.Model([images, boxes, labels], [scores, out["bounding_boxes"]["boxes"], out["bounding_boxes"]["labels"]])
    randomize(model, seed=8)
    rng = np.random.default_rng(9)
    xs = [[rng.random((b, 6, 6, 3)).astype("float32"), rng.random((b, n, 4)).astype("float32"),
           rng.integers(0, 5, (b, n)).astype("int32")] for b, n in [(2, 1), (3, 4)]]
    _check(model, xs, atol=1e-5)
    alone = tk.Sequential([tk.Input((4, 4, 3), dtype="uint8"), L.MaxNumBoundingBoxes(3)])
    _check(alone, [np.random.default_rng(1).integers(0, 256, (2, 4, 4, 3)).astype("uint8")])


def test_image_layers_on_a_dict_at_inference():
    """Images converted, bounding boxes unchanged (Equalization and RandomHue pass the images at
    training=False, CLAHE and AutoContrast transform them)."""
    for layer in (L.Equalization(bounding_box_format="xyxy"), L.RandomHue(0.5, bounding_box_format="xyxy"),
                  L.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2), bounding_box_format="xyxy"),
                  L.AutoContrast(bounding_box_format="xyxy")):
        model, _ = _boxes_model(None, "int32")
        out = layer(model.output)
        model = tk.Model(model.input, out)
        session = _session(model)
        data = _boxes_data(2, 4, "int32")
        got = session.run(None, dict(zip(["boxes", "labels", "images"], _flat(data), strict=True)))
        for g, w in zip(got, _flat(model.predict(data, verbose=0)), strict=True):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)

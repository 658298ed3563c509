"""ONNX converters of the preprocessing layers a deployed model keeps: Rescaling, Normalization,
Resizing, CenterCrop, CategoryEncoding, Discretization, and the augmentation layers (the
identity at inference).

Resizing contracts each spatial axis with the same constant (n_in, n_out) interpolation matrix
Tapeflow applies (`keras.ops.image.resize_matrix`), as two MatMuls: every interpolation and
antialias setting exports exactly, for images whose height and width are known. Values are cast
to the layer's float dtype first, as the layers do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, converter, unsupported
from tapeflow.keras.saving.onnx_export.masks import _elem_type

# Augmentation layers that pass images through unchanged at inference (`training=False`); Equalization
# too, like Keras 3's (it equalizes only while training).
_INFERENCE_IDENTITY = (
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomBrightness", "RandomContrast",
    "RandomInvert", "RandomGrayscale", "Solarization", "RandomHue", "RandomSaturation", "RandomColorDegeneration",
    "RandomSharpness", "RandomPosterization", "RandomColorJitter", "RandomShear", "RandomPerspective",
    "RandomElasticTransform", "RandomErasing", "RandomGaussianBlur", "MixUp", "CutMix", "RandAugment", "AugMix",
    "RandomCrop", "Equalization",
)


def _one(inputs: list, layer: Any) -> str:
    if len(inputs) != 1:
        raise unsupported(layer, f"expected one input, received {len(inputs)}")
    return inputs[0]


def _float(b: GraphBuilder, layer: Any, x: str) -> str:
    """`x` cast to the layer's compute dtype (a no-op Cast when it already is)."""
    return b.op("Cast", [x], layer.name, to=_elem_type(getattr(layer, "compute_dtype", None) or layer.dtype))


def _np_float(layer: Any) -> Any:
    return np.dtype(getattr(layer, "_np_dtype", None) or "float32")


def on_images(fn: Any) -> Any:
    """An image converter that also takes an image layer's dict input: the converted images,
    the other entries (labels, bounding boxes, segmentation masks) unchanged, as at inference."""
    import functools

    @functools.wraps(fn)
    def convert(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
        from tapeflow import nest

        data = (kwargs.get("_args") or [None])[0]
        if isinstance(data, dict) and isinstance(data.get("images"), str):
            return nest.flatten({**data, "images": fn(b, layer, [data["images"]], {})})
        return fn(b, layer, inputs, kwargs)

    return convert


@converter(*_INFERENCE_IDENTITY)
@on_images
def augmentation(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Random augmentations are the identity at inference (the images cast to the layer's dtype)."""
    x = _one(inputs, layer)
    if type(layer).__name__ == "RandomCrop":
        shape = b.shapes.get(x, ())
        hw = shape[1:3] if layer.data_format == "channels_last" else shape[2:4]
        if tuple(hw) != (layer.height, layer.width):
            raise unsupported(layer, f"at inference it passes images of size {tuple(hw)} unchanged while its output "
                                     f"shape says ({layer.height}, {layer.width}) (Keras 3.15's behaviour); crop "
                                     "with CenterCrop for a deployed model")
    return _float(b, layer, x)


@converter("Rescaling")
def rescaling(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """`x * scale + offset` (per channel when they are lists)."""
    x, h, dtype = _float(b, layer, _one(inputs, layer)), layer.name, _np_float(layer)
    y = b.op("Mul", [x, b.const(np.asarray(layer.scale, dtype), h + "/scale", dtype=dtype)], h)
    return b.op("Add", [y, b.const(np.asarray(layer.offset, dtype), h + "/offset", dtype=dtype)], h)


@converter("Normalization")
def normalization(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """`(x - mean) / max(sqrt(variance), epsilon)` (or its inverse) with the layer's statistics."""
    from tapeflow.keras import backend as kbackend

    if not layer.built:
        raise unsupported(layer, "it is not built (call adapt() or the model first)")
    x, h, dtype = _float(b, layer, _one(inputs, layer)), layer.name, _np_float(layer)
    mean, variance = (np.asarray(t.numpy(), dtype) for t in layer._stats())
    denom = np.maximum(np.sqrt(variance), np.asarray(kbackend.epsilon(), dtype)).astype(dtype)
    mean_c, denom_c = b.const(mean, h + "/mean", dtype=dtype), b.const(denom, h + "/denominator", dtype=dtype)
    if layer.invert:
        return b.op("Add", [mean_c, b.op("Mul", [x, denom_c], h)], h)
    return b.op("Div", [b.op("Sub", [x, mean_c], h), denom_c], h)


def _image_axes(layer: Any) -> tuple[int, int]:
    return (1, 2) if layer.data_format == "channels_last" else (2, 3)


def _known_hw(b: GraphBuilder, layer: Any, x: str) -> tuple[int, int]:
    shape = b.shapes.get(x, ())
    if len(shape) != 4:
        raise unsupported(layer, f"it needs a batch of images (batch, height, width, channels); the input shape "
                                 f"is {shape}")
    h_ax, w_ax = _image_axes(layer)
    if shape[h_ax] is None or shape[w_ax] is None:
        raise unsupported(layer, f"it needs images of known height and width, the input shape is {shape}")
    return int(shape[h_ax]), int(shape[w_ax])


def _slice_hw(b: GraphBuilder, layer: Any, x: str, top: int, left: int, height: int, width: int) -> str:
    h = layer.name
    return b.op("Slice", [x, b.ints([top, left], h + "/starts"), b.ints([top + height, left + width], h + "/ends"),
                          b.ints(list(_image_axes(layer)), h + "/axes")], h)


def _resize(b: GraphBuilder, layer: Any, x: str, size_in: tuple, size_out: tuple, interpolation: str,
            antialias: bool) -> str:
    """Contract height and width with Tapeflow's interpolation matrices (channels-first MatMuls)."""
    from tapeflow.keras.ops.image import resize_matrix

    h, dtype = layer.name, _np_float(layer)
    mats = [np.asarray(resize_matrix(n_in, n_out, interpolation, antialias), np.float64)
            for n_in, n_out in zip(size_in, size_out, strict=True)]
    identity = [m.shape[0] == m.shape[1] and np.array_equal(m, np.eye(m.shape[0])) for m in mats]
    if all(identity):
        return x
    last = layer.data_format == "channels_last"
    y = b.op("Transpose", [x], h + "/to_nchw", perm=[0, 3, 1, 2]) if last else x
    if not identity[1]:  # (N, C, H, W_in) @ (W_in, W_out)
        y = b.op("MatMul", [y, b.const(mats[1].astype(dtype), h + "/width_weights", dtype=dtype)], h)
    if not identity[0]:  # (H_out, H_in) @ (N, C, H_in, W)
        y = b.op("MatMul", [b.const(mats[0].T.astype(dtype), h + "/height_weights", dtype=dtype), y], h)
    return b.op("Transpose", [y], h + "/to_nhwc", perm=[0, 2, 3, 1]) if last else y


@converter("Resizing")
def resizing(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Optional centered crop or padding to the target aspect ratio, then the interpolation."""
    from tapeflow.keras.ops.image import aspect_window

    x = _float(b, layer, _one(inputs, layer))
    in_h, in_w = _known_hw(b, layer, _one(inputs, layer))
    target = (layer.height, layer.width)
    window = aspect_window(in_h, in_w, *target, layer.crop_to_aspect_ratio, layer.pad_to_aspect_ratio)
    if layer.crop_to_aspect_ratio:
        top, left, in_h, in_w = window
        x = _slice_hw(b, layer, x, top, left, in_h, in_w)
    elif layer.pad_to_aspect_ratio and (window[0] > 0 or window[1] > 0):
        if layer.fill_mode != "constant":
            raise unsupported(layer, f"fill_mode={layer.fill_mode!r}")
        top, left = window[:2]
        pads = [0, 0, 0, 0] * 2
        h_ax, w_ax = _image_axes(layer)
        pads[h_ax], pads[w_ax], pads[4 + h_ax], pads[4 + w_ax] = top, left, top, left
        dtype = _np_float(layer)
        x = b.op("Pad", [x, b.ints(pads, layer.name + "/pads"),
                         b.const(np.asarray(layer.fill_value, dtype), layer.name + "/fill", dtype=dtype)],
                 layer.name, mode="constant")
        in_h, in_w = in_h + 2 * top, in_w + 2 * left
    return _resize(b, layer, x, (in_h, in_w), target, layer.interpolation, bool(layer.antialias))


@converter("CenterCrop")
def center_crop(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """The central window; smaller images are cropped to the aspect ratio and resized (bilinear)."""
    from tapeflow.keras.ops.image import aspect_window

    x = _float(b, layer, _one(inputs, layer))
    in_h, in_w = _known_hw(b, layer, _one(inputs, layer))
    if in_h >= layer.height and in_w >= layer.width:
        return _slice_hw(b, layer, x, (in_h - layer.height) // 2, (in_w - layer.width) // 2, layer.height,
                         layer.width)
    top, left, ch, cw = aspect_window(in_h, in_w, layer.height, layer.width, True, False)
    x = _slice_hw(b, layer, x, top, left, ch, cw)
    return _resize(b, layer, x, (ch, cw), (layer.height, layer.width), "bilinear", False)


def _encode(b: GraphBuilder, layer: Any, indices: str, shape: tuple, mode: str, depth: int, dtype: Any) -> str:
    """`encode_categorical` for int64 `indices` of Keras shape `shape` (out-of-range indices give zeros)."""
    h = layer.name
    depth_c = b.const(np.asarray([depth], np.int64), h + "/depth")
    outside = b.op("Or", [b.op("Less", [indices, b.const(np.int64(0), h + "/zero")], h),
                          b.op("GreaterOrEqual", [indices, b.const(np.int64(depth), h + "/depth_scalar")], h)], h)
    # NOTE: ONNX OneHot counts negative indices from the end; Keras encodes them as zeros.
    indices = b.op("Where", [outside, b.const(np.int64(depth), h + "/none"), indices], h)
    dtype = np.dtype(dtype)
    values = b.const(np.asarray([0, 1], dtype), h + "/off_on", dtype=dtype)
    if mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            indices = b.op("Squeeze", [indices, b.ints([-1], h + "/last")], h)
        return b.op("OneHot", [indices, depth_c, values], h, axis=-1)
    hot = b.op("OneHot", [indices, depth_c, values], h, axis=-1)
    return b.reduce("ReduceMax" if mode == "multi_hot" else "ReduceSum", hot, [-2], h)


@converter("CategoryEncoding")
def category_encoding(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """One-hot, multi-hot or count rows of integer features (OneHot, then a reduction)."""
    if kwargs.get("count_weights") is not None:
        raise unsupported(layer, "count_weights are not exported")
    x = _one(inputs, layer)
    shape = b.shapes.get(x, ())
    indices = b.op("Cast", [x], layer.name, to=7)
    return _encode(b, layer, indices, shape, layer.output_mode, layer.num_tokens, _np_float(layer))


@converter("Discretization")
def discretization(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """The bucket of each value (how many boundaries it reaches), then the layer's encoding."""
    if layer.bin_boundaries is None:
        raise unsupported(layer, "it has no bin boundaries (call adapt() first)")
    x, h = _one(inputs, layer), layer.name
    shape = b.shapes.get(x, ())
    values = b.op("Unsqueeze", [b.op("Cast", [x], h, to=1), b.ints([-1], h + "/last")], h)
    bounds = b.const(np.asarray(layer.bin_boundaries, np.float32), h + "/boundaries", dtype=np.float32)
    reached = b.op("Cast", [b.op("GreaterOrEqual", [values, bounds], h)], h, to=7)
    indices = b.reduce("ReduceSum", reached, [-1], h)
    if layer.output_mode == "int":
        return b.op("Cast", [indices], h, to=_elem_type(layer.output_dtype))
    return _encode(b, layer, indices, shape, layer.output_mode, len(layer.bin_boundaries) + 1,
                   np.dtype(layer.output_dtype))


@converter("AutoContrast")
@on_images
def auto_contrast(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Stretch each image's channels over the value range (reductions over axes 1 and 2, as
    Keras; a constant channel, whose stretch is NaN, keeps the input values)."""
    x, h, dtype = _float(b, layer, _one(inputs, layer)), layer.name, _np_float(layer)
    if len(b.shapes.get(_one(inputs, layer), ())) != 4:
        raise unsupported(layer, "it needs a batch of images (batch, height, width, channels); the input shape is "
                                 f"{b.shapes.get(_one(inputs, layer), ())}")

    def scalar(v: float, hint: str) -> str:
        return b.const(np.asarray(v, dtype), f"{h}/{hint}", dtype=dtype)

    def to_range(v: str, source: Any, target: Any) -> str:
        lo, hi = float(source[0]), float(source[1])
        if lo == float(target[0]) and hi == float(target[1]):
            return v
        v = b.op("Div", [b.op("Sub", [v, scalar(lo, "low")], h), scalar(hi - lo, "width")], h)
        return b.op("Add", [b.op("Mul", [v, scalar(float(target[1]) - float(target[0]), "target_width")], h),
                            scalar(float(target[0]), "target_low")], h)

    y = to_range(x, layer.value_range, (0, 255))
    low, high = (b.reduce(op, y, [1, 2], h, keepdims=True) for op in ("ReduceMin", "ReduceMax"))
    scale = b.op("Div", [scalar(255.0, "full"), b.op("Sub", [high, low], h)], h)
    y = b.op("Sub", [b.op("Mul", [y, scale], h), b.op("Mul", [low, scale], h)], h)
    nan = b.op("IsNaN", [y], h)  # before the Clip, which may not keep NaN
    y = b.op("Clip", [y, scalar(0.0, "zero"), scalar(255.0, "top")], h)
    return b.op("Where", [nan, x, to_range(y, (0, 255), layer.value_range)], h)

"""ONNX converters of the padding, cropping and upsampling layers (1D-3D) and PReLU."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, converter, unsupported


def _one(inputs: list, layer: Any) -> str:
    if len(inputs) != 1:
        raise unsupported(layer, f"expected one input, received {len(inputs)}")
    return inputs[0]


def _pairs(layer: Any, value: Any) -> list[tuple[int, int]]:
    """Per spatial axis (before, after), from Keras's padding/cropping forms."""
    if isinstance(value, int):
        return [(value, value)]
    if value and isinstance(value[0], int):
        return [(int(value[0]), int(value[1]))]
    return [(int(a), int(b)) for a, b in value]


def _spatial_axes(layer: Any, rank: int, count: int) -> list[int]:
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return list(range(2, 2 + count))
    return list(range(1, 1 + count))


@converter("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def zero_padding(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    x = _one(inputs, layer)
    rank = len(b.shapes[x])
    pairs = _pairs(layer, layer.padding)
    begin, end = [0] * rank, [0] * rank
    for ax, (p0, p1) in zip(_spatial_axes(layer, rank, len(pairs)), pairs, strict=True):
        begin[ax], end[ax] = p0, p1
    return b.op("Pad", [x, b.ints(begin + end, layer.name + "/pads")], layer.name, mode="constant")


@converter("Cropping1D", "Cropping2D", "Cropping3D")
def cropping(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    x = _one(inputs, layer)
    pairs = _pairs(layer, layer.cropping)
    axes = _spatial_axes(layer, len(b.shapes[x]), len(pairs))
    starts = [c0 for c0, _ in pairs]
    ends = [-c1 if c1 else np.iinfo(np.int64).max for _, c1 in pairs]
    return b.op("Slice", [x, b.ints(starts, layer.name + "/starts"), b.ints(ends, layer.name + "/ends"),
                          b.ints(axes, layer.name + "/axes")], layer.name)


@converter("UpSampling1D", "UpSampling2D", "UpSampling3D")
def upsampling(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Nearest: every pixel repeated `size` times (ONNX Resize, asymmetric/floor); bilinear:
    TensorFlow's half-pixel resize."""
    x = _one(inputs, layer)
    rank = len(b.shapes[x])
    size = [int(layer.size)] if isinstance(layer.size, int) else [int(s) for s in layer.size]
    scales = [1.0] * rank
    for ax, s in zip(_spatial_axes(layer, rank, len(size)), size, strict=True):
        scales[ax] = float(s)
    mode = getattr(layer, "interpolation", "nearest")
    attrs = ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
             if mode == "nearest" else {"mode": "linear", "coordinate_transformation_mode": "half_pixel"})
    if mode not in ("nearest", "bilinear"):
        raise unsupported(layer, f"interpolation {mode!r}")
    scales_name = b.const(np.asarray(scales, np.float32), layer.name + "/scales")
    return b.op("Resize", [x, "", scales_name], layer.name, **attrs)


@converter("PReLU")
def prelu(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    return b.op("PRelu", [_one(inputs, layer), b.const(layer.alpha, layer.name + "/alpha")], layer.name)

"""ONNX converters of the image layers that compute at inference beyond a cast: CLAHE
(ContrastLimitedAdaptiveHistogramEqualization) and MaxNumBoundingBoxes. (Equalization, like the
random augmentations, passes images through at inference: see `preprocessing`.)

CLAHE is Tapeflow's algorithm step for step, in float32: the symmetric padding to whole tiles
is a Gather of constant indices, the tiles a Reshape/Transpose, each tile's 256-bin histogram a
ScatterElements with reduction="add" (counts, exact), the clipped excess is summed in float64
(exact for these values, so independent of the summation order; Tapeflow does the same), the
CDF a CumSum, and the bilinear blend of the four nearest tiles' mappings reads them with
GatherElements at the tiles' offsets (small broadcast constants) plus the pixel's value. Images
need a known height, width and channel count (the tile grid is a constant); the batch is dynamic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, converter, unsupported
from tapeflow.keras.saving.onnx_export.masks import _elem_type
from tapeflow.keras.saving.onnx_export.preprocessing import _float, _np_float, _one, on_images

_FLOAT32, _INT32, _INT64, _DOUBLE = 1, 6, 7, 11


def to_range(b: GraphBuilder, h: str, v: str, source: Any, target: Any, dtype: Any) -> str:
    """`augmentation_base.to_range` in `dtype`: (v - lo) / (hi - lo) * (t1 - t0) + t0."""
    lo, hi = float(source[0]), float(source[1])
    if lo == float(target[0]) and hi == float(target[1]):
        return v

    def scalar(value: float, hint: str) -> str:
        return b.const(np.asarray(value, dtype), f"{h}/{hint}", dtype=dtype)

    v = b.op("Div", [b.op("Sub", [v, scalar(lo, "low")], h), scalar(hi - lo, "width")], h)
    return b.op("Add", [b.op("Mul", [v, scalar(float(target[1]) - float(target[0]), "target_width")], h),
                        scalar(float(target[0]), "target_low")], h)


def _image_shape(b: GraphBuilder, layer: Any, x: str) -> tuple[int, int, int]:
    """(height, width, channels) of a batch of images, all known."""
    shape = tuple(b.shapes.get(x, ()))
    if len(shape) != 4:
        raise unsupported(layer, f"it needs a batch of images (batch, height, width, channels); the input shape is "
                                 f"{shape}")
    hwc = shape[1:] if layer.data_format == "channels_last" else (shape[2], shape[3], shape[1])
    if None in hwc:
        raise unsupported(layer, f"its tile grid needs images of known height, width and channels; the input shape "
                                 f"is {shape}")
    return int(hwc[0]), int(hwc[1]), int(hwc[2])


def _histograms(b: GraphBuilder, h: str, tiles: str) -> str:
    """(n, gh, gw, c, k) int32 values in [0, 255] -> (n, gh, gw, c, 256) float32 counts."""
    from onnx import helper

    shape = b.op("Shape", [tiles], h)
    hist_shape = b.op("Concat", [b.op("Slice", [shape, b.ints([0], h + "/start"), b.ints([4], h + "/end")], h),
                                 b.ints([256], h + "/bins")], h, axis=0)
    zeros = b.op("ConstantOfShape", [hist_shape], h, value=helper.make_tensor(h + "/zero", _FLOAT32, [1], [0.0]))
    ones = b.op("ConstantOfShape", [shape], h, value=helper.make_tensor(h + "/one", _FLOAT32, [1], [1.0]))
    return b.op("ScatterElements", [zeros, tiles, ones], h, axis=4, reduction="add")


def _mappings(b: GraphBuilder, layer: Any, h: str, hists: str, tile_size: int) -> str:
    """Clipped, redistributed histograms -> each tile's value mapping (its scaled CDF), float32."""
    scalar = lambda value, hint: b.const(np.float32(value), f"{h}/{hint}", dtype=np.float32)  # noqa: E731
    if layer.clip_limit > 0:
        limit = scalar(np.float32(layer.clip_limit * tile_size / 256.0), "clip_limit")
        clipped = b.op("Clip", [hists, scalar(0.0, "zero"), limit], h)
        excess = b.op("Cast", [b.op("Sub", [hists, clipped], h)], h, to=_DOUBLE)
        excess = b.op("Cast", [b.reduce("ReduceSum", excess, [4], h, keepdims=True)], h, to=_FLOAT32)
        hists = b.op("Add", [clipped, b.op("Div", [excess, scalar(256.0, "bins")], h)], h)
    cdf = b.op("CumSum", [hists, b.const(np.int64(4), h + "/bin_axis")], h)
    cdf_min = b.reduce("ReduceMin", cdf, [4], h, keepdims=True)
    denominator = b.op("Sub", [scalar(tile_size, "tile_size"), cdf_min], h)
    zero = b.op("Equal", [denominator, scalar(0.0, "zero")], h)
    denominator = b.op("Where", [zero, scalar(1.0, "one"), denominator], h)
    cdf = b.op("Div", [b.op("Mul", [b.op("Sub", [cdf, cdf_min], h), scalar(255.0, "top")], h), denominator], h)
    return b.op("Clip", [cdf, scalar(0.0, "zero"), scalar(255.0, "top")], h)


def _grid(size: int, tile: int, count: int) -> tuple:
    """As Tapeflow's CLAHE: the two tile rows (or columns) each pixel blends, and its weight."""
    g = (np.arange(size, dtype=np.float32) - tile / 2.0) / tile + 1.0
    lo = np.floor(g)
    return (np.clip(lo, 0, count + 1).astype(np.int64), np.clip(lo + 1, 0, count + 1).astype(np.int64),
            (g - lo).astype(np.float32))


@converter("ContrastLimitedAdaptiveHistogramEqualization")
@on_images
def clahe(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """CLAHE as Tapeflow computes it (see the module docstring); exact up to float32 rounding
    of the same operations in the same order."""
    x_in, h, dtype = _one(inputs, layer), layer.name, _np_float(layer)
    height, width, c = _image_shape(b, layer, x_in)
    x = _float(b, layer, x_in)
    first = layer.data_format != "channels_last"
    if first:
        x = b.op("Transpose", [x], h + "/to_nhwc", perm=[0, 2, 3, 1])
    v = to_range(b, h, x, layer.value_range, (0, 255), dtype)
    v = b.op("Cast", [v], h, to=_FLOAT32)
    gh, gw = (int(g) for g in layer.tile_grid_size)
    th, tw = -(-height // gh), -(-width // gw)
    padded = v
    if th * gh > height:  # NOTE: numpy's "symmetric" padding (edge repeated), as constant indices
        rows = np.pad(np.arange(height), (0, th * gh - height), mode="symmetric")
        padded = b.op("Gather", [padded, b.ints(rows, h + "/rows")], h, axis=1)
    if tw * gw > width:
        cols = np.pad(np.arange(width), (0, tw * gw - width), mode="symmetric")
        padded = b.op("Gather", [padded, b.ints(cols, h + "/cols")], h, axis=2)
    tiles = b.op("Reshape", [padded, b.ints([-1, gh, th, gw, tw, c], h + "/tile_shape")], h)
    tiles = b.op("Transpose", [tiles], h, perm=[0, 1, 3, 5, 2, 4])
    tiles = b.op("Reshape", [tiles, b.ints([-1, gh, gw, c, th * tw], h + "/tiles")], h)
    # NOTE: as numpy's astype(int32) then clip: out-of-range values truncate the same way.
    tiles = b.op("Clip", [b.op("Cast", [tiles], h, to=_INT32), b.const(np.int32(0), h + "/lowest", dtype=np.int32),
                          b.const(np.int32(255), h + "/highest", dtype=np.int32)], h)
    cdf = _mappings(b, layer, h, _histograms(b, h, tiles), th * tw)
    cdf = b.op("Pad", [cdf, b.ints([0, 1, 1, 0, 0, 0, 1, 1, 0, 0], h + "/edge")], h, mode="edge")
    cdf = b.op("Reshape", [cdf, b.ints([-1, (gh + 2) * (gw + 2) * c * 256], h + "/flat_cdf")], h)
    # Only the unpadded pixels are read (Tapeflow crops them after the blend).
    pixel = b.op("Cast", [b.op("Clip", [v, b.const(np.float32(0), h + "/zero", dtype=np.float32),
                                        b.const(np.float32(255), h + "/top", dtype=np.float32)], h)], h, to=_INT64)
    y0, y1, wy = (a[:height] for a in _grid(th * gh, th, gh))
    x0, x1, wx = (a[:width] for a in _grid(tw * gw, tw, gw))
    # The flat index of (tile row y, tile column x, channel, value) in the padded mappings is a
    # sum of small broadcast constants: ((y * (gw + 2) + x) * c + channel) * 256 + value.
    pixel = b.op("Add", [pixel, b.const((np.arange(c) * 256).reshape(1, 1, 1, c), h + "/channel_offsets",
                                        dtype=np.int64)], h)
    out_shape = b.ints([-1, height, width, c], h + "/image_shape")

    def read(ys: Any, xs: Any) -> str:
        rows = b.const((ys * (gw + 2) * c * 256).reshape(1, -1, 1, 1), h + "/row_offsets", dtype=np.int64)
        cols = b.const((xs * c * 256).reshape(1, 1, -1, 1), h + "/column_offsets", dtype=np.int64)
        index = b.op("Add", [b.op("Add", [pixel, rows], h), cols], h)
        index = b.op("Reshape", [index, b.ints([-1, height * width * c], h + "/flat_index")], h)
        return b.op("Reshape", [b.op("GatherElements", [cdf, index], h, axis=1), out_shape], h)

    def weight(a: Any, shape: tuple, hint: str) -> str:
        return b.const(a.reshape(shape).astype(np.float32), f"{h}/{hint}", dtype=np.float32)

    wx_c, wx_1 = weight(wx, (1, 1, -1, 1), "wx"), weight(1 - wx, (1, 1, -1, 1), "one_minus_wx")
    wy_c, wy_1 = weight(wy, (1, -1, 1, 1), "wy"), weight(1 - wy, (1, -1, 1, 1), "one_minus_wy")

    def blend(a: str, b_: str, w1: str, w: str) -> str:
        return b.op("Add", [b.op("Mul", [a, w1], h), b.op("Mul", [b_, w], h)], h)

    top = blend(read(y0, x0), read(y0, x1), wx_1, wx_c)
    bottom = blend(read(y1, x0), read(y1, x1), wx_1, wx_c)
    out = b.op("Cast", [blend(top, bottom, wy_1, wy_c)], h, to=_elem_type(dtype))
    out = to_range(b, h, out, (0, 255), layer.value_range, dtype)
    return b.op("Transpose", [out], h + "/to_nchw", perm=[0, 3, 1, 2]) if first else out




def _max_number(b: GraphBuilder, layer: Any, v: str) -> str:
    """`v` (batch, boxes, ...) truncated or padded with `fill_value` along axis 1 to `max_number`."""
    h, shape = layer.name, tuple(b.shapes.get(v, ()))
    if len(shape) < 2:
        raise unsupported(layer, f"bounding boxes and labels need shape (batch, boxes, ...), received {shape}")
    if v not in b.dtypes:
        raise unsupported(layer, f"the dtype of its input {v!r} is unknown")
    fill = np.asarray(layer.fill_value).astype(b.dtypes[v])  # as tf.pad's constant_values
    v = b.op("Slice", [v, b.ints([0], h + "/start"), b.ints([layer.max_number], h + "/max_number"),
                       b.ints([1], h + "/box_axis")], h)
    rest = [0] * (len(shape) - 2)
    if shape[1] is not None:
        missing = b.ints([max(layer.max_number - int(shape[1]), 0)], h + "/missing")
    else:
        count = b.op("Gather", [b.op("Shape", [v], h), b.ints([1], h + "/box_axis")], h, axis=0)
        missing = b.op("Max", [b.op("Sub", [b.ints([layer.max_number], h + "/max_number"), count], h),
                               b.ints([0], h + "/zero")], h)
    pads = b.op("Concat", [b.ints([0, 0] + rest + [0], h + "/pads_begin"), missing, b.ints(rest, h + "/pads_end")],
                h, axis=0)
    return b.op("Pad", [v, pads, b.const(fill, h + "/fill", dtype=fill.dtype)], h, mode="constant")


@converter("MaxNumBoundingBoxes")
def max_num_bounding_boxes(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> list:
    """Images (cast to the layer's dtype) and bounding boxes with exactly `max_number` boxes.

    Called on a dict `{"images": ..., "bounding_boxes": {"boxes": ..., "labels": ...}}` (other
    keys pass through), the ONNX graph has no dicts: it takes one input per `keras.Input` of the
    model, named as those inputs (name them "images", "boxes", "labels"), and gives the model's
    outputs flattened in Keras's order, `output_0`, `output_1`, ...; for a model that returns the
    layer's dict, dict keys sorted: output_0 the boxes (batch, max_number, 4), output_1 the labels
    (batch, max_number), output_2 the images. The number of input boxes may be unknown (None).
    """
    from tapeflow import nest

    data = (kwargs.get("_args") or [None])[0]
    if not isinstance(data, dict):
        return _float(b, layer, _one(inputs, layer))
    if not isinstance(data.get("images"), str):
        raise unsupported(layer, f"its dict input needs an 'images' tensor, received keys {sorted(data)}")
    if len(b.shapes.get(data["images"], ())) != 4:
        raise unsupported(layer, f"it needs a batch of images, received shape {b.shapes.get(data['images'])}")
    out = dict(data)
    out["images"] = _float(b, layer, data["images"])
    if "bounding_boxes" in data:
        boxes = dict(data["bounding_boxes"])
        for key in ("boxes", "labels"):
            boxes[key] = _max_number(b, layer, boxes[key])
        out["bounding_boxes"] = boxes
    return nest.flatten(out)


__all__ = ["clahe", "max_num_bounding_boxes", "to_range"]

"""ONNX converters of convolutions and pooling.

ONNX convolutions and pools work on channels-first data, Keras layers default to channels-last:
a channels-last layer becomes Transpose -> op -> Transpose (onnxruntime folds adjacent pairs).
Keras kernels are `(*kernel_size, in, out)`; ONNX weights are `(out, in / groups, *kernel_size)`.
TensorFlow's "same" padding puts the odd pixel at the end, which is ONNX's SAME_UPPER.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.activations import activation_name, apply_activation
from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, converter, unsupported


def _channels_last(layer: Any) -> bool:
    return getattr(layer, "data_format", "channels_last") != "channels_first"


def _to_nc(b: GraphBuilder, x: str, rank: int, layer: Any) -> str:
    if not _channels_last(layer):
        return x
    return b.op("Transpose", [x], layer.name + "/to_nc", perm=[0, rank + 1, *range(1, rank + 1)])


def _from_nc(b: GraphBuilder, x: str, rank: int, layer: Any) -> str:
    if not _channels_last(layer):
        return x
    return b.op("Transpose", [x], layer.name + "/to_nhwc", perm=[0, *range(2, rank + 2), 1])


def _one(inputs: list, layer: Any) -> str:
    if len(inputs) != 1:
        raise unsupported(layer, f"expected one input, received {len(inputs)}")
    return inputs[0]


def _pads(layer: Any, rank: int, kernel: tuple) -> dict:
    """ONNX padding attributes of a forward convolution or pool."""
    if layer.padding == "valid":
        return {"pads": [0] * (2 * rank)}
    if layer.padding == "same":
        dilation = tuple(getattr(layer, "dilation_rate", None) or (1,) * rank)
        if all(d == 1 for d in dilation):
            return {"auto_pad": "SAME_UPPER"}
        # NOTE: onnxruntime has no SAME padding with dilation; TF allows dilation only with stride 1,
        # where "same" pads (k - 1) * d in total, the odd one at the end.
        totals = [(k - 1) * d for k, d in zip(kernel, dilation, strict=True)]
        return {"pads": [t // 2 for t in totals] + [t - t // 2 for t in totals]}
    if layer.padding == "causal":
        dilation = getattr(layer, "dilation_rate", (1,) * rank)
        return {"pads": [(kernel[0] - 1) * dilation[0], 0]}
    raise unsupported(layer, f"padding {layer.padding!r}")


def _bias_activation(b: GraphBuilder, layer: Any, y: str, rank: int) -> str:
    y = _from_nc(b, y, rank, layer)
    if getattr(layer, "bias", None) is not None:
        bias = np.asarray(layer.bias.numpy())
        if not _channels_last(layer):
            bias = bias.reshape((-1,) + (1,) * rank)
        y = b.op("Add", [y, b.const(bias, layer.name + "/bias")], layer.name)
    return apply_activation(b, activation_name(getattr(layer, "activation", None)), y, layer.name, layer)


def _weights(kernel: Any) -> np.ndarray:
    k = np.asarray(kernel.numpy())
    rank = k.ndim - 2
    return np.ascontiguousarray(k.transpose(rank + 1, rank, *range(rank)))


@converter("Conv1D", "Conv2D", "Conv3D")
def conv(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    rank = len(layer.kernel_size)
    x = _to_nc(b, _one(inputs, layer), rank, layer)
    y = b.op("Conv", [x, b.const(_weights(layer.kernel), layer.name + "/kernel")], layer.name,
             kernel_shape=list(layer.kernel_size), strides=list(layer.strides), dilations=list(layer.dilation_rate),
             group=int(getattr(layer, "groups", 1)), **_pads(layer, rank, layer.kernel_size))
    return _bias_activation(b, layer, y, rank)


@converter("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def conv_transpose(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    rank = len(layer.kernel_size)
    if layer.output_padding is not None and any(layer.output_padding):
        raise unsupported(layer, "output_padding is not exported")
    pads_begin, pads_end, extra = [], [], []
    for k, s, d in zip(layer.kernel_size, layer.strides, layer.dilation_rate, strict=True):
        span = (k - 1) * d + 1
        crop = max(span - s, 0) if layer.padding == "same" else 0
        pads_begin.append(crop // 2)
        pads_end.append(crop - crop // 2)
        extra.append(max(s - span, 0))
    k = np.asarray(layer.kernel.numpy())  # (*kernel, out, in) -> (in, out, *kernel)
    w = np.ascontiguousarray(k.transpose(rank + 1, rank, *range(rank)))
    x = _to_nc(b, _one(inputs, layer), rank, layer)
    y = b.op("ConvTranspose", [x, b.const(w, layer.name + "/kernel")], layer.name, kernel_shape=list(layer.kernel_size),
             strides=list(layer.strides), dilations=list(layer.dilation_rate), pads=pads_begin + pads_end,
             output_padding=extra)
    return _bias_activation(b, layer, y, rank)


def _depthwise_weights(kernel: Any) -> np.ndarray:
    """Keras `(*kernel, in, multiplier)` -> ONNX `(in * multiplier, 1, *kernel)` (channel-major)."""
    k = np.asarray(kernel.numpy())
    rank = k.ndim - 2
    k = k.reshape(*k.shape[:rank], -1)
    return np.ascontiguousarray(k.transpose(rank, *range(rank))[:, None])


def _depthwise(b: GraphBuilder, layer: Any, x: str, kernel: Any, hint: str) -> str:
    rank = len(layer.kernel_size)
    w = _depthwise_weights(kernel)
    return b.op("Conv", [x, b.const(w, hint)], layer.name, kernel_shape=list(layer.kernel_size),
                strides=list(layer.strides), dilations=list(layer.dilation_rate),
                group=int(np.asarray(kernel.shape)[rank]), **_pads(layer, rank, layer.kernel_size))


@converter("DepthwiseConv1D", "DepthwiseConv2D")
def depthwise(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    rank = len(layer.kernel_size)
    kernel = getattr(layer, "depthwise_kernel", None)
    kernel = layer.kernel if kernel is None else kernel
    y = _depthwise(b, layer, _to_nc(b, _one(inputs, layer), rank, layer), kernel, layer.name + "/depthwise_kernel")
    return _bias_activation(b, layer, y, rank)


@converter("SeparableConv1D", "SeparableConv2D")
def separable(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    rank = len(layer.kernel_size)
    y = _depthwise(b, layer, _to_nc(b, _one(inputs, layer), rank, layer), layer.depthwise_kernel,
                   layer.name + "/depthwise_kernel")
    y = b.op("Conv", [y, b.const(_weights(layer.pointwise_kernel), layer.name + "/pointwise_kernel")], layer.name,
             kernel_shape=[1] * rank)
    return _bias_activation(b, layer, y, rank)


@converter("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
           "AveragePooling3D")
def pooling(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    rank = len(layer.pool_size)
    op = "MaxPool" if type(layer).__name__.startswith("Max") else "AveragePool"
    x = _to_nc(b, _one(inputs, layer), rank, layer)
    y = b.op(op, [x], layer.name, kernel_shape=list(layer.pool_size), strides=list(layer.strides),
             **_pads(layer, rank, layer.pool_size))
    return _from_nc(b, y, rank, layer)


@converter("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "GlobalAveragePooling3D", masks=True)
def global_pooling(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Mean or max over the spatial axes; GlobalAveragePooling1D with a Keras mask averages over
    the kept steps (the max pools take every step, as in Keras 3)."""
    x, h = _one(inputs, layer), layer.name
    rank = int(type(layer).__name__[-2])
    axes = list(range(1, rank + 1)) if _channels_last(layer) else list(range(2, rank + 2))
    is_max, keep = "Max" in type(layer).__name__, bool(layer.keepdims)
    mask = kwargs.get("mask")
    if mask is None or rank != 1 or is_max:
        return b.reduce("ReduceMax" if is_max else "ReduceMean", x, axes, h, keepdims=keep)
    mask = b.op("Unsqueeze", [mask, b.ints([2 if _channels_last(layer) else 1], h + "/feature_axis")], h)
    weights = b.op("Cast", [mask], h, to=1)
    total = b.reduce("ReduceSum", b.op("Mul", [x, weights], h), axes, h, keepdims=keep)
    return b.op("Div", [total, b.reduce("ReduceSum", weights, axes, h, keepdims=keep)], h)


@converter("AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
           "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D")
def adaptive_pooling(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Pooling to `output_size`, one spatial axis after the other (a mean or max over a box is
    the mean or max over its axes in turn): window i of an axis of n pooled to m is
    [floor(i n / m), ceil((i + 1) n / m)), a Slice and a reduction each, concatenated."""
    x, h = _one(inputs, layer), layer.name
    shape = b.shapes.get(x, ())
    rank = len(layer.output_size)
    axes = list(range(1, rank + 1)) if _channels_last(layer) else list(range(2, rank + 2))
    if len(shape) != rank + 2 or any(shape[a] is None for a in axes):
        raise unsupported(layer, f"it needs known spatial sizes, the input shape is {shape}")
    reduce = "ReduceMax" if layer.kind == "max" else "ReduceMean"
    for axis, m in zip(axes, layer.output_size, strict=True):
        n = int(shape[axis])
        windows = [(i * n // m, -(-(i + 1) * n // m)) for i in range(m)]
        parts = [b.reduce(reduce, b.op("Slice", [x, b.ints([s], h + "/start"), b.ints([e], h + "/end"),
                                                 b.ints([axis], h + "/axis")], h), [axis], h, keepdims=True)
                 for s, e in windows]
        x = parts[0] if len(parts) == 1 else b.op("Concat", parts, h, axis=axis)
    return x

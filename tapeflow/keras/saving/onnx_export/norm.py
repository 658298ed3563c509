"""ONNX converters of the normalization layers: BatchNormalization (inference: a per-channel scale
and shift, with Keras's epsilon), LayerNormalization (ONNX's `LayerNormalization` over trailing
axes; other axes and `rms_scaling` written out), GroupNormalization (written out on the grouped
view: opset 17 has no GroupNormalization op, and opset 18's normalizes differently from Keras),
UnitNormalization and RMSNormalization."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, converter, unsupported


def _one(inputs: list, layer: Any) -> str:
    if len(inputs) != 1:
        raise unsupported(layer, f"expected one input, received {len(inputs)}")
    return inputs[0]


def _array(v: Any, size: int, fill: float) -> np.ndarray:
    return np.full(size, fill, np.float64) if v is None else np.asarray(v.numpy(), np.float64)


@converter("BatchNormalization", masks=True)
def batch_norm(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """y = x * scale + shift with scale = gamma / sqrt(moving_variance + epsilon)."""
    x = _one(inputs, layer)
    mean = np.asarray(layer.moving_mean.numpy(), np.float64)
    var = np.asarray(layer.moving_variance.numpy(), np.float64)
    n = mean.shape[0]
    scale = _array(layer.gamma, n, 1.0) / np.sqrt(var + layer.epsilon)
    shift = _array(layer.beta, n, 0.0) - mean * scale
    rank = len(b.shapes[x])
    axis = layer.axis % rank
    if axis != rank - 1:
        shape = [1] * (rank - 1)
        shape[axis - 1] = n
        scale, shift = scale.reshape(shape), shift.reshape(shape)
    y = b.op("Mul", [x, b.const(scale.astype(np.float32), layer.name + "/scale")], layer.name)
    return b.op("Add", [y, b.const(shift.astype(np.float32), layer.name + "/shift")], layer.name)


def _inv_std(b: GraphBuilder, centered: str, axes: list, epsilon: float, hint: str) -> str:
    """1 / sqrt(mean(centered^2 over axes) + epsilon), axes kept."""
    var = b.reduce("ReduceMean", b.op("Mul", [centered, centered], hint), axes, hint, keepdims=True)
    std = b.op("Sqrt", [b.op("Add", [var, b.const(np.float32(epsilon), hint + "/epsilon")], hint)], hint)
    return b.op("Reciprocal", [std], hint)


def _param(b: GraphBuilder, v: Any, shape: tuple, hint: str) -> str | None:
    return None if v is None else b.const(np.asarray(v.numpy(), np.float32).reshape(shape), hint)


@converter("LayerNormalization", masks=True)
def layer_norm(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    x, h = _one(inputs, layer), layer.name
    shape = b.shapes[x]
    rank = len(shape)
    axes = sorted(a % rank for a in (layer.axis if isinstance(layer.axis, list) else [layer.axis]))
    if 0 in axes:
        raise unsupported(layer, "normalising over the batch axis")
    if axes == list(range(axes[0], rank)) and not getattr(layer, "rms_scaling", False):
        dims = [int(d) for d in shape[axes[0]:]]
        size = int(np.prod(dims))
        gamma = _array(layer.gamma, size, 1.0).reshape(dims).astype(np.float32)
        beta = _array(layer.beta, size, 0.0).reshape(dims).astype(np.float32)
        return b.op("LayerNormalization", [x, b.const(gamma, h + "/gamma"), b.const(beta, h + "/beta")],
                    h, axis=axes[0], epsilon=float(layer.epsilon))
    pshape = tuple(int(shape[i]) if i in axes else 1 for i in range(rank))
    mean = b.reduce("ReduceMean", x, axes, h, keepdims=True)
    centered = b.op("Sub", [x, mean], h)
    inv = _inv_std(b, centered, axes, layer.epsilon, h)
    gamma, beta = _param(b, layer.gamma, pshape, h + "/gamma"), _param(b, layer.beta, pshape, h + "/beta")
    y = b.op("Mul", [x if layer.rms_scaling else centered, inv], h)
    if gamma is not None:
        y = b.op("Mul", [y, gamma], h)
    return y if beta is None or layer.rms_scaling else b.op("Add", [y, beta], h)


@converter("GroupNormalization", masks=True)
def group_norm(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Statistics per sample and group over (spatial..., channels in the group)."""
    x, h = _one(inputs, layer), layer.name
    shape = b.shapes[x]
    rank, axis, groups = len(shape), layer.axis % len(shape), int(layer.groups)
    if any(d is None for d in shape[1:]):
        raise unsupported(layer, f"it needs known sizes past the batch axis, the input shape is {shape}")
    channels = int(shape[axis])
    grouped = [0, *[int(d) for d in shape[1:axis]], groups, channels // groups, *[int(d) for d in shape[axis + 1:]]]
    xg = b.op("Reshape", [x, b.ints(grouped, h + "/grouped")], h)
    axes = [i for i in range(1, rank + 1) if i != axis]
    centered = b.op("Sub", [xg, b.reduce("ReduceMean", xg, axes, h, keepdims=True)], h)
    y = b.op("Mul", [centered, _inv_std(b, centered, axes, layer.epsilon, h)], h)
    y = b.op("Reshape", [y, b.op("Shape", [x], h)], h)
    pshape = tuple(channels if i == axis else 1 for i in range(rank))
    gamma, beta = _param(b, layer.gamma, pshape, h + "/gamma"), _param(b, layer.beta, pshape, h + "/beta")
    if gamma is not None:
        y = b.op("Mul", [y, gamma], h)
    return y if beta is None else b.op("Add", [y, beta], h)


@converter("UnitNormalization", masks=True)
def unit_norm(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """x / sqrt(max(sum(x^2 over axis), 1e-24))."""
    x, h = _one(inputs, layer), layer.name
    rank = len(b.shapes[x])
    axes = sorted(a % rank for a in (layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]))
    total = b.reduce("ReduceSum", b.op("Mul", [x, x], h), axes, h, keepdims=True)
    floor = b.op("Max", [total, b.const(np.float32(1e-24), h + "/floor")], h)
    return b.op("Mul", [x, b.op("Reciprocal", [b.op("Sqrt", [floor], h)], h)], h)


@converter("RMSNormalization", masks=True)
def rms_norm(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """x / sqrt(mean(x^2 over axis) + epsilon) * scale."""
    x, h = _one(inputs, layer), layer.name
    rank = len(b.shapes[x])
    axes = sorted(a % rank for a in (layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]))
    y = b.op("Mul", [x, _inv_std(b, x, axes, layer.epsilon, h)], h)
    pshape = tuple(int(b.shapes[x][i]) if i in axes else 1 for i in range(rank))
    return b.op("Mul", [y, _param(b, layer.scale, pshape, h + "/scale")], h)

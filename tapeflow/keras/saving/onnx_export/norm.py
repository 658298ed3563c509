"""ONNX converters of BatchNormalization (inference: a per-channel scale and shift, with Keras's
epsilon) and LayerNormalization (ONNX `LayerNormalization`, opset 17, over trailing axes)."""

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


@converter("BatchNormalization")
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


@converter("LayerNormalization")
def layer_norm(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    x = _one(inputs, layer)
    rank = len(b.shapes[x])
    axes = sorted(a % rank for a in (layer.axis if isinstance(layer.axis, list) else [layer.axis]))
    if axes != list(range(axes[0], rank)):
        raise unsupported(layer, f"normalising over axes {layer.axis} that are not the trailing axes")
    if getattr(layer, "rms_scaling", False):
        raise unsupported(layer, "rms_scaling=True")
    shape = [int(d) for d in b.shapes[x][axes[0]:]]
    size = int(np.prod(shape))
    gamma = _array(layer.gamma, size, 1.0).reshape(shape).astype(np.float32)
    beta = _array(layer.beta, size, 0.0).reshape(shape).astype(np.float32)
    return b.op("LayerNormalization", [x, b.const(gamma, layer.name + "/gamma"), b.const(beta, layer.name + "/beta")],
                layer.name, axis=axes[0], epsilon=float(layer.epsilon))

"""Keras activation functions as ONNX nodes (`apply_activation`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, unsupported


def activation_name(fn: Any) -> str:
    """The Keras name of an activation function ("linear" for None)."""
    if fn is None:
        return "linear"
    if isinstance(fn, str):
        return fn
    return getattr(fn, "__name__", type(fn).__name__)


def apply_activation(b: GraphBuilder, name: str, x: str, hint: str, layer: Any = None) -> str:
    """`name(x)` as ONNX nodes; raises ExportError for an activation without a translation."""
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus", "softsign": "Softsign",
              "exponential": "Exp", "selu": "Selu", "elu": "Elu"}
    if name in ("linear", None):
        return x
    if name in simple:
        return b.op(simple[name], [x], hint)
    if name == "softmax":
        return b.op("Softmax", [x], hint, axis=-1)
    if name == "log_softmax":
        return b.op("LogSoftmax", [x], hint, axis=-1)
    if name in ("swish", "silu"):
        return b.op("Mul", [x, b.op("Sigmoid", [x], hint)], hint)
    if name == "relu6":
        return b.op("Clip", [x, b.const(np.float32(0), hint + "/min"), b.const(np.float32(6), hint + "/max")], hint)
    if name == "leaky_relu":
        return b.op("LeakyRelu", [x], hint, alpha=0.2)
    if name == "hard_sigmoid":
        return b.op("HardSigmoid", [x], hint, alpha=1.0 / 6.0, beta=0.5)
    if name in ("hard_silu", "hard_swish"):
        return b.op("Mul", [x, b.op("HardSigmoid", [x], hint, alpha=1.0 / 6.0, beta=0.5)], hint)
    if name == "gelu":  # Keras's gelu(approximate=False): 0.5 x (1 + erf(x / sqrt 2))
        scaled = b.op("Mul", [x, b.const(np.float32(1 / np.sqrt(2.0)), hint + "/rsqrt2")], hint)
        one_plus = b.op("Add", [b.op("Erf", [scaled], hint), b.const(np.float32(1), hint + "/one")], hint)
        return b.op("Mul", [b.op("Mul", [x, b.const(np.float32(0.5), hint + "/half")], hint), one_plus], hint)
    if name == "mish":
        return b.op("Mul", [x, b.op("Tanh", [b.op("Softplus", [x], hint)], hint)], hint)
    what = f"activation {name!r} has no ONNX translation"
    if layer is not None:
        raise unsupported(layer, what)
    raise ValueError(f"ONNX export: {what}.")

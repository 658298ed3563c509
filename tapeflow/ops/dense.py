"""Fused dense: `activation(x @ kernel + bias)` as one primitive.

A Keras Dense layer does these three ops on every call; fusing them saves two op dispatches
forward and four backward, which dominates small models (e.g. XOR: 12,000 steps of 2x2 matrices).
The backward pass is made of primitives (matmuls, a reduction, the activation's gradient), so
the tape runs it on arrays or records it for higher-order gradients. The activation helpers are
shared with the fused convolution (ops/fused_conv.py).
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.ops import elementwise as ew
from tapeflow.ops import linalg as la
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


def activate_(z: Any, act: str) -> Any:
    """Apply the activation `act` (one of ACTIVATIONS) to the array `z` in place; returns z."""
    if act == "relu":
        backend.get_xp(z).maximum(z, 0, out=z)
    elif act == "sigmoid":
        xp = backend.get_xp(z)
        # NOTE: 0.5 * tanh(0.5 z) + 0.5 is the logistic function without exp overflow.
        z *= 0.5
        xp.tanh(z, out=z)
        z *= 0.5
        z += 0.5
    elif act == "tanh":
        backend.get_xp(z).tanh(z, out=z)
    return z


def activation_grad_array(dy: Any, y: Any, act: str) -> Any:
    """dz for y = act(z), from the output y (arrays; a new array unless act is linear)."""
    if act == "relu":
        return dy * (y > 0)
    if act == "sigmoid":
        return dy * (y * (1 - y))
    if act == "tanh":
        return dy * (1 - y * y)
    return dy


def activation_grad_tensor(dy: Tensor, y: Tensor, act: str) -> Tensor:
    """dz for y = act(z) with Tensor ops (differentiable, for tapes recording the backward)."""
    if act == "relu":
        return ew.SelectGrad("positive")(y, dy)
    if act == "sigmoid":
        return ew.multiply(dy, ew.multiply(y, ew.subtract(1, y)))
    if act == "tanh":
        return ew.multiply(dy, ew.subtract(1, ew.multiply(y, y)))
    return dy


class Dense(Function):
    """y = act(x @ w + b) for 2-D x (batch, in), w (in, out), b (out,) or no bias."""

    fresh_outputs = True

    def __init__(self, activation: str, has_bias: bool) -> None:
        self.activation = activation
        self.has_bias = has_bias

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        z = x @ w if x.dtype.itemsize > 2 else backend.matmul(x, w)
        if b is not None:
            z += b
        return activate_(z, self.activation)

    def backward(self, dy: Tensor) -> tuple:
        needs = self.needs_input_grad
        x, w = self.inputs[0], self.inputs[1]
        dz = activation_grad_tensor(dy, self.outputs[0], self.activation)
        dx = la.matmul(dz, w, transpose_b=True) if needs[0] else None
        dw = la.matmul(x, dz, transpose_a=True) if needs[1] else None
        db = rd.reduce_sum(dz, 0) if self.has_bias and needs[2] else None
        return (dx, dw, db) if self.has_bias else (dx, dw)


def dense(x: Tensor, kernel: Tensor, bias: Tensor | None, activation: str) -> Tensor:
    """`activation(x @ kernel + bias)` for 2-D `x`; activation in ACTIVATIONS."""
    if x.dtype != kernel.dtype:
        x, kernel = ew.binary_operands(x, kernel, "Dense")
    if bias is None:
        return Dense(activation, False)(x, kernel)
    return Dense(activation, True)(x, kernel, bias)

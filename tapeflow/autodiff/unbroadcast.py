"""Undo broadcasting: the one place gradients are summed back to an input's shape."""

from __future__ import annotations

from typing import Any

from tapeflow.autodiff.function import Function
from tapeflow.tensor import Tensor


def _reduced_axes(in_shape: tuple, shape: tuple) -> tuple:
    lead = len(in_shape) - len(shape)
    axes = list(range(lead))
    for i, d in enumerate(shape):
        if d == 1 and in_shape[i + lead] != 1:
            axes.append(i + lead)
    return tuple(axes)


def sum_to_array(x: Any, shape: tuple) -> Any:
    """The array `x` summed down to `shape` (no tape involved)."""
    axes = _reduced_axes(x.shape, shape)
    y = x.sum(axis=axes, keepdims=True) if axes else x
    return y.reshape(shape)


class SumTo(Function):
    """Sum a broadcast array down to `shape` (the inverse of `broadcast_to`)."""

    def __init__(self, shape: tuple) -> None:
        self.shape = tuple(shape)

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return sum_to_array(x, self.shape)

    def backward(self, dy: Tensor) -> tuple:
        from tapeflow.ops.movement import broadcast_to

        return (broadcast_to(dy, self.in_shape),)


def sum_to(x: Tensor, shape: tuple) -> Tensor:
    """`x` summed over the axes that broadcasting to its shape from `shape` created."""
    if tuple(x._value.shape) == tuple(shape):
        return x
    return SumTo(shape)(x)

"""`tf.bitwise`: and/or/xor/invert and shifts of integer tensors (no gradients)."""

from __future__ import annotations

from typing import Any

from tapeflow.ops import elementwise as ew
from tapeflow.tensor import Tensor

__all__ = ["bitwise_and", "bitwise_or", "bitwise_xor", "invert", "left_shift", "right_shift"]


def _ints(op: str, *xs: Any) -> tuple:
    ts = ew.binary_operands(xs[0], xs[1], op) if len(xs) == 2 else (ew.unary_operand(xs[0], op),)
    if ts[0].dtype._np.kind not in "iu":
        raise TypeError(f"{op}: expected integer tensors, received dtype {ts[0].dtype.name}.")
    return ts


def bitwise_and(x: Any, y: Any, name: Any = None) -> Tensor:
    """x & y elementwise on integer tensors, with broadcasting."""
    return ew.NonDifferentiable("bitwise_and")(*_ints("BitwiseAnd", x, y))


def bitwise_or(x: Any, y: Any, name: Any = None) -> Tensor:
    """x | y elementwise on integer tensors, with broadcasting."""
    return ew.NonDifferentiable("bitwise_or")(*_ints("BitwiseOr", x, y))


def bitwise_xor(x: Any, y: Any, name: Any = None) -> Tensor:
    """x ^ y elementwise on integer tensors, with broadcasting."""
    return ew.NonDifferentiable("bitwise_xor")(*_ints("BitwiseXor", x, y))


def invert(x: Any, name: Any = None) -> Tensor:
    """~x elementwise (all bits flipped) on an integer tensor."""
    return ew.NonDifferentiable("invert")(*_ints("Invert", x))


class _Shift(ew.NonDifferentiable):
    """A shift with TF's rule for counts outside [0, bits): the result is implementation
    defined there; like TF's CPU kernel the count is clamped to [0, bits - 1]."""

    def forward(self, a: Any, b: Any) -> Any:
        from tapeflow import backend

        xp = backend.get_xp(a, b)
        bits = a.dtype.itemsize * 8
        return getattr(xp, self.fname)(a, xp.clip(b, 0, bits - 1).astype(a.dtype))


def left_shift(x: Any, y: Any, name: Any = None) -> Tensor:
    """x << y elementwise on integer tensors."""
    return _Shift("left_shift")(*_ints("LeftShift", x, y))


def right_shift(x: Any, y: Any, name: Any = None) -> Tensor:
    """x >> y elementwise (arithmetic for signed types) on integer tensors."""
    return _Shift("right_shift")(*_ints("RightShift", x, y))

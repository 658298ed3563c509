"""Python's operators on `Tensor` (`a + b`, `a @ b`, `a[i]`, `a < b`, ...), bound to the ops.

The tensor module defines the data type and knows nothing of the ops (which import it); this
module, imported first by the package, attaches the operators to the class, as TensorFlow's
math_ops overrides `Tensor`'s operators. Reflected operators put the Python value first, so
`2 - t` is `subtract(2, t)` with 2 taking t's dtype.
"""

from __future__ import annotations

from typing import Any

from tapeflow.dispatch import CompositeTensor
from tapeflow.ops import elementwise as ew
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor

_BINARY = {
    "add": ew.add, "sub": ew.subtract, "mul": ew.multiply, "truediv": ew.truediv,
    "floordiv": ew.floordiv, "mod": ew.floormod, "pow": ew.pow, "matmul": la.matmul,
    "and": ew.logical_and, "or": ew.logical_or,
}
_COMPARISONS = {"lt": ew.less, "le": ew.less_equal, "gt": ew.greater, "ge": ew.greater_equal}


def _binary(op: Any) -> tuple:
    def forward(self: Tensor, other: Any) -> Tensor:
        try:
            return op(self, other)
        except TypeError:
            # NOTE: a RaggedTensor / SparseTensor right operand gets its reflected operator
            # (`dense + rt` is `rt.__radd__(dense)`), as Python does for NotImplemented; the
            # check runs only after the op refused the operand.
            if isinstance(other, CompositeTensor):
                return NotImplemented
            raise

    def reflected(self: Tensor, other: Any) -> Tensor:
        return op(other, self)

    return forward, reflected


def _invert(self: Tensor) -> Tensor:
    return ew.logical_not(self) if self.dtype.is_bool else ew.bitwise_invert(self)


def _eq(self: Tensor, other: Any) -> Any:
    return False if other is None else ew.equal(self, other)


def _ne(self: Tensor, other: Any) -> Any:
    return True if other is None else ew.not_equal(self, other)


def _bind() -> None:
    for name, op in _BINARY.items():
        forward, reflected = _binary(op)
        setattr(Tensor, f"__{name}__", forward)
        setattr(Tensor, f"__r{name}__", reflected)
    for name, op in _COMPARISONS.items():
        setattr(Tensor, f"__{name}__", _binary(op)[0])
    Tensor.__xor__ = _binary(ew.logical_xor)[0]
    Tensor.__neg__ = ew.negative
    Tensor.__pos__ = lambda self: self
    Tensor.__abs__ = ew.abs
    Tensor.__invert__ = _invert
    Tensor.__eq__ = _eq
    Tensor.__ne__ = _ne
    Tensor.__getitem__ = mv.getitem


_bind()

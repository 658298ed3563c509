"""Python's operators on `Tensor` (`a + b`, `a @ b`, `a[i]`, `a < b`, ...), bound to the ops.

The tensor module defines the data type and knows nothing of the ops (which import it); this
module, imported first by the package, attaches the operators to the class, as TensorFlow's
math_ops overrides `Tensor`'s operators. Reflected operators put the Python value first, so
`2 - t` is `subtract(2, t)` with 2 taking t's dtype.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
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
_PROMOTED = {"add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "lt", "le", "gt", "ge"}


class NumpyBehavior:
    """What `tnp.experimental_enable_numpy_behavior()` switches on (off by default, as in TF):
    `promote(a, b)` gives the operands of an arithmetic or comparison operator NumPy's common
    dtype; `methods` maps a NumPy attribute name to (function, is_property), looked up only when
    normal attribute lookup fails (`t.T`, `t.reshape(...)`, `t.astype(...)`)."""

    promote: Callable | None = None
    methods: dict = {}


# TF's NumPy methods, named in the error when they are used before NumPy behaviour is on.
_NUMPY_NAMES = frozenset(("T", "size", "tolist", "transpose", "flatten", "reshape", "ravel", "clip", "astype",
                          "max", "mean", "min", "data"))


def _numpy_attribute(self: Tensor, name: str) -> Any:
    entry = NumpyBehavior.methods.get(name)
    if entry is None:
        hint = (" (a NumPy method: call tf.experimental.numpy.experimental_enable_numpy_behavior() first, as "
                "in TF)") if name in _NUMPY_NAMES else ""
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'{hint}")
    fn, is_property = entry
    return fn(self) if is_property else functools.partial(fn, self)


def _binary(op: Any, promoted: bool = False) -> tuple:
    def forward(self: Tensor, other: Any) -> Tensor:
        if promoted and NumpyBehavior.promote is not None:
            self, other = NumpyBehavior.promote(self, other)
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
        if promoted and NumpyBehavior.promote is not None:
            other, self = NumpyBehavior.promote(other, self)
        return op(other, self)

    return forward, reflected


def _invert(self: Tensor) -> Tensor:
    return ew.logical_not(self) if self.dtype.is_bool else ew.bitwise_invert(self)


def _eq(self: Tensor, other: Any) -> Any:
    return False if other is None else ew.equal(self, other)


def _ne(self: Tensor, other: Any) -> Any:
    return True if other is None else ew.not_equal(self, other)


def _identity_eq(self: Tensor, other: Any) -> bool:
    return self is other


def _identity_ne(self: Tensor, other: Any) -> bool:
    return self is not other


_UNHASHABLE = {}


def set_tensor_equality(enabled: bool) -> None:
    """TF 2's elementwise `==` with unhashable tensors (True), or TF 1's identity `==` with
    hashing by identity (False): `tf.compat.v1.enable/disable_tensor_equality`."""
    from tapeflow.tensor import Variable

    if not _UNHASHABLE:
        _UNHASHABLE.update({Tensor: Tensor.__dict__["__hash__"], Variable: Variable.__dict__["__hash__"]})
    Tensor.__eq__ = _eq if enabled else _identity_eq
    Tensor.__ne__ = _ne if enabled else _identity_ne
    for cls, unhashable in _UNHASHABLE.items():
        cls.__hash__ = unhashable if enabled else object.__hash__


def _bind() -> None:
    for name, op in _BINARY.items():
        forward, reflected = _binary(op, name in _PROMOTED)
        setattr(Tensor, f"__{name}__", forward)
        setattr(Tensor, f"__r{name}__", reflected)
    for name, op in _COMPARISONS.items():
        setattr(Tensor, f"__{name}__", _binary(op, True)[0])
    Tensor.__xor__ = _binary(ew.logical_xor)[0]
    Tensor.__neg__ = ew.negative
    Tensor.__pos__ = lambda self: self
    Tensor.__abs__ = ew.abs
    Tensor.__invert__ = _invert
    Tensor.__eq__ = _eq
    Tensor.__ne__ = _ne
    Tensor.__getitem__ = mv.getitem
    Tensor.__getattr__ = _numpy_attribute


_bind()

"""`tf.compat.v1.Dimension`: one dimension of a TensorShape, known (an int >= 0) or unknown.

TF 1 code reads shapes as Dimensions (`shape[i].value`, `dim.is_compatible_with(n)`); TF 2
shapes hold ints, and `TensorShape.dims` still gives Dimensions. Arithmetic and comparisons with
an unknown dimension give unknown (`Dimension(None)` or None), as TF's.
"""

from __future__ import annotations

import operator
from typing import Any


class Dimension:
    """A dimension's size, or None when unknown.

    Example:
        >>> tf.compat.v1.Dimension(16).is_compatible_with(16)
        True
    """

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        if isinstance(value, Dimension):
            value = value.value
        if value is not None:
            if isinstance(value, bool) or not hasattr(value, "__index__"):
                raise TypeError("Dimension value must be integer or None or have an __index__ method, got value "
                                f"'{value!r}' with type '{type(value)!r}'")
            value = operator.index(value)
            if value < 0:
                raise ValueError(f"Dimension {value} must be >= 0")
        self._value = value

    @property
    def value(self) -> int | None:
        return self._value

    def __repr__(self) -> str:
        return f"Dimension({self._value!r})"

    def __str__(self) -> str:
        return "?" if self._value is None else str(self._value)

    def __int__(self) -> int:
        return self._value

    def __index__(self) -> int:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def is_compatible_with(self, other: Any) -> bool:
        """Whether the two could be the same size (either unknown, or equal)."""
        other = as_dimension(other)
        return self._value is None or other.value is None or self._value == other.value

    def assert_is_compatible_with(self, other: Any) -> None:
        if not self.is_compatible_with(other):
            raise ValueError(f"Dimensions {self} and {as_dimension(other)} are not compatible")

    def merge_with(self, other: Any) -> Dimension:
        """The known one of two compatible dimensions (ValueError when they differ)."""
        other = as_dimension(other)
        self.assert_is_compatible_with(other)
        return Dimension(self._value if self._value is not None else other.value)

    def _binary(self, other: Any, op: Any, reflected: bool = False) -> Dimension:
        try:
            other = as_dimension(other)
        except (TypeError, ValueError):
            return NotImplemented
        if self._value is None or other.value is None:
            return Dimension(None)
        a, b = (other.value, self._value) if reflected else (self._value, other.value)
        return Dimension(op(a, b))

    def __add__(self, other: Any) -> Dimension:
        return self._binary(other, operator.add)

    def __radd__(self, other: Any) -> Dimension:
        return self._binary(other, operator.add, True)

    def __sub__(self, other: Any) -> Dimension:
        return self._binary(other, operator.sub)

    def __rsub__(self, other: Any) -> Dimension:
        return self._binary(other, operator.sub, True)

    def __mul__(self, other: Any) -> Dimension:
        return self._binary(other, operator.mul)

    def __rmul__(self, other: Any) -> Dimension:
        return self._binary(other, operator.mul, True)

    def __floordiv__(self, other: Any) -> Dimension:
        return self._binary(other, operator.floordiv)

    def __rfloordiv__(self, other: Any) -> Dimension:
        return self._binary(other, operator.floordiv, True)

    def __mod__(self, other: Any) -> Dimension:
        return self._binary(other, operator.mod)

    def __rmod__(self, other: Any) -> Dimension:
        return self._binary(other, operator.mod, True)

    def _compare(self, other: Any, op: Any) -> bool | None:
        try:
            other = as_dimension(other)
        except (TypeError, ValueError):
            return NotImplemented
        if self._value is None or other.value is None:
            return None
        return op(self._value, other.value)

    def __eq__(self, other: Any) -> bool | None:  # type: ignore[override]
        return self._compare(other, operator.eq)

    def __ne__(self, other: Any) -> bool | None:  # type: ignore[override]
        return self._compare(other, operator.ne)

    def __lt__(self, other: Any) -> bool | None:
        return self._compare(other, operator.lt)

    def __le__(self, other: Any) -> bool | None:
        return self._compare(other, operator.le)

    def __gt__(self, other: Any) -> bool | None:
        return self._compare(other, operator.gt)

    def __ge__(self, other: Any) -> bool | None:
        return self._compare(other, operator.ge)

    __hash__ = None  # type: ignore[assignment]  # as TF's: unknown dimensions make equality partial


def as_dimension(value: Any) -> Dimension:
    return value if isinstance(value, Dimension) else Dimension(value)


def dimension_value(dimension: Any) -> int | None:
    """The size of a Dimension or int (None when unknown): `tf.compat.dimension_value`."""
    return dimension.value if isinstance(dimension, Dimension) else dimension


def dimension_at_index(shape: Any, index: int) -> Dimension:
    """`shape`'s dimension `index` as a Dimension (unknown for a shape of unknown rank)."""
    from tapeflow.tensor import TensorShape

    shape = shape if isinstance(shape, TensorShape) else TensorShape(shape)
    if shape.rank is None:
        return Dimension(None)
    return Dimension(shape[index])

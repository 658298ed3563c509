"""`tf.types.experimental`: `TraceType`, how an argument object decides tf.function retracing.

An object whose class defines `__tf_tracing_type__(context)` is keyed, for retracing, by the
TraceType it returns: calls whose arguments give equal TraceTypes share one trace, and the
trace sees `placeholder_value()` in the argument's place.
"""

from __future__ import annotations

import abc
from typing import Any


class TraceType(abc.ABC):
    """Describes a tf.function argument for tracing: equal TraceTypes share one trace.

    Subclasses implement `is_subtype_of`, `most_specific_common_supertype`,
    `placeholder_value`, `__eq__` and `__hash__`, as in TF.
    """

    @abc.abstractmethod
    def is_subtype_of(self, other: TraceType) -> bool:
        """Whether every value of this type is also a value of `other`."""

    @abc.abstractmethod
    def most_specific_common_supertype(self, others: list) -> TraceType | None:
        """The narrowest type of which this and all `others` are subtypes, or None."""

    def placeholder_value(self, placeholder_context: Any = None) -> Any:
        """The value the traced function receives for an argument of this type. Not abstract, as
        in TF: types whose traced functions receive the original object need not define it."""
        raise TypeError(f"{type(self).__name__} must implement placeholder_value() to be "
                        "used as a tf.function argument type.")

    @abc.abstractmethod
    def __eq__(self, other: object) -> bool:
        ...

    @abc.abstractmethod
    def __hash__(self) -> int:
        ...

"""`tf.experimental.Optional`: a value that may be absent, as `Iterator.get_next_as_optional` returns.

Example:
    >>> opt = iter(tf.data.Dataset.range(1)).get_next_as_optional()
    >>> if opt.has_value(): print(opt.get_value())
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from tapeflow import errors
from tapeflow.tensor import Tensor

__all__ = ["Optional"]


class Optional(abc.ABC):
    """A structure of tensors that is either present or absent (`tf.experimental.Optional`).

    Build one with `Optional.from_value(value)` or `Optional.empty(element_spec)`; the class
    itself is abstract, as in TF.
    """

    @abc.abstractmethod
    def has_value(self, name: str | None = None) -> Tensor:
        """A scalar bool tensor: whether a value is present."""

    @abc.abstractmethod
    def get_value(self, name: str | None = None) -> Any:
        """The value; `tf.errors.InvalidArgumentError` when there is none."""

    @property
    @abc.abstractmethod
    def element_spec(self) -> Any:
        """The structure of `tf.TensorSpec`s of the value (None for `empty(None)`)."""

    @abc.abstractmethod
    def _type_spec(self) -> Any:
        """The spec of the Optional itself."""

    @staticmethod
    def from_value(value: Any) -> Optional:
        """An Optional holding `value` (a tensor or a tuple/dict structure of tensors)."""
        from tapeflow.data import structure

        element = structure.normalize(value, "tf.experimental.Optional.from_value")
        return _OptionalImpl(structure.to_tensors(element), structure.spec_of(element))

    @staticmethod
    def empty(element_spec: Any) -> Optional:
        """An Optional without a value, for elements described by `element_spec`."""
        return _OptionalImpl(None, element_spec)


class _OptionalImpl(Optional):
    """The Optional that `from_value`, `empty` and `get_next_as_optional` build."""

    def __init__(self, value: Any, element_spec: Any) -> None:
        self._value = value
        self._has_value = value is not None
        self._element_spec = element_spec

    def has_value(self, name: str | None = None) -> Tensor:
        return Tensor(np.array(self._has_value))

    def get_value(self, name: str | None = None) -> Any:
        if not self._has_value:
            raise errors.InvalidArgumentError("The given optional does not have a value.")
        return self._value

    @property
    def element_spec(self) -> Any:
        return self._element_spec

    def _type_spec(self) -> Any:
        return self._element_spec

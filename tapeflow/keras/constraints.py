"""`keras.constraints`: projections applied to a weight after each optimizer update."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras import backend as _kbackend
from tapeflow.keras.saving.object_registration import deserialize_object, lookup_custom_object, serialize_object
from tapeflow.tensor import Tensor

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg",
           "unit_norm", "min_max_norm", "get", "serialize", "deserialize"]


def _t(w: Any) -> Tensor:
    return w if isinstance(w, Tensor) else tf.convert_to_tensor(w)


def _norms(w: Tensor, axis: Any) -> Tensor:
    return tf.sqrt(tf.reduce_sum(tf.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: `constraint(w) -> projected w` (same shape)."""

    def __call__(self, w: Any) -> Any:
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Constraint:
        return cls(**config)


class MaxNorm(Constraint):
    """Rescale slices whose L2 norm along `axis` exceeds `max_value`.

    Args:
        max_value: the maximum norm (default 2).
        axis: axis (or axes) over which norms are computed; 0 for a Dense kernel's columns.
    """

    def __init__(self, max_value: float = 2, axis: Any = 0) -> None:
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w: Any) -> Tensor:
        w = _t(w)
        norms = _norms(w, self.axis)
        desired = tf.clip_by_value(norms, 0.0, float(self.max_value))
        return w * (desired / (norms + _kbackend.epsilon()))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Clamp weights to be non-negative: max(w, 0)."""

    def __call__(self, w: Any) -> Tensor:
        return tf.maximum(_t(w), 0.0)


class UnitNorm(Constraint):
    """Scale slices along `axis` to unit L2 norm.

    Args:
        axis: axis (or axes) over which norms are computed (default 0).
    """

    def __init__(self, axis: Any = 0) -> None:
        self.axis = axis

    def __call__(self, w: Any) -> Tensor:
        w = _t(w)
        return w / (_norms(w, self.axis) + _kbackend.epsilon())

    def get_config(self) -> dict:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Keep slice norms within [min_value, max_value], moving a fraction `rate` of the way.

    Args:
        min_value: minimum norm.
        max_value: maximum norm.
        rate: 1.0 projects fully; smaller values move part of the way each step.
        axis: axis (or axes) over which norms are computed (default 0).
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: Any = 0) -> None:
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w: Any) -> Tensor:
        w = _t(w)
        norms = _norms(w, self.axis)
        desired = (tf.clip_by_value(norms, float(self.min_value), float(self.max_value)) * float(self.rate)
                   + norms * (1.0 - float(self.rate)))
        return w * (desired / (norms + _kbackend.epsilon()))

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

_ALL: dict[str, type] = {
    "Constraint": Constraint, "MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm,
    "MinMaxNorm": MinMaxNorm, "constraint": Constraint, "max_norm": MaxNorm, "non_neg": NonNeg,
    "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm,
}


def serialize(constraint: Any) -> dict | None:
    """A JSON-able dict `{"module", "class_name", "config", "registered_name"}` (None for None)."""
    return serialize_object(constraint, "keras.constraints")


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    """Rebuild a constraint from `serialize`'s dict (or a name)."""
    if config is None:
        return None
    if isinstance(config, str):
        return get(config, custom_objects)
    return deserialize_object(config, "constraint", _ALL, None, custom_objects)


def get(identifier: Any, custom_objects: dict | None = None) -> Any:
    """Resolve a constraint: None, a name ("max_norm", "non_neg", "unit_norm", ...), a class,
    an instance, a config dict or a callable.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier, custom_objects)
    if isinstance(identifier, str):
        cls = _ALL.get(identifier) or lookup_custom_object(identifier, custom_objects)
        if cls is None:
            raise ValueError(f"Could not interpret constraint identifier: {identifier!r}. "
                             f"Valid names: {', '.join(sorted(_ALL))}.")
        return cls()
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")

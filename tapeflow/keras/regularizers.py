"""`keras.regularizers`: weight penalties added to the loss (L1, L2, L1L2, orthogonality)."""

from __future__ import annotations

import math
from typing import Any

import tapeflow as tf
from tapeflow.keras.saving.object_registration import deserialize_object, lookup_custom_object, serialize_object
from tapeflow.tensor import Tensor

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
           "orthogonal_regularizer", "get", "serialize", "deserialize"]


def _validate(value: Any, name: str) -> float:
    if value is None:
        return 0.0
    if (not isinstance(value, (float, int)) or isinstance(value, bool) or math.isinf(value)
            or math.isnan(value) or value < 0):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. "
                         f"Received: {name}={value!r}")
    return float(value)


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else tf.convert_to_tensor(x)


class Regularizer:
    """Base class: `regularizer(weight) -> scalar penalty tensor`; subclasses define `get_config`."""

    def __call__(self, x: Any) -> Any:
        return 0.0

    @classmethod
    def from_config(cls, config: dict) -> Regularizer:
        return cls(**config)

    def get_config(self) -> dict:
        raise NotImplementedError(f"{self} does not implement get_config()")


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2).

    Args:
        l1: L1 factor (default 0).
        l2: L2 factor (default 0).

    Example:
        >>> keras.regularizers.L1L2(l1=0.01, l2=0.01)(tf.ones((2, 2)))  # 0.08
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _validate(l1, "l1")
        self.l2 = _validate(l2, "l2")

    def __call__(self, x: Any) -> Tensor:
        x = _t(x)
        total = None
        if self.l1:
            total = tf.reduce_sum(tf.abs(x)) * self.l1
        if self.l2:
            term = tf.reduce_sum(tf.square(x)) * self.l2
            total = term if total is None else total + term
        if total is None:
            return tf.zeros((), dtype=x.dtype)
        return total

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """l1 * sum(|x|).

    Args:
        l1: factor (default 0.01).
    """

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _validate(0.01 if l1 is None else l1, "l1")

    def __call__(self, x: Any) -> Tensor:
        return tf.reduce_sum(tf.abs(_t(x))) * self.l1

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(Regularizer):
    """l2 * sum(x^2).

    Args:
        l2: factor (default 0.01).
    """

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _validate(0.01 if l2 is None else l2, "l2")

    def __call__(self, x: Any) -> Tensor:
        return tf.reduce_sum(tf.square(_t(x))) * self.l2

    def get_config(self) -> dict:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalises non-orthogonal rows (or columns) of a 2-D weight:
    factor * 0.5 * sum(|off-diagonal of N N^T|) / num_pairs, N the L2-normalised rows.

    Args:
        factor: strength (default 0.01).
        mode: "rows" or "columns".
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        self.factor = _validate(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f'Invalid value for argument `mode`. Expected one of {{"rows", "columns"}}. '
                             f"Received: mode={mode!r}")
        self.mode = mode

    def __call__(self, inputs: Any) -> Tensor:
        x = _t(inputs)
        if len(x.shape) != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape={tuple(x.shape)}")
        axis = 1 if self.mode == "rows" else 0
        # NOTE: Keras's normalize, x * min(rsqrt(sum(x^2)), 1/eps), without the inf at zero.
        inv = tf.math.rsqrt(tf.maximum(tf.reduce_sum(tf.square(x), axis=axis, keepdims=True), 1e-14))
        x = x * inv
        if self.mode == "rows":
            product = tf.matmul(x, x, transpose_b=True)
            size = x.shape[0]
        else:
            product = tf.matmul(x, x, transpose_a=True)
            size = x.shape[1]
        off = product * (1.0 - tf.eye(size, dtype=x.dtype))
        num_pairs = size * (size - 1.0) / 2.0
        return tf.reduce_sum(tf.abs(off)) * (self.factor * 0.5 / num_pairs)

    def get_config(self) -> dict:
        return {"factor": self.factor, "mode": self.mode}


# Keras 3 exports the lowercase names as aliases of the classes.
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

_ALL: dict[str, type] = {
    "Regularizer": Regularizer, "L1": L1, "L2": L2, "L1L2": L1L2,
    "OrthogonalRegularizer": OrthogonalRegularizer, "regularizer": Regularizer, "l1": L1, "l2": L2,
    "l1l2": L1L2, "l1_l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer,
}


def serialize(regularizer: Any) -> dict | None:
    """A JSON-able dict `{"module", "class_name", "config", "registered_name"}` (None for None)."""
    return serialize_object(regularizer, "keras.regularizers")


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    """Rebuild a regularizer from `serialize`'s dict (or a name)."""
    if config is None:
        return None
    if isinstance(config, str):
        return get(config, custom_objects)
    return deserialize_object(config, "regularizer", _ALL, None, custom_objects)


def get(identifier: Any, custom_objects: dict | None = None) -> Any:
    """Resolve a regularizer: None, a name ("l1", "l2", "l1_l2"), a class, an instance, a config
    dict or a callable.

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
            raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}. "
                             f"Valid names: {', '.join(sorted(_ALL))}.")
        return cls()
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")

"""Normalizations that only rescale: UnitNormalization (unit L2 norm) and RMSNormalization."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.base import Layer
from tapeflow.tensor import Tensor


def _axes(axis: Any) -> Any:
    return list(axis) if isinstance(axis, (list, tuple)) else axis


class UnitNormalization(Layer):
    """Scale each vector along `axis` to unit L2 norm: x / max(||x||, 1e-12).

    Args:
        axis: the axis (or list of axes) normalized over (default -1).
    """

    def __init__(self, axis: Any = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = _axes(axis)
        self.supports_masking = True

    def call(self, inputs: Tensor) -> Tensor:
        x = tf.cast(inputs, self._np_dtype) if inputs.dtype._np != self._np_dtype else inputs
        square_sum = tf.reduce_sum(tf.square(x), axis=self.axis, keepdims=True)
        return x * tf.math.rsqrt(tf.maximum(square_sum, tf.constant(1e-24, x.dtype)))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config["axis"] = self.axis
        return config


class RMSNormalization(Layer):
    """x / sqrt(mean(x^2 over `axis`) + epsilon) * scale, with a learned `scale` (ones at first).

    Args:
        axis: the axis normalized over (default -1); `scale` has that axis's size.
        epsilon: added to the mean square (1e-6).
    """

    def __init__(self, axis: int = -1, epsilon: float = 1e-6, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = epsilon

    def build(self, input_shape: Any) -> None:
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(f"RMSNormalization '{self.name}': the normalized axis must be known, received input "
                             f"shape {tuple(input_shape)}.")
        self.scale = self.add_weight(shape=shape, name="scale", initializer="ones")
        self._ndim = len(input_shape)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        x = tf.cast(inputs, self._np_dtype) if inputs.dtype._np != self._np_dtype else inputs
        mean_square = tf.reduce_mean(tf.square(x), axis=self.axis, keepdims=True)
        scale = self.scale
        axis = self.axis % self._ndim if isinstance(self.axis, int) else None
        if axis is not None and axis != self._ndim - 1:
            scale = tf.reshape(scale, [-1 if i == axis else 1 for i in range(self._ndim)])
        return x * tf.math.rsqrt(mean_square + self.epsilon) * scale

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"axis": self.axis, "epsilon": self.epsilon})
        return config

"""Activation layers: ReLU, LeakyReLU, PReLU, ELU and Softmax, as Keras 3 defines them."""

from __future__ import annotations

import warnings
from typing import Any

import tapeflow as tf
from tapeflow.keras import activations, constraints, initializers, regularizers
from tapeflow.keras.layers.base import Layer
from tapeflow.tensor import Tensor


class _Elementwise(Layer):
    """An activation layer: same output shape as input, masks pass through."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class ReLU(_Elementwise):
    """Rectified linear unit: `max_value`-capped, `negative_slope` below `threshold`.

    Args:
        max_value: upper bound of the output (None: none).
        negative_slope: slope for inputs below `threshold` (default 0).
        threshold: inputs below it are damped.

    Shapes: any input shape, output of the same shape.
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, value in (("max_value", max_value), ("negative_slope", negative_slope), ("threshold", threshold)):
            if value is not None and value < 0:
                raise ValueError(f"ReLU: {name} of {value} must be >= 0.")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold

    def call(self, inputs: Tensor) -> Tensor:
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class LeakyReLU(_Elementwise):
    """`x` for x >= 0, `negative_slope * x` below (Keras 3 default slope 0.3).

    Args:
        negative_slope: the slope below zero (tf.keras 2's `alpha` is accepted, with a warning).
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2)
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"LeakyReLU: negative_slope must be a number >= 0, received {negative_slope}.")
        self.negative_slope = negative_slope

    def call(self, inputs: Tensor) -> Tensor:
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self) -> dict:
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class ELU(_Elementwise):
    """`x` for x > 0, `alpha * (exp(x) - 1)` below."""

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs: Tensor) -> Tensor:
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self) -> dict:
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class Softmax(_Elementwise):
    """Softmax over `axis`; positions where `mask` is False get probability 0.

    Args:
        axis: the axis (or list of axes) normalized over.
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs: Tensor, mask: Any = None) -> Tensor:
        return masked_softmax(inputs, mask, self.axis)

    def get_config(self) -> dict:
        config = super().get_config()
        config["axis"] = self.axis
        return config


def masked_softmax(inputs: Tensor, mask: Any, axis: Any = -1) -> Tensor:
    """Softmax over `axis` where masked-out positions (mask False, or <= 0.5) get probability 0,
    as Keras's Softmax layer computes it (a large negative logit there, then zeros)."""
    if mask is not None:
        mask_shape, input_shape = tuple(mask.shape), tuple(inputs.shape)
        if len(mask_shape) > len(input_shape):
            raise ValueError("The `mask` must be broadcastable to `inputs` and must not have more dimensions. "
                             f"Received: inputs.shape={input_shape}, mask.shape={mask_shape}")
        for m_dim, i_dim in zip(mask_shape[::-1], input_shape[::-1], strict=False):
            if m_dim is not None and i_dim is not None and m_dim not in (1, i_dim):
                raise ValueError("The `mask` must be broadcastable to `inputs`. Each mask dimension must be 1 or "
                                 "match the corresponding input dimension. Received: "
                                 f"inputs.shape={input_shape}, mask.shape={mask_shape}")
        if mask.dtype.name != "bool":
            mask = tf.greater(mask, tf.constant(0.5, mask.dtype))
        large_negative = tf.constant(-3e4 if inputs.dtype.name == "float16" else -1e9, inputs.dtype)
        inputs = tf.where(mask, inputs, large_negative)
    if isinstance(axis, (list, tuple)):
        if len(axis) > 1:
            outputs = tf.exp(inputs - tf.reduce_logsumexp(inputs, axis=list(axis), keepdims=True))
        else:
            outputs = activations.softmax(inputs, axis=axis[0])
    else:
        outputs = activations.softmax(inputs, axis=axis)
    if mask is not None:
        outputs = tf.where(mask, outputs, tf.zeros_like(outputs))
    return outputs


class PReLU(_Elementwise):
    """Leaky ReLU with a learned slope per position: `max(x, 0) + alpha * min(x, 0)`.

    Args:
        alpha_initializer, alpha_regularizer, alpha_constraint: for the slope weights.
        shared_axes: axes along which one slope is shared (e.g. [1, 2] for images).

    Shapes: input (batch, ...); alpha has the input's shape without the batch axis (1 on
    shared axes).
    """

    def __init__(self, alpha_initializer: Any = "Zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def build(self, input_shape: Any) -> None:
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            param_shape[axis - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"PReLU '{self.name}': every non-shared input dimension must be known, "
                             f"received input shape {tuple(input_shape)}.")
        self.alpha = self.add_weight(shape=tuple(param_shape), name="alpha", initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        pos = tf.nn.relu(inputs)
        neg = -self.alpha * tf.nn.relu(-inputs)
        return pos + neg

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        })
        return config

"""Training-time noise and regularization layers: GaussianDropout, AlphaDropout,
ActivityRegularization, Identity."""

from __future__ import annotations

import math
from typing import Any

import tapeflow as tf
from tapeflow.keras import regularizers
from tapeflow.keras.layers.base import Layer
from tapeflow.tensor import Tensor

# SELU's constants: AlphaDropout keeps a SELU network's mean and variance.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check_rate(layer: str, rate: float) -> float:
    if not 0 <= rate <= 1:
        raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                         f"Received: rate={rate} (layer {layer}).")
    return float(rate)


class Identity(Layer):
    """Returns its input unchanged (a placeholder layer); masks pass through."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class ActivityRegularization(Layer):
    """Adds `l1 * sum(|x|) + l2 * sum(x^2)` of its input (per batch sample) to the losses.

    Args:
        l1, l2: the penalty factors.
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2
        self.supports_masking = True

    def call(self, inputs: Tensor) -> Tensor:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({"l1": self.l1, "l2": self.l2})
        return config


class GaussianDropout(Layer):
    """Multiplies its input by noise drawn from N(1, rate / (1 - rate)) during training.

    Args:
        rate: the drop probability the noise's variance corresponds to, in [0, 1].
        seed: optional random seed.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = _check_rate(self.name, rate)
        self.seed = seed
        self.supports_masking = True

    def call(self, inputs: Tensor, training: Any = None) -> Tensor:
        if training and 0 < self.rate < 1:
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            noise = tf.random.normal(tf.shape(inputs), mean=1.0, stddev=stddev, dtype=inputs.dtype, seed=self.seed)
            return inputs * noise
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


class AlphaDropout(Layer):
    """Dropout for SELU networks: dropped units are set to SELU's negative saturation and the
    result is scaled and shifted so that mean and variance are kept (training only).

    Args:
        rate: the drop probability, in [0, 1].
        noise_shape: the shape of the keep/drop mask (None entries take the input's size).
        seed: optional random seed.
    """

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = _check_rate(self.name, rate)
        self.noise_shape = noise_shape
        self.seed = seed
        self.supports_masking = True

    def call(self, inputs: Tensor, training: Any = None) -> Tensor:
        if not training or self.rate <= 0:
            return inputs
        shape = tuple(inputs.shape)
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(shape, self.noise_shape, strict=True))
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        keep = tf.cast(tf.random.uniform(shape, dtype=inputs.dtype, seed=self.seed) >= self.rate, inputs.dtype)
        a = ((1.0 - self.rate) * (1.0 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = inputs * keep + alpha_p * (1.0 - keep)
        return a * x + b

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config

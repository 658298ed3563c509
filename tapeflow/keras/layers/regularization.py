"""Spatial dropout layers: SpatialDropout1D/2D drop whole feature maps."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras import backend
from tapeflow.keras.layers.base import InputSpec
from tapeflow.keras.layers.core import Dropout
from tapeflow.tensor import Tensor


class _SpatialDropout(Dropout):
    """Dropout with one keep/drop decision per sample and channel, shared over space."""

    def call(self, inputs: Tensor, training: Any = None) -> Tensor:
        if training and self.rate > 0:
            if self.rate >= 1:
                return tf.zeros_like(inputs)
            return tf.nn.dropout(
                inputs, rate=self.rate, noise_shape=self._noise_shape(tuple(inputs.shape)), seed=self.seed
            )
        return inputs

    def _noise_shape(self, shape: tuple) -> tuple:
        raise NotImplementedError

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("noise_shape", None)
        config.pop("trainable", None)  # Keras 3's SpatialDropout*D.__init__ does not take it
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drop entire channels of (batch, steps, channels) with probability `rate` during training.

    Kept channels are scaled by 1 / (1 - rate); inference is the identity.

    Args:
        rate: fraction of channels to drop, in [0, 1].
        seed: optional random seed.

    Example:
        >>> y = keras.layers.SpatialDropout1D(0.5)(tf.ones((2, 5, 3)), training=True)
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def _noise_shape(self, shape: tuple) -> tuple:
        return (shape[0], 1, shape[2])


class SpatialDropout2D(_SpatialDropout):
    """Drop entire feature maps of an image batch with probability `rate` during training.

    Args:
        rate: fraction of channels to drop, in [0, 1].
        data_format: "channels_last" (default, (batch, rows, cols, channels)) or "channels_first".
        seed: optional random seed.

    Example:
        >>> y = keras.layers.SpatialDropout2D(0.5)(tf.ones((2, 4, 4, 3)), training=True)
    """

    def __init__(
        self, rate: float, data_format: str | None = None, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(rate, seed=seed, **kwargs)
        fmt = (data_format or backend.image_data_format()).lower()
        if fmt not in ("channels_last", "channels_first"):
            raise ValueError(
                f"SpatialDropout2D: data_format must be 'channels_last' or 'channels_first', "
                f"received {data_format!r}."
            )
        self.data_format = fmt
        self.input_spec = InputSpec(ndim=4)

    def _noise_shape(self, shape: tuple) -> tuple:
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1)
        return (shape[0], 1, 1, shape[3])

    def get_config(self) -> dict:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config

"""Adaptive pooling layers: average or max pooling to a fixed spatial `output_size`.

Window i of an axis of length n pooled to m covers [floor(i n / m), ceil((i + 1) n / m)),
PyTorch's rule, which Keras 3 follows (`keras.ops.adaptive_average_pool/adaptive_max_pool`).
"""

from __future__ import annotations

from typing import Any

from tapeflow.keras import backend as kbackend
from tapeflow.keras.layers.base import Layer
from tapeflow.tensor import Tensor

_AXES = {1: "length", 2: "(height, width)", 3: "(depth, height, width)"}


class _AdaptivePooling(Layer):
    rank = 0
    kind = ""

    def __init__(self, output_size: Any, data_format: Any = None, **kwargs: Any) -> None:
        name = type(self).__name__
        if isinstance(output_size, int):
            size = (output_size,) * self.rank
        elif isinstance(output_size, (tuple, list)) and len(output_size) == self.rank:
            size = tuple(output_size)
        else:
            raise TypeError(f"{name}: `output_size` must be an integer or {_AXES[self.rank]} tuple. "
                            f"Received: {output_size} of type {type(output_size)}")
        if not all(isinstance(s, int) and s > 0 for s in size):
            raise ValueError(f"{name}: `output_size` must hold positive integers, received {output_size!r}.")
        super().__init__(**kwargs)
        self.output_size = size
        self.data_format = (data_format or kbackend.image_data_format()).lower()
        if self.data_format not in ("channels_first", "channels_last"):
            raise ValueError(f"{name}: Invalid data_format: {data_format}. Expected 'channels_first' or "
                             "'channels_last'.")

    def call(self, inputs: Any) -> Tensor:
        from tapeflow.keras import ops

        pool = ops.adaptive_average_pool if self.kind == "avg" else ops.adaptive_max_pool
        return pool(inputs, output_size=self.output_size, data_format=self.data_format)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if self.data_format == "channels_last":
            return (shape[0], *self.output_size, shape[-1])
        return (shape[0], shape[1], *self.output_size)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"output_size": self.output_size, "data_format": self.data_format})
        return config


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Average-pool (batch, steps, channels) to (batch, output_size, channels)."""

    rank, kind = 1, "avg"


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Average-pool (batch, h, w, channels) to (batch, *output_size, channels)."""

    rank, kind = 2, "avg"


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Average-pool (batch, d, h, w, channels) to (batch, *output_size, channels)."""

    rank, kind = 3, "avg"


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Max-pool (batch, steps, channels) to (batch, output_size, channels)."""

    rank, kind = 1, "max"


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Max-pool (batch, h, w, channels) to (batch, *output_size, channels)."""

    rank, kind = 2, "max"


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Max-pool (batch, d, h, w, channels) to (batch, *output_size, channels)."""

    rank, kind = 3, "max"

"""Volumetric reshaping layers: ZeroPadding3D, Cropping3D, UpSampling3D, SpatialDropout3D."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.keras.layers.conv import standardize_data_format
from tapeflow.keras.layers.regularization import _SpatialDropout
from tapeflow.keras.layers.reshaping import _crop_check, _crop_key, _pair, _repeat_nearest, _spatial_axes
from tapeflow.tensor import Tensor


def _pairs_3d(value: Any, what: str) -> tuple:
    """int -> three (v, v); (a, b, c) -> ((a, a), (b, b), (c, c)); three pairs as is."""
    if isinstance(value, int):
        p = _pair(value, what)
        return p, p, p
    if not hasattr(value, "__len__") or len(value) != 3:
        raise ValueError(f"{what} should be an int, a tuple of 3 ints, or a tuple of 3 tuples of 2 ints, "
                         f"received {value!r}.")
    return tuple(_pair(v, f"entry {i} of {what}") for i, v in enumerate(value))


def _triple(value: Any, what: str) -> tuple:
    if isinstance(value, int):
        value = (value, value, value)
    out = tuple(int(v) for v in value)
    if len(out) != 3 or min(out) <= 0:
        raise ValueError(f"{what} must be a positive int or a tuple of 3 positive ints, received {value!r}.")
    return out


class ZeroPadding3D(Layer):
    """Pad the three spatial axes of a volume batch with zeros.

    Args:
        padding: int, three ints (symmetric per axis) or three (before, after) pairs.
        data_format: "channels_last" (default, (batch, d1, d2, d3, channels)) or "channels_first".
    """

    def __init__(self, padding: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = _pairs_3d(padding, "ZeroPadding3D: padding")
        self.input_spec = InputSpec(ndim=5)

    def call(self, inputs: Tensor) -> Tensor:
        pads = [[0, 0]] * 5
        for ax, p in zip(_spatial_axes(self.data_format, 3), self.padding, strict=True):
            pads[ax] = list(p)
        return tf.pad(inputs, pads)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        out = list(input_shape)
        for ax, p in zip(_spatial_axes(self.data_format, 3), self.padding, strict=True):
            if out[ax] is not None:
                out[ax] += sum(p)
        return tuple(out)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"padding": tuple(tuple(p) for p in self.padding), "data_format": self.data_format})
        return config


class Cropping3D(Layer):
    """Crop the three spatial axes of a volume batch.

    Args:
        cropping: int, three ints (symmetric per axis) or three (before, after) pairs.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, cropping: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.cropping = _pairs_3d(cropping, "Cropping3D: cropping")
        self.input_spec = InputSpec(ndim=5)

    def call(self, inputs: Tensor) -> Tensor:
        axes = _spatial_axes(self.data_format, 3)
        _crop_check(self, tuple(inputs.shape), axes, self.cropping)
        if not any(sum(c) for c in self.cropping):
            return inputs
        return inputs[_crop_key(5, axes, self.cropping)]

    def compute_output_shape(self, input_shape: Any) -> tuple:
        axes = _spatial_axes(self.data_format, 3)
        _crop_check(self, input_shape, axes, self.cropping)
        out = list(input_shape)
        for ax, c in zip(axes, self.cropping, strict=True):
            if out[ax] is not None:
                out[ax] -= sum(c)
        return tuple(out)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"cropping": tuple(tuple(c) for c in self.cropping), "data_format": self.data_format})
        return config


class UpSampling3D(Layer):
    """Repeat every entry of the three spatial axes `size` times (nearest neighbour).

    Args:
        size: int or three ints, the factor per spatial axis.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, size: Any = (2, 2, 2), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.size = _triple(size, "UpSampling3D: size")
        self.input_spec = InputSpec(ndim=5)

    def call(self, inputs: Tensor) -> Tensor:
        x = inputs
        for ax, f in zip(_spatial_axes(self.data_format, 3), self.size, strict=True):
            x = _repeat_nearest(x, ax, f)
        return x

    def compute_output_shape(self, input_shape: Any) -> tuple:
        out = list(input_shape)
        for ax, f in zip(_spatial_axes(self.data_format, 3), self.size, strict=True):
            if out[ax] is not None:
                out[ax] *= f
        return tuple(out)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format})
        return config


class SpatialDropout3D(_SpatialDropout):
    """Drop entire feature volumes (one decision per sample and channel) during training.

    Args:
        rate: fraction of channels to drop, in [0, 1].
        data_format: "channels_last" (default) or "channels_first".
        seed: optional random seed.
    """

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=5)

    def _noise_shape(self, shape: tuple) -> tuple:
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1, 1)
        return (shape[0], 1, 1, 1, shape[4])

    def get_config(self) -> dict:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config

"""Numeric preprocessing layers: Rescaling and Normalization (with `adapt`)."""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow import backend as _backend
from tapeflow.keras import backend as kbackend
from tapeflow.keras.layers.base import Layer
from tapeflow.tensor import Tensor


class Rescaling(Layer):
    """`inputs * scale + offset`, in the layer's float dtype (e.g. scale=1/255 for images).

    Args:
        scale: a number (or per-channel list) multiplying the input.
        offset: a number (or per-channel list) added after scaling.
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def call(self, inputs: Any) -> Tensor:
        x = tf.cast(inputs, self._np_dtype)
        return x * tf.constant(np.asarray(self.scale, self._np_dtype)) + tf.constant(
            np.asarray(self.offset, self._np_dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config


class Normalization(Layer):
    """`(x - mean) / max(sqrt(variance), epsilon)` per feature along `axis` (or the inverse).

    The statistics come from `mean=`/`variance=`, or from `adapt(data)`, which computes them over
    every axis but `axis` (NumPy arrays, tensors, or a `tf.data.Dataset` of batches).

    Args:
        axis: the axis (or tuple of axes) with separate statistics (default -1; None: one mean
            and variance for everything).
        mean, variance: fixed statistics (both or neither), broadcastable to the kept axes.
        invert: apply `mean + x * sqrt(variance)` instead (undo a normalization).
    """

    def __init__(self, axis: Any = -1, mean: Any = None, variance: Any = None, invert: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True  # as Keras 3: the input's mask passes on
        if axis is None:
            self.axis: tuple = ()
        elif isinstance(axis, int):
            self.axis = (axis,)
        else:
            self.axis = tuple(axis)
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization: when setting values of the mean and variance, both must be "
                             f"given; received mean={mean} and variance={variance}.")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert
        self._stats_shape: tuple | None = None

    def _kept_shape(self, input_shape: Any) -> tuple:
        ndim = len(input_shape)
        kept = [a % ndim for a in self.axis]
        for a in kept:
            if input_shape[a] is None:
                raise ValueError(f"Normalization '{self.name}': all `axis` values to be kept must have a known "
                                 f"shape; received axis={self.axis}, input shape {tuple(input_shape)}.")
        return tuple(input_shape[i] if i in kept else 1 for i in range(ndim))

    def build(self, input_shape: Any) -> None:
        shape = self._kept_shape(tuple(input_shape))
        self._stats_shape = shape
        weight_shape = tuple(d for i, d in enumerate(shape) if i in [a % len(shape) for a in self.axis])
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=weight_shape, name="mean", initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(shape=weight_shape, name="variance", initializer="ones",
                                                  trainable=False)
            self.count = self.add_weight(shape=(), name="count", initializer="zeros", dtype="int64",
                                         trainable=False)
        self.built = True

    def _stats(self) -> tuple:
        if self.input_mean is not None:
            mean = np.broadcast_to(np.asarray(self.input_mean, self._np_dtype), self._stats_shape)
            var = np.broadcast_to(np.asarray(self.input_variance, self._np_dtype), self._stats_shape)
            return tf.constant(mean), tf.constant(var)
        return (tf.reshape(self.adapt_mean, self._stats_shape), tf.reshape(self.adapt_variance, self._stats_shape))

    @property
    def mean(self) -> Tensor | None:
        """The mean in the input's broadcast shape (kept axes, 1 elsewhere) and the compute
        dtype, as Keras's `Normalization.mean`; None until the layer is built."""
        return tf.cast(self._stats()[0], self.compute_dtype) if self.built else None

    @property
    def variance(self) -> Tensor:
        """The variance, shaped as `mean` (Keras sets it when the layer is built)."""
        if not self.built:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute 'variance'")
        return tf.cast(self._stats()[1], self.compute_dtype)

    def adapt(self, data: Any, batch_size: Any = None, steps: Any = None) -> None:
        """Compute the mean and variance of `data` over every axis but `axis`."""
        batches = _batches(data, steps)
        total = total_sq = None
        count = 0
        for batch in batches:
            arr = np.asarray(batch, dtype=np.float64)
            if not self.built:
                self.build(arr.shape)
            reduce = tuple(i for i in range(arr.ndim) if i not in [a % arr.ndim for a in self.axis])
            n = int(np.prod([arr.shape[i] for i in reduce])) if reduce else 1
            s = arr.sum(axis=reduce, keepdims=True)
            sq = np.square(arr).sum(axis=reduce, keepdims=True)
            total = s if total is None else total + s
            total_sq = sq if total_sq is None else total_sq + sq
            count += n
        if count == 0:
            raise ValueError(f"Normalization '{self.name}': adapt() received no data.")
        mean = total / count
        variance = np.maximum(total_sq / count - np.square(mean), 0.0)
        shape = self.adapt_mean.shape
        self.adapt_mean.assign(mean.reshape(shape).astype(self._np_dtype))
        self.adapt_variance.assign(variance.reshape(shape).astype(self._np_dtype))
        self.count.assign(np.int64(count))

    def call(self, inputs: Any) -> Tensor:
        x = tf.cast(inputs, self._np_dtype)
        mean, variance = self._stats()
        denom = tf.maximum(tf.sqrt(variance), tf.constant(kbackend.epsilon(), x.dtype))
        if self.invert:
            return mean + x * denom
        return (x - mean) / denom

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        mean, variance = self.input_mean, self.input_variance
        if isinstance(mean, np.ndarray):
            mean, variance = mean.tolist(), np.asarray(variance).tolist()
        config.update({"axis": self.axis, "invert": self.invert, "mean": mean, "variance": variance})
        return config


def _batches(data: Any, steps: Any) -> Any:
    """NumPy batches of `data`: one array, or the batches of a tf.data Dataset."""
    if isinstance(data, (np.ndarray, list, tuple, Tensor, int, float)):
        yield np.asarray(_backend.to_numpy(data._value) if isinstance(data, Tensor) else data)
        return
    if hasattr(data, "as_numpy_iterator"):
        for i, batch in enumerate(data.as_numpy_iterator()):
            if steps is not None and i >= steps:
                return
            yield batch
        return
    raise TypeError(f"Normalization.adapt: expected a NumPy array, tensor or tf.data.Dataset, received "
                    f"{type(data).__name__}.")


def _image_format(layer: str, data_format: Any) -> str:
    fmt = (data_format or kbackend.image_data_format()).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: data_format must be 'channels_last' or 'channels_first', received {data_format!r}.")
    return fmt


class Resizing(Layer):
    """Resize images (a batch or one image) to `height` x `width` (`keras.ops.image.resize`).

    Args:
        height, width: the output size.
        interpolation: "bilinear" (default), "nearest", "bicubic", "lanczos3", "lanczos5", "area".
        crop_to_aspect_ratio: crop the largest centered window of the target aspect ratio first.
        pad_to_aspect_ratio: pad to the target aspect ratio first (with `fill_mode`/`fill_value`).
        antialias: low-pass filter when downsampling.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
                 pad_to_aspect_ratio: bool = False, fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = antialias
        self.data_format = _image_format("Resizing", data_format)

    def call(self, inputs: Any) -> Tensor:
        from tapeflow.keras.ops import image as image_ops

        x = tf.cast(inputs, self._np_dtype)
        return image_ops.resize(x, (self.height, self.width), interpolation=self.interpolation,
                                antialias=self.antialias, crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                                pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_mode=self.fill_mode,
                                fill_value=self.fill_value, data_format=self.data_format)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = list(input_shape)
        axes = (-3, -2) if self.data_format == "channels_last" else (-2, -1)
        shape[axes[0]], shape[axes[1]] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"height": self.height, "width": self.width, "interpolation": self.interpolation,
                       "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                       "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                       "fill_value": self.fill_value, "antialias": self.antialias, "data_format": self.data_format})
        return config


class CenterCrop(Layer):
    """Crop the central `height` x `width` window of images; images smaller than that are first
    cropped to the target aspect ratio and resized (bilinear), as Keras does.

    Args:
        height, width: the output size.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, height: int, width: int, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)
        self.data_format = _image_format("CenterCrop", data_format)

    def call(self, inputs: Any) -> Tensor:
        x = tf.cast(inputs, self._np_dtype)
        h_ax, w_ax = (x.ndim - 3, x.ndim - 2) if self.data_format == "channels_last" else (x.ndim - 2, x.ndim - 1)
        h, w = x.shape[h_ax], x.shape[w_ax]
        if h is not None and w is not None and h >= self.height and w >= self.width:
            key = [slice(None)] * x.ndim
            top, left = (h - self.height) // 2, (w - self.width) // 2
            key[h_ax], key[w_ax] = slice(top, top + self.height), slice(left, left + self.width)
            return x[tuple(key)]
        from tapeflow.keras.ops import image as image_ops

        return image_ops.resize(x, (self.height, self.width), crop_to_aspect_ratio=True,
                                data_format=self.data_format)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = list(input_shape)
        axes = (-3, -2) if self.data_format == "channels_last" else (-2, -1)
        shape[axes[0]], shape[axes[1]] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"height": self.height, "width": self.width, "data_format": self.data_format})
        return config

"""Spatial reshaping layers: ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.dtypes import is_real_float_np
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.keras.layers.conv import standardize_data_format
from tapeflow.tensor import Tensor


def _pair(value: Any, what: str) -> tuple[int, int]:
    """An int or a pair of non-negative ints as a pair."""
    if isinstance(value, int):
        pair = (value, value)
    else:
        pair = tuple(int(v) for v in value)
        if len(pair) != 2:
            raise ValueError(f"{what} must be an int or a tuple of 2 ints, received {value!r}.")
    if min(pair) < 0:
        raise ValueError(f"{what} cannot be negative, received {value!r}.")
    return pair  # type: ignore[return-value]


def _pairs_2d(value: Any, what: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """int -> ((v, v), (v, v)); (a, b) -> ((a, a), (b, b)); ((t, b), (l, r)) as is."""
    if isinstance(value, int):
        p = _pair(value, what)
        return p, p
    if not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(
            f"{what} should be an int, a tuple of 2 ints, or a tuple of 2 tuples of 2 ints, "
            f"received {value!r}."
        )
    return _pair(value[0], f"1st entry of {what}"), _pair(value[1], f"2nd entry of {what}")


def _spatial_axes(data_format: str, n: int) -> list[int]:
    return list(range(2, 2 + n)) if data_format == "channels_first" else list(range(1, 1 + n))


class ZeroPadding1D(Layer):
    """Pad the time axis of (batch, steps, features) with zeros.

    Args:
        padding: int (both sides) or (left, right).
        data_format: "channels_last" (default, (batch, steps, features)) or "channels_first".

    Example:
        >>> keras.layers.ZeroPadding1D(2)(tf.ones((1, 3, 4))).shape
        TensorShape([1, 7, 4])
    """

    def __init__(self, padding: Any = 1, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = _pair(padding, "ZeroPadding1D: padding")
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: Tensor) -> Tensor:
        pads = [[0, 0], [0, 0], [0, 0]]
        pads[_spatial_axes(self.data_format, 1)[0]] = list(self.padding)
        return tf.pad(inputs, pads)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        out = list(input_shape)
        ax = _spatial_axes(self.data_format, 1)[0]
        if out[ax] is not None:
            out[ax] += sum(self.padding)
        return tuple(out)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"padding": list(self.padding), "data_format": self.data_format})
        return config


class ZeroPadding2D(Layer):
    """Pad the rows and columns of an image batch with zeros.

    Args:
        padding: int, (symmetric_height, symmetric_width) or ((top, bottom), (left, right)).
        data_format: "channels_last" (default, (batch, rows, cols, channels)) or "channels_first".

    Example:
        >>> keras.layers.ZeroPadding2D(((1, 0), (2, 1)))(tf.ones((1, 3, 3, 2))).shape
        TensorShape([1, 4, 6, 2])
    """

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = _pairs_2d(padding, "ZeroPadding2D: padding")
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: Tensor) -> Tensor:
        pads = [[0, 0]] * 4
        for ax, p in zip(_spatial_axes(self.data_format, 2), self.padding, strict=True):
            pads[ax] = list(p)
        return tf.pad(inputs, pads)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        out = list(input_shape)
        for ax, p in zip(_spatial_axes(self.data_format, 2), self.padding, strict=True):
            if out[ax] is not None:
                out[ax] += sum(p)
        return tuple(out)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"padding": [list(p) for p in self.padding], "data_format": self.data_format})
        return config


def _crop_check(layer: Layer, shape: Any, axes: list, crops: tuple) -> None:
    for ax, c in zip(axes, crops, strict=True):
        n = shape[ax]
        if n is not None and sum(c) >= n:
            raise ValueError(
                f"{type(layer).__name__} '{layer.name}': cropping {tuple(c)} removes {sum(c)} of the "
                f"{n} entries of axis {ax}; it must be smaller than the input size (input shape "
                f"{tuple(shape)})."
            )


def _crop_key(ndim: int, axes: list, crops: tuple) -> tuple:
    key = [slice(None)] * ndim
    for ax, (lo, hi) in zip(axes, crops, strict=True):
        key[ax] = slice(lo, -hi if hi else None)
    return tuple(key)


class Cropping1D(Layer):
    """Crop the time axis of (batch, steps, features).

    Args:
        cropping: int (both ends) or (start, end): entries removed from each end.

    Example:
        >>> keras.layers.Cropping1D((1, 2))(tf.ones((1, 6, 4))).shape
        TensorShape([1, 3, 4])
    """

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _pair(cropping, "Cropping1D: cropping")
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: Tensor) -> Tensor:
        _crop_check(self, tuple(inputs.shape), [1], (self.cropping,))
        return inputs[_crop_key(3, [1], (self.cropping,))]

    def compute_output_shape(self, input_shape: Any) -> tuple:
        _crop_check(self, input_shape, [1], (self.cropping,))
        n = input_shape[1]
        return (input_shape[0], None if n is None else n - sum(self.cropping), input_shape[2])

    def get_config(self) -> dict:
        config = super().get_config()
        config["cropping"] = list(self.cropping)
        return config


class Cropping2D(Layer):
    """Crop the rows and columns of an image batch.

    Args:
        cropping: int, (symmetric_height, symmetric_width) or ((top, bottom), (left, right)).
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> keras.layers.Cropping2D(((1, 1), (2, 0)))(tf.ones((1, 5, 5, 3))).shape
        TensorShape([1, 3, 3, 3])
    """

    def __init__(
        self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.cropping = _pairs_2d(cropping, "Cropping2D: cropping")
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: Tensor) -> Tensor:
        axes = _spatial_axes(self.data_format, 2)
        _crop_check(self, tuple(inputs.shape), axes, self.cropping)
        if not any(sum(c) for c in self.cropping):
            return inputs
        return inputs[_crop_key(4, axes, self.cropping)]

    def compute_output_shape(self, input_shape: Any) -> tuple:
        axes = _spatial_axes(self.data_format, 2)
        _crop_check(self, input_shape, axes, self.cropping)
        out = list(input_shape)
        for ax, c in zip(axes, self.cropping, strict=True):
            if out[ax] is not None:
                out[ax] -= sum(c)
        return tuple(out)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"cropping": [list(c) for c in self.cropping], "data_format": self.data_format})
        return config


def _repeat_nearest(x: Tensor, axis: int, factor: int) -> Tensor:
    """Repeat every entry of `axis` `factor` times (a broadcast and a reshape, no gather)."""
    if factor == 1:
        return x
    shape = tuple(x.shape)
    expanded = tf.expand_dims(x, axis + 1)
    tiled = tf.broadcast_to(expanded, shape[: axis + 1] + (factor,) + shape[axis + 1 :])
    return tf.reshape(tiled, shape[:axis] + (shape[axis] * factor,) + shape[axis + 1 :])


def _bilinear_matrix(n: int, factor: int, dtype: Any) -> Tensor:
    """(n * factor, n) linear-interpolation matrix with half-pixel centers (TF's resize)."""
    import numpy as np

    out = np.arange(n * factor, dtype=np.float64)
    src = np.clip((out + 0.5) / factor - 0.5, 0.0, n - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    w = src - lo
    m = np.zeros((n * factor, n))
    m[np.arange(n * factor), lo] += 1.0 - w
    m[np.arange(n * factor), hi] += w
    return tf.constant(m, dtype=dtype)


class UpSampling1D(Layer):
    """Repeat each time step `size` times: (batch, steps, features) -> (batch, steps * size, features).

    Example:
        >>> keras.layers.UpSampling1D(2)(tf.ones((1, 3, 4))).shape
        TensorShape([1, 6, 4])
    """

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(
                f"UpSampling1D: size must be an integer, received {type(size).__name__} {size!r}."
            )
        if size <= 0:
            raise ValueError(f"UpSampling1D: size must be a positive integer, received size={size}.")
        self.size = size
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: Tensor) -> Tensor:
        return _repeat_nearest(inputs, 1, self.size)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.size, input_shape[2])

    def get_config(self) -> dict:
        config = super().get_config()
        config["size"] = self.size
        return config


class UpSampling2D(Layer):
    """Upsample the rows and columns of an image batch by integer factors.

    Args:
        size: int or (rows_factor, cols_factor).
        data_format: "channels_last" (default) or "channels_first".
        interpolation: "nearest" (repeat pixels) or "bilinear" (TF's resize with half-pixel
            centers).

    Example:
        >>> keras.layers.UpSampling2D((2, 3))(tf.ones((1, 2, 2, 1))).shape
        TensorShape([1, 4, 6, 1])
    """

    def __init__(
        self,
        size: Any = (2, 2),
        data_format: str | None = None,
        interpolation: str = "nearest",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.size = _pair(size, "UpSampling2D: size")
        if min(self.size) <= 0:
            raise ValueError(f"UpSampling2D: size must be positive integers, received {size!r}.")
        self.interpolation = interpolation.lower()
        if self.interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                f"UpSampling2D: interpolation must be 'nearest' or 'bilinear', received {interpolation!r}."
            )
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: Tensor) -> Tensor:
        x = inputs
        ax_h, ax_w = _spatial_axes(self.data_format, 2)
        if self.interpolation == "nearest":
            return _repeat_nearest(_repeat_nearest(x, ax_h, self.size[0]), ax_w, self.size[1])
        if x._value is not None and not is_real_float_np(x._value.dtype):
            x = tf.cast(x, self.compute_dtype)
        mh = _bilinear_matrix(x.shape[ax_h], self.size[0], x.dtype)
        mw = _bilinear_matrix(x.shape[ax_w], self.size[1], x.dtype)
        if self.data_format == "channels_last":
            return tf.einsum("oh,bhwc,pw->bopc", mh, x, mw)
        return tf.einsum("oh,bchw,pw->bcop", mh, x, mw)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        out = list(input_shape)
        for ax, f in zip(_spatial_axes(self.data_format, 2), self.size, strict=True):
            if out[ax] is not None:
                out[ax] *= f
        return tuple(out)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {"size": list(self.size), "data_format": self.data_format, "interpolation": self.interpolation}
        )
        return config

"""Pooling layers: Max/AveragePooling1D/2D/3D and GlobalMax/GlobalAveragePooling1D/2D/3D."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.dtypes import is_real_float_np
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.keras.layers.conv import (
    TF_FORMATS,
    check_window,
    spatial_axes,
    standardize_data_format,
    standardize_padding,
    standardize_tuple,
)
from tapeflow.tensor import Tensor


class _Pooling(Layer):
    """Shared max / average pooling over `rank` spatial axes."""

    _rank = 2
    _mode = "max"

    def __init__(
        self,
        pool_size: Any,
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = standardize_tuple(pool_size, self._rank, f"{cls}: pool_size")
        self.strides = standardize_tuple(
            pool_size if strides is None else strides, self._rank, f"{cls}: strides"
        )
        self.padding = standardize_padding(padding)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self._rank + 2)
        self._tf_format = TF_FORMATS[(self.data_format, self._rank)]

    def call(self, inputs: Tensor) -> Tensor:
        x = inputs
        if x._value is not None and not is_real_float_np(x._value.dtype):
            x = tf.cast(x, self.compute_dtype)
        check_window(self, tuple(x.shape), self.pool_size, self.padding, "pool size")
        op = tf.nn.max_pool if self._mode == "max" else tf.nn.avg_pool
        return op(
            x,
            ksize=list(self.pool_size),
            strides=list(self.strides),
            padding=self.padding.upper(),
            data_format=self._tf_format,
        )

    def compute_output_shape(self, input_shape: Any) -> tuple:
        check_window(self, input_shape, self.pool_size, self.padding, "pool size")
        out = list(input_shape)
        for ax, k, s in zip(
            spatial_axes(self.data_format, self._rank), self.pool_size, self.strides, strict=True
        ):
            n = out[ax]
            if n is not None:
                out[ax] = (n - k) // s + 1 if self.padding == "valid" else -(-n // s)
        return tuple(out)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "pool_size": list(self.pool_size),
                "padding": self.padding,
                "strides": list(self.strides),
                "data_format": self.data_format,
            }
        )
        return config


class MaxPooling1D(_Pooling):
    """Max pooling over the steps of (batch, steps, features).

    Args:
        pool_size: int or tuple of 1 ints: the window size (default 2).
        strides: int or tuple of 1 ints (default: `pool_size`).
        padding: "valid" (no padding) or "same" (output size ceil(input / strides);
            padded entries never win).
        data_format: "channels_last" (default, (batch, steps, features)) or "channels_first"
            ((batch, features, steps)).

    Example:
        >>> keras.layers.MaxPooling1D(2)(tf.ones((1, 6, 3))).shape
        TensorShape([1, 3, 3])
    """

    _rank, _mode = 1, "max"

    def __init__(
        self,
        pool_size: Any = 2,
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format, **kwargs)


class MaxPooling2D(_Pooling):
    """Max pooling over the rows and columns of an image batch.

    Args:
        pool_size: int or tuple of 2 ints: the window size (default (2, 2)).
        strides: int or tuple of 2 ints (default: `pool_size`).
        padding: "valid" (no padding) or "same" (output size ceil(input / strides);
            padded entries never win).
        data_format: "channels_last" (default, (batch, rows, cols, channels)) or "channels_first"
            ((batch, channels, rows, cols)).

    Example:
        >>> keras.layers.MaxPooling2D(2)(tf.ones((1, 4, 4, 3))).shape
        TensorShape([1, 2, 2, 3])
    """

    _rank, _mode = 2, "max"

    def __init__(
        self,
        pool_size: Any = (2, 2),
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format, **kwargs)


class MaxPooling3D(_Pooling):
    """Max pooling over the three spatial axes of a volume batch.

    Args:
        pool_size: int or tuple of 3 ints: the window size (default (2, 2, 2)).
        strides: int or tuple of 3 ints (default: `pool_size`).
        padding: "valid" (no padding) or "same" (output size ceil(input / strides);
            padded entries never win).
        data_format: "channels_last" (default, (batch, d1, d2, d3, channels)) or "channels_first"
            ((batch, channels, d1, d2, d3)).

    Example:
        >>> keras.layers.MaxPooling3D(2)(tf.ones((1, 4, 4, 4, 3))).shape
        TensorShape([1, 2, 2, 2, 3])
    """

    _rank, _mode = 3, "max"

    def __init__(
        self,
        pool_size: Any = (2, 2, 2),
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """Average pooling over the steps of (batch, steps, features).

    Args:
        pool_size: int or tuple of 1 ints: the window size (default 2).
        strides: int or tuple of 1 ints (default: `pool_size`).
        padding: "valid" (no padding) or "same" (output size ceil(input / strides);
            padded entries are not counted).
        data_format: "channels_last" (default, (batch, steps, features)) or "channels_first"
            ((batch, features, steps)).

    Example:
        >>> keras.layers.AveragePooling1D(2)(tf.ones((1, 6, 3))).shape
        TensorShape([1, 3, 3])
    """

    _rank, _mode = 1, "avg"

    def __init__(
        self,
        pool_size: Any = 2,
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format, **kwargs)


class AveragePooling2D(_Pooling):
    """Average pooling over the rows and columns of an image batch.

    Args:
        pool_size: int or tuple of 2 ints: the window size (default (2, 2)).
        strides: int or tuple of 2 ints (default: `pool_size`).
        padding: "valid" (no padding) or "same" (output size ceil(input / strides);
            padded entries are not counted).
        data_format: "channels_last" (default, (batch, rows, cols, channels)) or "channels_first"
            ((batch, channels, rows, cols)).

    Example:
        >>> keras.layers.AveragePooling2D(2)(tf.ones((1, 4, 4, 3))).shape
        TensorShape([1, 2, 2, 3])
    """

    _rank, _mode = 2, "avg"

    def __init__(
        self,
        pool_size: Any = (2, 2),
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format, **kwargs)


class AveragePooling3D(_Pooling):
    """Average pooling over the three spatial axes of a volume batch.

    Args:
        pool_size: int or tuple of 3 ints: the window size (default (2, 2, 2)).
        strides: int or tuple of 3 ints (default: `pool_size`).
        padding: "valid" (no padding) or "same" (output size ceil(input / strides);
            padded entries are not counted).
        data_format: "channels_last" (default, (batch, d1, d2, d3, channels)) or "channels_first"
            ((batch, channels, d1, d2, d3)).

    Example:
        >>> keras.layers.AveragePooling3D(2)(tf.ones((1, 4, 4, 4, 3))).shape
        TensorShape([1, 2, 2, 2, 3])
    """

    _rank, _mode = 3, "avg"

    def __init__(
        self,
        pool_size: Any = (2, 2, 2),
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format, **kwargs)


MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D


class _GlobalPooling(Layer):
    """Reduce all spatial axes with max or mean."""

    _rank = 1
    _mode = "max"

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self._rank + 2)
        # As Keras 3: only GlobalAveragePooling1D uses a mask; the max pools take every step.
        self.supports_masking = self._rank == 1 and self._mode == "avg"

    def call(self, inputs: Tensor) -> Tensor:
        return self._pool(inputs, None)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None  # the steps are reduced (a dropped mask warns in Layer.__call__, as Keras)

    def _pool(self, inputs: Tensor, mask: Any) -> Tensor:
        """The reduction; `mask` (batch, steps) weights GlobalAveragePooling1D's mean."""
        x = inputs
        if isinstance(x, tf.RaggedTensor):  # ragged steps: pool each row over its own length
            axes = spatial_axes(self.data_format, self._rank)
            fn = tf.reduce_mean if self._mode == "avg" else tf.reduce_max
            return fn(x if x.dtype.is_floating else tf.cast(x, self.dtype), axes, keepdims=self.keepdims)
        if x._value is not None and not is_real_float_np(x._value.dtype):
            x = tf.cast(x, self.compute_dtype)
        axes = spatial_axes(self.data_format, self._rank)
        if mask is not None and self._rank == 1 and self._mode == "avg":
            m = tf.cast(
                tf.expand_dims(tf.convert_to_tensor(mask), 2 if self.data_format == "channels_last" else 1),
                x.dtype,
            )
            return tf.reduce_sum(x * m, axes, keepdims=self.keepdims) / tf.reduce_sum(
                m, axes, keepdims=self.keepdims
            )
        if self._mode == "avg":
            return tf.reduce_mean(x, axes, keepdims=self.keepdims)
        return tf.reduce_max(x, axes, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        s = tuple(input_shape)
        if self.data_format == "channels_last":
            return (s[0],) + (1,) * self._rank + (s[-1],) if self.keepdims else (s[0], s[-1])
        return (s[0], s[1]) + (1,) * self._rank if self.keepdims else (s[0], s[1])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps: (batch, steps, features) -> (batch, features) (keepdims: (batch, 1, features)).

    Args:
        data_format: "channels_last" (default) or "channels_first" ((batch, features, steps)).
        keepdims: keep the reduced axis with size 1.

    A Keras mask is not used (masked steps take part in the maximum, as in Keras 3, which warns).
    """

    _rank, _mode = 1, "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps: (batch, steps, features) -> (batch, features).

    Args:
        data_format: "channels_last" (default) or "channels_first" ((batch, features, steps)).
        keepdims: keep the reduced axis with size 1.

    A mask (batch, steps) averages over the unmasked steps only.
    """

    _rank, _mode = 1, "avg"

    def call(self, inputs: Tensor, mask: Any = None) -> Tensor:
        return self._pool(inputs, mask)


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over rows and columns: (batch, rows, cols, channels) -> (batch, channels).

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the reduced axes with size 1: (batch, 1, 1, channels).
    """

    _rank, _mode = 2, "max"


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over rows and columns: (batch, rows, cols, channels) -> (batch, channels).

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the reduced axes with size 1: (batch, 1, 1, channels).
    """

    _rank, _mode = 2, "avg"


class GlobalMaxPooling3D(_GlobalPooling):
    """Max over the three spatial axes: (batch, d1, d2, d3, channels) -> (batch, channels).

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the reduced axes with size 1.
    """

    _rank, _mode = 3, "max"


class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over the three spatial axes: (batch, d1, d2, d3, channels) -> (batch, channels).

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the reduced axes with size 1.
    """

    _rank, _mode = 3, "avg"


GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D)

"""DepthwiseConv1D and SeparableConv1D: the 2-D layers on sequences (batch, steps, channels),
run as their 2-D convolutions over a height-1 image; weights keep Keras's 1-D shapes."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.base import InputSpec
from tapeflow.keras.layers.conv import DepthwiseConv2D, SeparableConv2D, _float_input, check_window
from tapeflow.tensor import Tensor


class _As1D:
    """Run a 2-D convolution layer on (batch, steps, channels) with a height-1 image."""

    _rank = 1

    def _lift(self, x: Tensor) -> Tensor:
        return tf.expand_dims(x, 1 if self.data_format == "channels_last" else 2)

    def _drop(self, y: Tensor) -> Tensor:
        return tf.squeeze(y, 1 if self.data_format == "channels_last" else 2)

    def _strides_2d(self) -> list:
        return [1, 1, *self.strides, 1] if self.data_format == "channels_last" else [1, 1, 1, *self.strides]

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected an input of rank 3, received shape "
                             f"{shape}.")
        check_window(self, shape, self._dilated_kernel(), self.padding, "kernel size")
        c = shape[self._channel_axis]
        out = self.filters if hasattr(self, "filters") else (None if c is None else c * self.depth_multiplier)
        return self._with_spatial(shape, self._spatial_out(shape, self.kernel_size), out)


class DepthwiseConv1D(_As1D, DepthwiseConv2D):
    """Depthwise 1-D convolution: each channel of (batch, steps, channels) convolved with its own
    `depth_multiplier` filters. Kernel (k, channels, depth_multiplier); arguments as DepthwiseConv2D."""

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: Any = 1, **kwargs: Any) -> None:
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self.input_spec = InputSpec(ndim=3, axes={self._channel_axis: self.kernel.shape[1]})

    def call(self, inputs: Tensor) -> Tensor:
        x = _float_input(self, inputs)
        check_window(self, tuple(x.shape), self._dilated_kernel(), self.padding, "kernel size")
        y = tf.nn.depthwise_conv2d(self._lift(x), tf.expand_dims(self.kernel, 0), self._strides_2d(),
                                   self.padding.upper(),
                                   data_format="NHWC" if self.data_format == "channels_last" else "NCHW",
                                   dilations=[1, *self.dilation_rate])
        return self._finish(self._drop(y))


class SeparableConv1D(_As1D, SeparableConv2D):
    """Depthwise separable 1-D convolution. Weights: depthwise_kernel (k, channels,
    depth_multiplier), pointwise_kernel (1, channels * depth_multiplier, filters), bias (filters,).
    Arguments as SeparableConv2D."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape: Any) -> None:
        c = self._input_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel", shape=self.kernel_size + (c, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel", shape=(1, c * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self._build_common(input_shape, self.filters)
        self.input_spec = InputSpec(ndim=3, axes={self._channel_axis: c})
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        x = _float_input(self, inputs)
        check_window(self, tuple(x.shape), self._dilated_kernel(), self.padding, "kernel size")
        y = tf.nn.separable_conv2d(self._lift(x), tf.expand_dims(self.depthwise_kernel, 0),
                                   tf.expand_dims(self.pointwise_kernel, 0), self._strides_2d(),
                                   self.padding.upper(),
                                   data_format="NHWC" if self.data_format == "channels_last" else "NCHW",
                                   dilations=[1, *self.dilation_rate])
        return self._finish(self._drop(y))


SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D

"""Convolution layers: Conv1D/2D/3D, Conv1D/2D/3DTranspose, DepthwiseConv2D, SeparableConv2D.

Weights have Keras's shapes, so weights copied with `set_weights` give Keras's outputs:
Conv kernel (*kernel_size, in_channels // groups, filters); ConvTranspose kernel
(*kernel_size, filters, in_channels); DepthwiseConv2D kernel (kh, kw, in_channels,
depth_multiplier); SeparableConv2D depthwise (kh, kw, in, depth_multiplier) and pointwise
(1, 1, in * depth_multiplier, filters). The arithmetic is `tf.nn`'s (tapeflow/ops/conv.py, conv_primitives.py).
"""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.dtypes import is_real_float_np
from tapeflow.errors import UnimplementedError
from tapeflow.keras import activations, backend, constraints, initializers, regularizers
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.keras.layers.core import _fused_name
from tapeflow.ops import fused_conv as _fused_conv
from tapeflow.tensor import Tensor

# ---------------------------------------------------------------------------------------------
# Argument helpers shared by the spatial layers (pooling imports them too)
# ---------------------------------------------------------------------------------------------

TF_FORMATS = {
    ("channels_last", 1): "NWC",
    ("channels_first", 1): "NCW",
    ("channels_last", 2): "NHWC",
    ("channels_first", 2): "NCHW",
    ("channels_last", 3): "NDHWC",
    ("channels_first", 3): "NCDHW",
}


def standardize_data_format(value: str | None) -> str:
    """ "channels_last" / "channels_first" (default: `keras.backend.image_data_format()`)."""
    fmt = (value or backend.image_data_format()).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', received {value!r}.")
    return fmt


def standardize_tuple(value: Any, n: int, what: str, allow_zero: bool = False) -> tuple:
    """An int or an n-sequence of ints as an n-tuple of positive (or non-negative) ints."""
    if isinstance(value, int):
        out = (value,) * n
    else:
        try:
            out = tuple(int(v) for v in value)
        except TypeError:
            raise ValueError(f"{what} must be an int or a tuple of {n} ints, received {value!r}.") from None
        if len(out) != n:
            raise ValueError(f"{what} must be an int or a tuple of {n} ints, received {value!r}.")
    if any(v < 0 or (v == 0 and not allow_zero) for v in out):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{what} must be {kind} integers, received {value!r}.")
    return out


def standardize_padding(value: str, allow_causal: bool = False) -> str:
    """ "valid" / "same" (/ "causal"), case-insensitive."""
    pad = str(value).lower()
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if pad not in allowed:
        raise ValueError(f"padding must be one of {', '.join(map(repr, allowed))}, received {value!r}.")
    return pad


def spatial_axes(data_format: str, rank: int) -> list[int]:
    """The spatial axes of a (batch, ..., channels) or (batch, channels, ...) tensor."""
    return list(range(2, 2 + rank)) if data_format == "channels_first" else list(range(1, 1 + rank))


def check_window(layer: Layer, input_shape: Any, window: tuple, padding: str, what: str) -> None:
    """Raise a ValueError naming the layer and both sizes when a VALID window exceeds the input."""
    if padding != "valid":
        return
    axes = spatial_axes(layer.data_format, len(window))
    shape = tuple(input_shape)
    if len(shape) < len(window) + 2:
        return
    sizes = (
        tuple(shape[a] for a in axes)
        if layer.data_format == "channels_first"
        else tuple(shape[len(shape) - 1 - len(window) : len(shape) - 1])
    )
    if any(n is not None and n < w for n, w in zip(sizes, window, strict=True)):
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': the {what} {window} is larger than the input's "
            f"spatial size {sizes} with padding='valid' (input shape {shape})."
        )


def _serialize(module: Any, obj: Any) -> Any:
    return None if obj is None else module.serialize(obj)


def _conv_length(n: int | None, k: int, s: int, d: int, padding: str) -> int | None:
    """Output length of a convolution / pooling window along one axis (TF's arithmetic)."""
    if n is None:
        return None
    if padding == "valid":
        return (n - ((k - 1) * d + 1)) // s + 1
    return -(-n // s)  # same and causal: ceil(n / s)


def _transpose_length(
    n: int | None, k: int, s: int, d: int, padding: str, output_padding: int | None
) -> int | None:
    """Output length of a transposed convolution along one axis (Keras's arithmetic)."""
    if n is None:
        return None
    k = (k - 1) * d + 1
    if padding == "valid":
        extra = max(k, s) - k if output_padding is None else output_padding
        return (n - 1) * s + k + extra
    if output_padding is None:
        return n * s
    return (n - 1) * s + k % 2 + output_padding


def _float_input(layer: Layer, x: Tensor) -> Tensor:
    v = x._value
    if v is not None and not is_real_float_np(v.dtype):
        return tf.cast(x, layer.dtype)
    return x


# ---------------------------------------------------------------------------------------------
# Shared base: argument handling, bias, activation, batch dims, shape checks
# ---------------------------------------------------------------------------------------------


class _BaseConv(Layer):
    """What every convolution layer shares: strides, padding, data_format, bias and activation."""

    _rank = 2
    _allow_causal = False

    def __init__(
        self,
        kernel_size: Any,
        strides: Any,
        padding: str,
        data_format: str | None,
        dilation_rate: Any,
        activation: Any,
        use_bias: bool,
        bias_initializer: Any,
        bias_regularizer: Any,
        activity_regularizer: Any,
        bias_constraint: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self).__name__
        r = self._rank
        self.kernel_size = standardize_tuple(kernel_size, r, f"{cls}: kernel_size")
        self.strides = standardize_tuple(strides, r, f"{cls}: strides")
        self.dilation_rate = standardize_tuple(dilation_rate, r, f"{cls}: dilation_rate")
        self.padding = standardize_padding(padding, allow_causal=self._allow_causal)
        self.data_format = standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{cls}: strides > 1 are not supported together with dilation_rate > 1, received "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}."
            )
        self.input_spec = InputSpec(min_ndim=r + 2) if r < 3 else InputSpec(ndim=r + 2)
        self._tf_format = TF_FORMATS[(self.data_format, r)]
        self._channel_axis = 1 if self.data_format == "channels_first" else -1
        self._bias_shape: tuple | None = None
        self.bias = None

    # -- helpers for subclasses -------------------------------------------------------------
    def _input_channels(self, input_shape: Any) -> int:
        shape = tuple(input_shape)
        c = shape[self._channel_axis] if len(shape) >= self._rank + 2 else None
        if c is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the channel dimension of the input must be "
                f"known, received shape {shape}."
            )
        return int(c)

    def _build_common(self, input_shape: Any, out_channels: int) -> int:
        """Check the input, set the input spec and create the bias; returns the input channels."""
        shape = tuple(input_shape)
        if len(shape) < self._rank + 2:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected an input of rank {self._rank + 2}, "
                f"received shape {shape}."
            )
        c = self._input_channels(shape)
        spec = {"ndim": self._rank + 2} if self._rank == 3 else {"min_ndim": self._rank + 2}
        self.input_spec = InputSpec(axes={self._channel_axis: c}, **spec)
        self.compute_output_shape(shape)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(out_channels,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        if self.data_format == "channels_first":
            self._bias_shape = (out_channels,) + (1,) * self._rank
        return c

    def _finish(self, y: Tensor) -> Tensor:
        """Add the bias and apply the activation."""
        if self.bias is not None:
            b = self.bias if self._bias_shape is None else tf.reshape(self.bias, self._bias_shape)
            y = y + b
        act = self.activation
        if act is not None and act is not activations.linear:
            y = act(y)
        return y

    def _flatten(self, x: Tensor) -> tuple[Tensor, tuple | None]:
        """Merge extra leading batch axes (inputs of rank > rank + 2) into one."""
        shape = tuple(x.shape)
        extra = len(shape) - (self._rank + 2)
        if extra <= 0:
            return x, None
        return tf.reshape(x, (-1,) + shape[extra + 1 :]), shape[: extra + 1]

    @staticmethod
    def _unflatten(y: Tensor, batch: tuple | None) -> Tensor:
        return y if batch is None else tf.reshape(y, batch + tuple(y.shape[1:]))

    def _spatial_out(self, input_shape: tuple, window: tuple) -> list:
        sizes = self._spatial_sizes(input_shape)
        return [
            _conv_length(n, k, s, d, self.padding)
            for n, k, s, d in zip(sizes, window, self.strides, self.dilation_rate, strict=True)
        ]

    def _spatial_sizes(self, input_shape: tuple) -> tuple:
        r = self._rank
        if self.data_format == "channels_first":
            return tuple(input_shape[2 : 2 + r])
        return tuple(input_shape[len(input_shape) - 1 - r : len(input_shape) - 1])

    def _with_spatial(self, input_shape: tuple, spatial: list, channels: int) -> tuple:
        shape = tuple(input_shape)
        if self.data_format == "channels_first":
            return shape[:1] + (channels,) + tuple(spatial)
        return shape[: len(shape) - 1 - self._rank] + tuple(spatial) + (channels,)

    def _dilated_kernel(self) -> tuple:
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate, strict=True))

    def _check_rank(self, shape: tuple) -> None:
        if len(shape) < self._rank + 2:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected an input of rank {self._rank + 2}, "
                f"received shape {shape}."
            )

    def _base_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "kernel_size": list(self.kernel_size),
                "strides": list(self.strides),
                "padding": self.padding,
                "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "bias_initializer": _serialize(initializers, self.bias_initializer),
                "bias_regularizer": _serialize(regularizers, self.bias_regularizer),
                "activity_regularizer": _serialize(regularizers, self.activity_regularizer),
                "bias_constraint": _serialize(constraints, self.bias_constraint),
            }
        )
        return config


# ---------------------------------------------------------------------------------------------
# Conv1D / Conv2D / Conv3D
# ---------------------------------------------------------------------------------------------


class _Conv(_BaseConv):
    """N-D convolution layer: `activation(conv(inputs, kernel) + bias)`."""

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        groups: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.pop("lora_rank", None):
            raise UnimplementedError(None, None, f"{type(self).__name__}: LoRA (lora_rank) on convolutions is not "
                                     "supported by Tapeflow; LoRA works on Dense layers.")
        kwargs.pop("lora_alpha", None)
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            activity_regularizer,
            bias_constraint,
            **kwargs,
        )
        cls = type(self).__name__
        if int(filters) <= 0:
            raise ValueError(f"{cls}: filters must be a positive integer, received filters={filters!r}.")
        if int(groups) <= 0:
            raise ValueError(f"{cls}: groups must be a positive integer, received groups={groups!r}.")
        if int(filters) % int(groups):
            raise ValueError(f"{cls}: filters ({filters}) must be divisible by groups ({groups}).")
        self.filters = int(filters)
        self.groups = int(groups)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.kernel = None
        self._op_name = ("conv1d", "conv2d", "conv3d")[self._rank - 1]
        self._fused: str | None = None

    def build(self, input_shape: Any) -> None:
        c = self._input_channels(input_shape)
        if c % self.groups:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the input's {c} channels must be divisible by "
                f"groups={self.groups} (input shape {tuple(input_shape)})."
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=self.kernel_size + (c // self.groups, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self._build_common(input_shape, self.filters)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        x = _float_input(self, inputs)
        x, batch = self._flatten(x)
        padding = self.padding
        if padding == "causal":
            left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
            pads = (
                [[0, 0], [0, 0], [left, 0]]
                if self.data_format == "channels_first"
                else [[0, 0], [left, 0], [0, 0]]
            )
            x = tf.pad(x, pads)
            padding = "valid"
        check_window(
            self,
            tuple(x.shape),
            self._dilated_kernel(),
            padding,
            "kernel size" if max(self.dilation_rate) == 1 else "dilated kernel size",
        )
        fused = self._fused
        if fused is None:
            fused = self._fused = _fused_name(self.activation)
        if fused:
            # One primitive for conv + bias + activation (ops/fused_conv.py). Keras's sigmoid
            # records its logits for binary cross-entropy, so it is applied after (as in Dense).
            keras_sigmoid = fused == "sigmoid" and self.activation is activations.sigmoid
            y = _fused_conv.conv_bias_activation(
                x,
                self.kernel,
                self.bias,
                list(self.strides),
                padding.upper(),
                "linear" if keras_sigmoid else fused,
                data_format=self._tf_format,
                dilations=list(self.dilation_rate),
                rank=self._rank,
            )
            if keras_sigmoid:
                y = self.activation(y)
            return self._unflatten(y, batch)
        y = getattr(tf.nn, self._op_name)(
            x,
            self.kernel,
            list(self.strides),
            padding.upper(),
            data_format=self._tf_format,
            dilations=list(self.dilation_rate),
        )
        return self._unflatten(self._finish(y), batch)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        self._check_rank(shape)
        check_window(
            self,
            shape,
            self._dilated_kernel(),
            "valid" if self.padding == "valid" else "same",
            "kernel size" if max(self.dilation_rate) == 1 else "dilated kernel size",
        )
        return self._with_spatial(shape, self._spatial_out(shape, self.kernel_size), self.filters)

    def get_config(self) -> dict:
        config = self._base_config()
        config.update(
            {
                "filters": self.filters,
                "groups": self.groups,
                "kernel_initializer": _serialize(initializers, self.kernel_initializer),
                "kernel_regularizer": _serialize(regularizers, self.kernel_regularizer),
                "kernel_constraint": _serialize(constraints, self.kernel_constraint),
            }
        )
        return config


class Conv1D(_Conv):
    """1-D convolution over the steps of (batch, steps, channels).

    Args:
        filters: number of output channels.
        kernel_size: int or (k,): the window length.
        strides: int or (s,) (default 1).
        padding: "valid" (default), "same" (output length ceil(steps / strides)) or "causal"
            (left-padded so output step t sees only input steps <= t).
        data_format: "channels_last" (default) or "channels_first" ((batch, channels, steps)).
        dilation_rate: int or (d,) (default 1).
        groups: split the input channels into groups convolved separately (default 1).
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as in Keras.

    Weights: kernel (k, in_channels // groups, filters), bias (filters,).

    Example:
        >>> keras.layers.Conv1D(8, 3, padding="causal")(tf.ones((2, 10, 4))).shape
        TensorShape([2, 10, 8])
    """

    _rank = 1
    _allow_causal = True


class Conv2D(_Conv):
    """2-D convolution over the rows and columns of an image batch.

    Args:
        filters: number of output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw) (default 1).
        padding: "valid" (default) or "same" (output size ceil(input / strides); TF's split,
            the odd pixel at the bottom / right).
        data_format: "channels_last" (default, (batch, rows, cols, channels)) or "channels_first".
        dilation_rate: int or (dh, dw) (default 1).
        groups: split the input channels into groups convolved separately (default 1).
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as in Keras.

    Weights: kernel (kh, kw, in_channels // groups, filters), bias (filters,).

    Example:
        >>> keras.layers.Conv2D(32, 5, padding="same", activation="relu")(tf.ones((1, 28, 28, 1))).shape
        TensorShape([1, 28, 28, 32])
    """

    _rank = 2


class Conv3D(_Conv):
    """3-D convolution over the spatial axes of a volume batch (batch, d1, d2, d3, channels).

    Args: as `Conv2D`, with 3-tuples. Weights: kernel (k1, k2, k3, in_channels // groups,
    filters), bias (filters,).

    Example:
        >>> keras.layers.Conv3D(4, 3)(tf.ones((1, 5, 5, 5, 2))).shape
        TensorShape([1, 3, 3, 3, 4])
    """

    _rank = 3


# ---------------------------------------------------------------------------------------------
# Transposed convolutions
# ---------------------------------------------------------------------------------------------


class _ConvTranspose(_BaseConv):
    """Transposed convolution: the gradient of a convolution with respect to its input."""

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        output_padding: Any = None,
        data_format: str | None = None,
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            activity_regularizer,
            bias_constraint,
            **kwargs,
        )
        cls = type(self).__name__
        if int(filters) <= 0:
            raise ValueError(f"{cls}: filters must be a positive integer, received filters={filters!r}.")
        self.filters = int(filters)
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = standardize_tuple(
                output_padding, self._rank, f"{cls}: output_padding", allow_zero=True
            )
            for i, (op, s) in enumerate(zip(self.output_padding, self.strides, strict=True)):
                if op >= s:
                    raise ValueError(
                        f"{cls}: output_padding must be smaller than strides on every axis; at axis {i} "
                        f"output_padding is {op} and strides is {s}."
                    )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.input_spec = InputSpec(ndim=self._rank + 2)
        self.kernel = None
        self._op_name = ("conv1d_transpose", "conv2d_transpose", "conv3d_transpose")[self._rank - 1]

    def build(self, input_shape: Any) -> None:
        c = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=self.kernel_size + (self.filters, c),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self._build_common(input_shape, self.filters)
        self.input_spec = InputSpec(ndim=self._rank + 2, axes={self._channel_axis: c})
        self.built = True

    def _out_spatial(self, shape: tuple) -> list:
        ops = self.output_padding or (None,) * self._rank
        return [
            _transpose_length(n, k, s, d, self.padding, op)
            for n, k, s, d, op in zip(
                self._spatial_sizes(shape),
                self.kernel_size,
                self.strides,
                self.dilation_rate,
                ops,
                strict=True,
            )
        ]

    def call(self, inputs: Tensor) -> Tensor:
        x = _float_input(self, inputs)
        shape = tuple(x.shape)
        out_shape = self._with_spatial(shape, self._out_spatial(shape), self.filters)
        y = getattr(tf.nn, self._op_name)(
            x,
            self.kernel,
            out_shape,
            list(self.strides),
            padding=self.padding.upper(),
            data_format=self._tf_format,
            dilations=list(self.dilation_rate),
        )
        return self._finish(y)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if len(shape) != self._rank + 2:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected an input of rank {self._rank + 2}, "
                f"received shape {shape}."
            )
        return self._with_spatial(shape, self._out_spatial(shape), self.filters)

    def get_config(self) -> dict:
        config = self._base_config()
        config.update(
            {
                "filters": self.filters,
                "output_padding": None if self.output_padding is None else list(self.output_padding),
                "kernel_initializer": _serialize(initializers, self.kernel_initializer),
                "kernel_regularizer": _serialize(regularizers, self.kernel_regularizer),
                "kernel_constraint": _serialize(constraints, self.kernel_constraint),
            }
        )
        return config


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution ("deconvolution") of (batch, steps, channels).

    Args:
        filters: number of output channels.
        kernel_size, strides, dilation_rate: int or 1-tuples.
        padding: "valid" (output (steps - 1) * strides + max(kernel, strides)) or "same"
            (output steps * strides).
        output_padding: extra steps added at the end (each < strides), or None.
        data_format, activation, use_bias, initializers, regularizers, constraints: as in Keras.

    Weights: kernel (k, filters, in_channels), bias (filters,).

    Example:
        >>> keras.layers.Conv1DTranspose(4, 3, strides=2, padding="same")(tf.ones((1, 5, 2))).shape
        TensorShape([1, 10, 4])
    """

    _rank = 1


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution ("deconvolution") of an image batch.

    Args:
        filters: number of output channels.
        kernel_size, strides, dilation_rate: int or 2-tuples.
        padding: "valid" (output (n - 1) * strides + max(kernel, strides) per axis) or "same"
            (output n * strides).
        output_padding: extra rows / columns added at the end (each < strides), or None.
        data_format, activation, use_bias, initializers, regularizers, constraints: as in Keras.

    Weights: kernel (kh, kw, filters, in_channels), bias (filters,).

    Example:
        >>> keras.layers.Conv2DTranspose(8, 3, strides=2, padding="same")(tf.ones((1, 7, 7, 4))).shape
        TensorShape([1, 14, 14, 8])
    """

    _rank = 2


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution; kernel (k1, k2, k3, filters, in_channels).

    Example:
        >>> keras.layers.Conv3DTranspose(2, 2, strides=2)(tf.ones((1, 3, 3, 3, 4))).shape
        TensorShape([1, 6, 6, 6, 2])
    """

    _rank = 3


# ---------------------------------------------------------------------------------------------
# Depthwise and separable convolutions
# ---------------------------------------------------------------------------------------------


class DepthwiseConv2D(_BaseConv):
    """Depthwise 2-D convolution: each input channel convolved with its own `depth_multiplier` filters.

    Args:
        kernel_size: int or (kh, kw).
        strides, padding, data_format, dilation_rate: as `Conv2D`.
        depth_multiplier: output channels per input channel (default 1).
        depthwise_initializer / depthwise_regularizer / depthwise_constraint: for the kernel.
        activation, use_bias, bias_initializer, bias_regularizer, activity_regularizer,
        bias_constraint: as in Keras.

    Weights: kernel (kh, kw, in_channels, depth_multiplier), bias (in_channels * depth_multiplier,).
    Output channel `c * depth_multiplier + m` uses `kernel[..., c, m]`.

    Example:
        >>> keras.layers.DepthwiseConv2D(3, depth_multiplier=2)(tf.ones((1, 5, 5, 3))).shape
        TensorShape([1, 3, 3, 6])
    """

    _rank = 2

    def __init__(
        self,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        depth_multiplier: int = 1,
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            activity_regularizer,
            bias_constraint,
            **kwargs,
        )
        if int(depth_multiplier) <= 0:
            raise ValueError(
                f"DepthwiseConv2D: depth_multiplier must be a positive integer, "
                f"received {depth_multiplier!r}."
            )
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.input_spec = InputSpec(ndim=4)
        self.kernel = None

    @property
    def depthwise_kernel(self) -> Any:
        """The kernel under its tf.keras 2 name."""
        return self.kernel

    def build(self, input_shape: Any) -> None:
        c = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=self.kernel_size + (c, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )
        self._build_common(input_shape, c * self.depth_multiplier)
        self.input_spec = InputSpec(ndim=4, axes={self._channel_axis: c})
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        x = _float_input(self, inputs)
        check_window(self, tuple(x.shape), self._dilated_kernel(), self.padding, "kernel size")
        y = tf.nn.depthwise_conv2d(
            x,
            self.kernel,
            [1, *self.strides, 1] if self.data_format == "channels_last" else [1, 1, *self.strides],
            self.padding.upper(),
            data_format=self._tf_format,
            dilations=list(self.dilation_rate),
        )
        return self._finish(y)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if len(shape) != 4:
            raise ValueError(
                f"DepthwiseConv2D '{self.name}': expected an input of rank 4, received shape {shape}."
            )
        check_window(self, shape, self._dilated_kernel(), self.padding, "kernel size")
        c = shape[self._channel_axis]
        return self._with_spatial(
            shape,
            self._spatial_out(shape, self.kernel_size),
            None if c is None else c * self.depth_multiplier,
        )

    def get_config(self) -> dict:
        config = self._base_config()
        config.update(
            {
                "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": _serialize(initializers, self.depthwise_initializer),
                "depthwise_regularizer": _serialize(regularizers, self.depthwise_regularizer),
                "depthwise_constraint": _serialize(constraints, self.depthwise_constraint),
            }
        )
        return config


class SeparableConv2D(_BaseConv):
    """Depthwise separable 2-D convolution: a depthwise convolution, then a 1x1 convolution.

    Args:
        filters: number of output channels.
        kernel_size, strides, padding, data_format, dilation_rate: of the depthwise step, as `Conv2D`.
        depth_multiplier: depthwise output channels per input channel (default 1).
        depthwise_* / pointwise_*: initializer, regularizer and constraint of each kernel.
        activation, use_bias, bias_initializer, bias_regularizer, activity_regularizer,
        bias_constraint: as in Keras.

    Weights: depthwise_kernel (kh, kw, in_channels, depth_multiplier), pointwise_kernel
    (1, 1, in_channels * depth_multiplier, filters), bias (filters,).

    Example:
        >>> keras.layers.SeparableConv2D(8, 3, padding="same")(tf.ones((1, 6, 6, 3))).shape
        TensorShape([1, 6, 6, 8])
    """

    _rank = 2

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            activity_regularizer,
            bias_constraint,
            **kwargs,
        )
        if int(filters) <= 0:
            raise ValueError(
                f"SeparableConv2D: filters must be a positive integer, received filters={filters!r}."
            )
        if int(depth_multiplier) <= 0:
            raise ValueError(
                f"SeparableConv2D: depth_multiplier must be a positive integer, "
                f"received {depth_multiplier!r}."
            )
        self.filters = int(filters)
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.input_spec = InputSpec(ndim=4)
        self.depthwise_kernel = None
        self.pointwise_kernel = None

    def build(self, input_shape: Any) -> None:
        c = self._input_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel",
            shape=self.kernel_size + (c, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel",
            shape=(1, 1, c * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
        )
        self._build_common(input_shape, self.filters)
        self.input_spec = InputSpec(ndim=4, axes={self._channel_axis: c})
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        x = _float_input(self, inputs)
        check_window(self, tuple(x.shape), self._dilated_kernel(), self.padding, "kernel size")
        y = tf.nn.separable_conv2d(
            x,
            self.depthwise_kernel,
            self.pointwise_kernel,
            [1, *self.strides, 1] if self.data_format == "channels_last" else [1, 1, *self.strides],
            self.padding.upper(),
            data_format=self._tf_format,
            dilations=list(self.dilation_rate),
        )
        return self._finish(y)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if len(shape) != 4:
            raise ValueError(
                f"SeparableConv2D '{self.name}': expected an input of rank 4, received shape {shape}."
            )
        check_window(self, shape, self._dilated_kernel(), self.padding, "kernel size")
        return self._with_spatial(shape, self._spatial_out(shape, self.kernel_size), self.filters)

    def get_config(self) -> dict:
        config = self._base_config()
        config.update(
            {
                "filters": self.filters,
                "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": _serialize(initializers, self.depthwise_initializer),
                "pointwise_initializer": _serialize(initializers, self.pointwise_initializer),
                "depthwise_regularizer": _serialize(regularizers, self.depthwise_regularizer),
                "pointwise_regularizer": _serialize(regularizers, self.pointwise_regularizer),
                "depthwise_constraint": _serialize(constraints, self.depthwise_constraint),
                "pointwise_constraint": _serialize(constraints, self.pointwise_constraint),
            }
        )
        return config


Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (
    Conv1DTranspose,
    Conv2DTranspose,
    Conv3DTranspose,
)

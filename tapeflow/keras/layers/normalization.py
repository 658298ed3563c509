"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow import errors as _errors
from tapeflow.dtypes import is_real_float_np
from tapeflow.keras import constraints, initializers, regularizers
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.ops import normalization as _bn_ops
from tapeflow.tensor import Tensor


def _serialize(module: Any, obj: Any) -> Any:
    """`module.serialize(obj)`, or None for None (Keras writes null for unset regularizers)."""
    return None if obj is None else module.serialize(obj)


def _float_input(layer: Layer, x: Tensor) -> Tensor:
    """A non-float input cast to the layer's compute dtype; 2-byte floats upcast to float32.

    NOTE: as in Keras, normalization statistics overflow easily in float16, so a mixed-precision
    layer normalizes in float32 (its weights stay float32: `add_weight(autocast=False)`) and
    `_compute_output` casts the result back to the compute dtype.
    """
    v = x._value
    if not is_real_float_np(x.dtype._np if v is None else v.dtype):
        x = tf.cast(x, layer.compute_dtype)
    if x.dtype.name in ("float16", "bfloat16"):
        return tf.cast(x, "float32")
    return x


def _compute_output(layer: Layer, y: Tensor) -> Tensor:
    return y if y.dtype._np == layer._np_dtype else tf.cast(y, layer._np_dtype)


def _check_axis(layer: Layer, axes: list, ndim: int) -> list:
    """Axes as non-negative ints, or a ValueError naming the layer, the axis and the rank."""
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{type(layer).__name__} '{layer.name}': axis {a} is out of bounds for an input of "
                f"rank {ndim} (received axis={layer.axis})."
            )
        out.append(a % ndim)
    return out


class BatchNormalization(Layer):
    """Normalize each feature with the batch's statistics (training) or moving ones (inference).

    In training mode (`training=True` and the layer trainable) the output is
    `gamma * (x - mean(x)) / sqrt(var(x) + epsilon) + beta` with the batch's mean and (biased)
    variance over every axis but `axis`, and the moving statistics are updated as
    `moving = moving * momentum + batch * (1 - momentum)`. Otherwise the moving statistics are
    used. As in Keras 3, a layer with `trainable = False` always runs in inference mode.

    Args:
        axis: the feature axis (default -1; use 1 after `channels_first` convolutions).
        momentum: momentum of the moving averages (0.99).
        epsilon: added to the variance (1e-3).
        center / scale: whether to add `beta` / multiply by `gamma`.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer,
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: as in Keras.
        synchronized: accepted for compatibility (one device: no effect).

    Call arguments:
        inputs: a tensor of any rank >= 1.
        training: batch statistics (True) or moving statistics (False / None).
        mask: optional boolean mask of rank `inputs.ndim - 1`; masked positions are left out of
            the batch statistics.

    Weights (Keras's order): gamma (C,), beta (C,), moving_mean (C,), moving_variance (C,); the
    last two are non-trainable.

    Example:
        >>> bn = keras.layers.BatchNormalization()
        >>> y = bn(tf.random.normal((8, 4)), training=True)
    """

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        renorm: bool = False,
        renorm_clipping: Any = None,
        renorm_momentum: float = 0.99,
        synchronized: bool = False,
        **kwargs: Any,
    ) -> None:
        # tf.keras 2 arguments that Keras 3 dropped: accept the harmless ones.
        kwargs.pop("fused", None)
        kwargs.pop("virtual_batch_size", None)
        kwargs.pop("adjustment", None)
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise ValueError(f"BatchNormalization: axis must be a single integer, received {axis!r}.")
            axis = axis[0]
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        if renorm:
            raise _errors.UnimplementedError(None, None,
                "BatchNormalization: renorm=True (batch renormalization) is not supported."
            )
        self.renorm = False
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.synchronized = bool(synchronized)
        self.supports_masking = True
        self.gamma = None
        self.beta = None
        self.moving_mean = None
        self.moving_variance = None
        self._axes: tuple = ()
        self._param_shape: tuple | None = None

    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        (axis,) = _check_axis(self, [self.axis], ndim)
        dim = input_shape[axis]
        if dim is None:
            raise ValueError(
                f"BatchNormalization '{self.name}': axis {self.axis} of the input must have a known "
                f"size, received shape {tuple(input_shape)}."
            )
        shape = (int(dim),)
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape,
                name="gamma",
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                trainable=True,
                autocast=False,
            )
        if self.center:
            self.beta = self.add_weight(
                shape=shape,
                name="beta",
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                trainable=True,
                autocast=False,
            )
        self.moving_mean = self.add_weight(
            shape=shape, name="moving_mean", initializer=self.moving_mean_initializer, trainable=False,
            autocast=False,
        )
        self.moving_variance = self.add_weight(
            shape=shape, name="moving_variance", initializer=self.moving_variance_initializer, trainable=False,
            autocast=False,
        )
        self.input_spec = InputSpec(ndim=ndim, axes={self.axis: int(dim)})
        self._axes = tuple(i for i in range(ndim) if i != axis)
        # Parameters broadcast against the input directly when the axis is last.
        self._param_shape = (
            None if axis == ndim - 1 else tuple(int(dim) if i == axis else 1 for i in range(ndim))
        )
        self.built = True

    def _bcast(self, v: Tensor | None) -> Tensor | None:
        if v is None or self._param_shape is None:
            return v
        return tf.reshape(v, self._param_shape)

    def call(self, inputs: Tensor, training: Any = None, mask: Any = None) -> Tensor:
        x = _float_input(self, inputs)
        if training and self.trainable and mask is None:
            # One fused primitive: normalize with the batch statistics and return them.
            y, mean, variance = _bn_ops.batch_norm_training(x, self.gamma, self.beta, self.axis, self.epsilon)
            self._update_moving(mean, variance)
            return _compute_output(self, y)
        gamma = self._bcast(self.gamma)
        beta = self._bcast(self.beta)
        if training and self.trainable:
            mean, variance = self._moments(x, mask)
            self._update_moving(mean, variance)
        else:
            mean = self._bcast(self.moving_mean)
            variance = self._bcast(self.moving_variance)
        # y = x * inv + (beta - mean * inv) with inv = gamma / sqrt(var + eps): two full-size ops.
        inv = tf.math.rsqrt(variance + self.epsilon)
        if gamma is not None:
            inv = inv * gamma
        shift = -mean * inv if beta is None else beta - mean * inv
        return _compute_output(self, x * inv + shift)

    def _moments(self, x: Tensor, mask: Any) -> tuple[Tensor, Tensor]:
        """Batch mean and biased variance (kept broadcastable against `x`)."""
        axes = list(self._axes)
        if mask is None:
            mean = tf.reduce_mean(x, axes, keepdims=True)
            variance = tf.reduce_mean(tf.square(x - mean), axes, keepdims=True)
            return mean, variance
        mask = tf.convert_to_tensor(mask)
        if mask.ndim != x.ndim - 1:
            raise ValueError(
                f"BatchNormalization '{self.name}': the mask must have one dimension less than the "
                f"inputs, received mask shape {tuple(mask.shape)} and input shape {tuple(x.shape)}."
            )
        w = tf.cast(tf.expand_dims(mask, -1), x.dtype)
        from tapeflow.keras import backend as kbackend

        count = tf.reduce_sum(tf.broadcast_to(w, tuple(x.shape)), axes, keepdims=True) + kbackend.epsilon()
        mean = tf.reduce_sum(x * w, axes, keepdims=True) / count
        variance = tf.reduce_sum(tf.square((x - mean) * w), axes, keepdims=True) / count
        return mean, variance

    def _update_moving(self, mean: Tensor, variance: Tensor) -> None:
        """moving = moving * momentum + batch statistic * (1 - momentum), as Keras: assignments,
        so a traced training step updates the statistics as graph ops."""
        m = self.momentum
        for var, stat in ((self.moving_mean, mean), (self.moving_variance, variance)):
            stat = tf.reshape(tf.stop_gradient(stat), tuple(var.shape))
            if stat.dtype != var.dtype:
                stat = tf.cast(stat, var.dtype)
            var.assign(var * m + stat * (1.0 - m))

    def compute_output_shape(self, input_shape: Any) -> Any:
        _check_axis(self, [self.axis], len(input_shape))
        return tuple(input_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "beta_initializer": _serialize(initializers, self.beta_initializer),
                "gamma_initializer": _serialize(initializers, self.gamma_initializer),
                "moving_mean_initializer": _serialize(initializers, self.moving_mean_initializer),
                "moving_variance_initializer": _serialize(initializers, self.moving_variance_initializer),
                "beta_regularizer": _serialize(regularizers, self.beta_regularizer),
                "gamma_regularizer": _serialize(regularizers, self.gamma_regularizer),
                "beta_constraint": _serialize(constraints, self.beta_constraint),
                "gamma_constraint": _serialize(constraints, self.gamma_constraint),
                "synchronized": self.synchronized,
                "renorm": self.renorm,
                "renorm_clipping": self.renorm_clipping,
                "renorm_momentum": self.renorm_momentum,
            }
        )
        return config


class LayerNormalization(Layer):
    """Normalize each sample over `axis` (by default the last), then scale and shift.

    `y = gamma * (x - mean) / sqrt(var + epsilon) + beta`, statistics per sample over `axis`.

    Args:
        axis: an int or a list of ints: the axes to normalize over (default -1).
        epsilon: added to the variance (1e-3).
        center / scale: whether to add `beta` / multiply by `gamma`.
        rms_scaling: deprecated Keras option: `x / sqrt(var + epsilon) * gamma`, no centering of
            the output and no `beta`.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer, beta_constraint,
        gamma_constraint: as in Keras.

    Weights: gamma and beta, each of shape `[input_shape[a] for a in axis]`.

    Example:
        >>> y = keras.layers.LayerNormalization()(tf.random.normal((2, 5)))
    """

    def __init__(
        self,
        axis: Any = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        rms_scaling = kwargs.pop("rms_scaling", False)
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis: Any = [int(a) for a in axis]
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError(f"LayerNormalization: axis must be an int or a list of ints, received {axis!r}.")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = None
        self.beta = None
        self._axes: list = []
        self._param_shape: tuple | None = None

    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        # As in Keras: a list of axes is sorted, an int becomes a one-element list.
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        self._axes = sorted(_check_axis(self, self.axis, ndim))
        shape = tuple(input_shape[a] for a in self.axis)
        if any(d is None for d in shape):
            raise ValueError(
                f"LayerNormalization '{self.name}': the normalized axes {self.axis} must have known "
                f"sizes, received shape {tuple(input_shape)}."
            )
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(
                name="gamma",
                shape=shape,
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                trainable=True,
                autocast=False,
            )
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(
                name="beta",
                shape=shape,
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                trainable=True,
                autocast=False,
            )
        if self._axes == list(range(ndim - len(self._axes), ndim)):
            self._param_shape = None
        else:
            self._param_shape = tuple(int(input_shape[i]) if i in self._axes else 1 for i in range(ndim))
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        x = _float_input(self, inputs)
        gamma, beta = self.gamma, self.beta
        if self._param_shape is not None:
            gamma = None if gamma is None else tf.reshape(gamma, self._param_shape)
            beta = None if beta is None else tf.reshape(beta, self._param_shape)
        mean = tf.reduce_mean(x, self._axes, keepdims=True)
        variance = tf.reduce_mean(tf.square(x - mean), self._axes, keepdims=True)
        inv = tf.math.rsqrt(variance + self.epsilon)
        if self.rms_scaling:
            out = x * inv
            return _compute_output(self, out if gamma is None else out * gamma)
        if gamma is not None:
            inv = inv * gamma
        shift = -mean * inv if beta is None else beta - mean * inv
        return _compute_output(self, x * inv + shift)

    def compute_output_shape(self, input_shape: Any) -> Any:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        _check_axis(self, axes, len(input_shape))
        return tuple(input_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "rms_scaling": self.rms_scaling,
                "beta_initializer": _serialize(initializers, self.beta_initializer),
                "gamma_initializer": _serialize(initializers, self.gamma_initializer),
                "beta_regularizer": _serialize(regularizers, self.beta_regularizer),
                "gamma_regularizer": _serialize(regularizers, self.gamma_regularizer),
                "beta_constraint": _serialize(constraints, self.beta_constraint),
                "gamma_constraint": _serialize(constraints, self.gamma_constraint),
            }
        )
        return config


class GroupNormalization(Layer):
    """Normalize each sample over groups of channels (and all other non-batch axes).

    The `C` channels on `axis` are split into `groups` groups of `C // groups`; each sample and
    group is normalized with its own mean and variance, then scaled by `gamma` and shifted by
    `beta` per channel. `groups=-1` gives instance normalization, `groups=1` layer normalization
    over all axes.

    Args:
        groups: number of groups (32 by default); must divide the channel count.
        axis: the channel axis (default -1).
        epsilon: added to the variance (1e-3).
        center / scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: as in Keras.

    Weights: gamma (C,), beta (C,).

    Example:
        >>> y = keras.layers.GroupNormalization(groups=2)(tf.random.normal((2, 5, 5, 4)))
    """

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(groups, int) or (groups <= 0 and groups != -1):
            raise ValueError(
                "GroupNormalization: groups must be a positive integer (or -1 for instance "
                f"normalization), received groups={groups!r}."
            )
        super().__init__(**kwargs)
        self.groups = groups
        self.axis = int(axis)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = None
        self.beta = None

    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        (axis,) = _check_axis(self, [self.axis], ndim)
        dim = input_shape[axis]
        if dim is None:
            raise ValueError(
                f"GroupNormalization '{self.name}': axis {self.axis} of the input must have a known "
                f"size, received shape {tuple(input_shape)}."
            )
        if self.groups == -1:
            self.groups = int(dim)
        if dim < self.groups:
            raise ValueError(
                f"GroupNormalization '{self.name}': number of groups ({self.groups}) cannot be more "
                f"than the number of channels ({dim})."
            )
        if dim % self.groups:
            raise ValueError(
                f"GroupNormalization '{self.name}': number of groups ({self.groups}) must divide the "
                f"number of channels ({dim})."
            )
        self.input_spec = InputSpec(ndim=ndim, axes={self.axis: int(dim)})
        if self.scale:
            self.gamma = self.add_weight(
                shape=(int(dim),),
                name="gamma",
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                autocast=False,
            )
        if self.center:
            self.beta = self.add_weight(
                shape=(int(dim),),
                name="beta",
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                autocast=False,
            )
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        x = _float_input(self, inputs)
        shape = tuple(x.shape)
        ndim = len(shape)
        axis = self.axis % ndim
        g = self.groups
        # (batch, ..., C, ...) -> (batch, ..., groups, C // groups, ...)
        grouped = shape[:axis] + (g, shape[axis] // g) + shape[axis + 1 :]
        xg = tf.reshape(x, grouped)
        axes = [i for i in range(1, ndim + 1) if i != axis]
        mean = tf.reduce_mean(xg, axes, keepdims=True)
        variance = tf.reduce_mean(tf.square(xg - mean), axes, keepdims=True)
        inv = tf.math.rsqrt(variance + self.epsilon)
        pshape = tuple(g if i == axis else shape[axis] // g if i == axis + 1 else 1 for i in range(ndim + 1))
        if self.gamma is not None:
            inv = inv * tf.reshape(self.gamma, pshape)
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + tf.reshape(self.beta, pshape)
        return _compute_output(self, tf.reshape(xg * inv + shift, shape))

    def compute_output_shape(self, input_shape: Any) -> Any:
        _check_axis(self, [self.axis], len(input_shape))
        return tuple(input_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "groups": self.groups,
                "axis": self.axis,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "beta_initializer": _serialize(initializers, self.beta_initializer),
                "gamma_initializer": _serialize(initializers, self.gamma_initializer),
                "beta_regularizer": _serialize(regularizers, self.beta_regularizer),
                "gamma_regularizer": _serialize(regularizers, self.gamma_regularizer),
                "beta_constraint": _serialize(constraints, self.beta_constraint),
                "gamma_constraint": _serialize(constraints, self.gamma_constraint),
            }
        )
        return config

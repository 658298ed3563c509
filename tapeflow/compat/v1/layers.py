"""`tf.layers` (TF1): functions and classes built on the Keras layers, recording graph nodes.

`tf.layers.dense(x, 10)` creates a Keras `Dense` (named `dense`, `dense_1`, ... inside the
current variable scope, or reused by name with `reuse=True`), builds it from `x`'s static shape
so its weights exist at graph-build time (registered in `GLOBAL_VARIABLES` /
`TRAINABLE_VARIABLES`), and returns a symbolic tensor whose node calls the layer on real values
when the graph runs. `training` may be a Python bool or a boolean placeholder fed per run.

Differences from TF1: batch normalization updates its moving statistics during every run with
`training` true (TF1 leaves that to the `UPDATE_OPS` collection, which stays empty here), and
activity regularizers are not added to the loss collections.
"""

from __future__ import annotations

from typing import Any

from tapeflow import errors as _errors
from tapeflow import graph
from tapeflow.compat.v1.graph import GraphKeys, get_default_graph
from tapeflow.compat.v1.lift import graph_call
from tapeflow.compat.v1.variables import AUTO_REUSE, get_variable_scope, wrap_layer_weights
from tapeflow.keras import layers as _kl
from tapeflow.keras.layers.base import check_input_spec
from tapeflow.tensor import Tensor, convert_to_tensor


def _truth(flag: Any) -> bool:
    """A `training` value (None, a bool or a scalar boolean tensor) as a Python bool."""
    return False if flag is None else bool(flag)


class _GraphLayer:
    """Mixin for Keras layers used TF1-style: each call records a graph node.

    The call builds the layer (weights are created now), registers its weights and
    regularization penalties in the default graph, and returns the symbolic output of a node
    that runs the Keras layer with the run's `training` value.
    """

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        from tapeflow.keras.layers.base import _tracing_ops

        if _tracing_ops(self):  # inside a tf.function trace (a SavedModel signature): the Keras call, op by op
            return super().__call__(inputs, *args, **kwargs)
        training = kwargs.pop("training", False)
        if not isinstance(inputs, Tensor):
            inputs = convert_to_tensor(inputs)
        if not self.built:
            self._maybe_build(inputs)
        elif self.input_spec is not None:
            check_input_spec(self, self.input_spec, tuple(inputs.shape))
        g = get_default_graph()
        wrapped = wrap_layer_weights(self, g)
        self._register_penalties(g, wrapped)
        base = super().__call__  # the Keras Layer.__call__, run on real values

        def run(x: Any, flag: Any, *a: Any, **k: Any) -> Any:
            return base(x, *a, training=_truth(flag), **k)

        specs = self._graph_specs(base, inputs)
        return graph_call(run, (inputs, training) + args, kwargs, name=self.name, specs=specs,
                          captured=self.weights)

    def apply(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Same as calling the layer (TF1's `Layer.apply`)."""
        return self(inputs, *args, **kwargs)

    def _graph_specs(self, base: Any, inputs: Tensor) -> list:
        try:
            shape = self.compute_output_shape(tuple(inputs.shape))
        except NotImplementedError:
            return graph.infer_output_specs(lambda x: base(x, training=False), [inputs])
        return [(tuple(shape), self.compute_dtype)]

    def _register_penalties(self, g: Any, wrapped: list) -> None:
        done = self.__dict__.setdefault("_graph_penalties", set())
        by_id = {id(w): gv for w, gv in zip(self.weights, wrapped, strict=False)}
        for var, reg in self._regularized:
            if id(var) in done or id(var) not in by_id:
                continue
            done.add(id(var))
            penalty = graph_call(reg, (by_id[id(var)],), name=f"{self.name}/Regularizer")
            g.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, penalty)


class Dense(_GraphLayer, _kl.Dense):
    """`tf.layers.Dense`: Keras `Dense` whose calls record graph nodes."""


class Conv1D(_GraphLayer, _kl.Conv1D):
    """`tf.layers.Conv1D`."""


class Conv2D(_GraphLayer, _kl.Conv2D):
    """`tf.layers.Conv2D`."""


class Conv2DTranspose(_GraphLayer, _kl.Conv2DTranspose):
    """`tf.layers.Conv2DTranspose`."""


class SeparableConv2D(_GraphLayer, _kl.SeparableConv2D):
    """`tf.layers.SeparableConv2D`."""


class MaxPooling1D(_GraphLayer, _kl.MaxPooling1D):
    """`tf.layers.MaxPooling1D`."""


class MaxPooling2D(_GraphLayer, _kl.MaxPooling2D):
    """`tf.layers.MaxPooling2D`."""


class AveragePooling1D(_GraphLayer, _kl.AveragePooling1D):
    """`tf.layers.AveragePooling1D`."""


class AveragePooling2D(_GraphLayer, _kl.AveragePooling2D):
    """`tf.layers.AveragePooling2D`."""


class Dropout(_GraphLayer, _kl.Dropout):
    """`tf.layers.Dropout` (call with `training=` a bool or boolean placeholder)."""


class Flatten(_GraphLayer, _kl.Flatten):
    """`tf.layers.Flatten`."""


class BatchNormalization(_GraphLayer, _kl.BatchNormalization):
    """`tf.layers.BatchNormalization` (moving statistics update during training runs)."""


Layer = _kl.Layer
InputSpec = _kl.InputSpec

MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution2DTranspose = Conv2DTranspose
Deconvolution2D = Conv2DTranspose
SeparableConvolution2D = SeparableConv2D


def _layer(cls: type, default_name: str, name: str | None, reuse: Any, **config: Any) -> Any:
    """A new layer named in the current variable scope, or the existing one when reusing."""
    g = get_default_graph()
    scope = get_variable_scope()
    reuse = reuse if reuse is not None and reuse is not False else scope.reuse
    prefix = scope.name
    registry = g._layers_by_name
    if name is None:
        counts = g.__dict__.setdefault("_layer_counts", {})
        key = f"{prefix}/{default_name}"
        n = counts.get(key, 0)
        local = default_name if n == 0 else f"{default_name}_{n}"
        full = f"{prefix}/{local}" if prefix else local
        if (reuse is True or reuse is AUTO_REUSE) and full in registry:
            return registry[full]
        counts[key] = n + 1
    else:
        full = f"{prefix}/{name}" if prefix else name
        existing = registry.get(full)
        if existing is not None:
            if reuse is True or reuse is AUTO_REUSE:
                return existing
            if existing.weights:
                raise ValueError(
                    f"Variable {full}/{existing.weights[0].name.split(':')[0]} already exists, disallowed. "
                    "Did you mean to set reuse=True or reuse=tf.AUTO_REUSE in VarScope?"
                )
        elif reuse is True and cls not in (MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D,
                                           Dropout, Flatten):
            raise ValueError(
                f"Variable {full}/kernel does not exist, or was not created with tf.get_variable(). Did "
                "you mean to set reuse=tf.AUTO_REUSE in VarScope?"
            )
    kwargs = {k: v for k, v in config.items() if v is not None}
    layer = cls(name=full, **kwargs)
    registry[full] = layer
    return layer


def dense(inputs: Any, units: int, activation: Any = None, use_bias: bool = True,
          kernel_initializer: Any = None,
          bias_initializer: Any = None, kernel_regularizer: Any = None, bias_regularizer: Any = None,
          activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
          trainable: bool = True, name: str | None = None, reuse: Any = None) -> Tensor:
    """A fully connected layer: `activation(inputs @ kernel + bias)` (`tf.layers.dense`).

    Args:
        inputs: a tensor of rank >= 2 (the last axis is contracted).
        units: the output size.
        activation: optional activation function (e.g. `tf.nn.relu`).
        kernel_initializer: default Glorot uniform; bias_initializer: default zeros.
        trainable: whether the weights go to `TRAINABLE_VARIABLES`.
        name, reuse: the layer's name in the variable scope, and whether to reuse it.

    Returns:
        A symbolic tensor of shape `inputs.shape[:-1] + (units,)`.

    Example:
        >>> hidden = tf.layers.dense(inputs=x, units=1024, activation=tf.nn.relu)
    """
    layer = _layer(Dense, "dense", name, reuse, units=units, activation=activation, use_bias=use_bias,
                   kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint, trainable=trainable)
    return layer(inputs)


def conv1d(inputs: Any, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = 1, activation: Any = None,
           use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = None,
           kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
           kernel_constraint: Any = None, bias_constraint: Any = None, trainable: bool = True,
           name: str | None = None, reuse: Any = None) -> Tensor:
    """1-D convolution layer (`tf.layers.conv1d`)."""
    layer = _layer(Conv1D, "conv1d", name, reuse, filters=filters, kernel_size=kernel_size, strides=strides,
                   padding=padding, data_format=data_format, dilation_rate=dilation_rate,
                   activation=activation,
                   use_bias=use_bias, kernel_initializer=kernel_initializer,
                   bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint, trainable=trainable)
    return layer(inputs)


def conv2d(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = (1, 1), activation: Any = None,
           use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = None,
           kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
           kernel_constraint: Any = None, bias_constraint: Any = None, trainable: bool = True,
           name: str | None = None, reuse: Any = None) -> Tensor:
    """2-D convolution layer (`tf.layers.conv2d`).

    Args:
        inputs: [batch, height, width, channels] (channels_last).
        filters: the number of output channels.
        kernel_size: an int or (kh, kw).
        strides, padding ("valid" or "same"), dilation_rate: as in Keras `Conv2D`.
        activation: optional activation function.

    Returns:
        A symbolic [batch, out_height, out_width, filters] tensor.

    Example:
        >>> conv1 = tf.layers.conv2d(x, filters=32, kernel_size=[5, 5], padding="same",
        ...                          activation=tf.nn.relu)
    """
    layer = _layer(Conv2D, "conv2d", name, reuse, filters=filters, kernel_size=kernel_size, strides=strides,
                   padding=padding, data_format=data_format, dilation_rate=dilation_rate,
                   activation=activation,
                   use_bias=use_bias, kernel_initializer=kernel_initializer,
                   bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint, trainable=trainable)
    return layer(inputs)


def conv2d_transpose(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1),
                     padding: str = "valid",
                     data_format: str = "channels_last", activation: Any = None, use_bias: bool = True,
                     kernel_initializer: Any = None, bias_initializer: Any = None,
                     kernel_regularizer: Any = None,
                     bias_regularizer: Any = None, activity_regularizer: Any = None,
                     kernel_constraint: Any = None, bias_constraint: Any = None, trainable: bool = True,
                     name: str | None = None, reuse: Any = None) -> Tensor:
    """Transposed 2-D convolution layer (`tf.layers.conv2d_transpose`)."""
    layer = _layer(Conv2DTranspose, "conv2d_transpose", name, reuse, filters=filters, kernel_size=kernel_size,
                   strides=strides, padding=padding, data_format=data_format, activation=activation,
                   use_bias=use_bias, kernel_initializer=kernel_initializer,
                   bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint, trainable=trainable)
    return layer(inputs)


def _pool(cls: type, default: str, inputs: Any, pool_size: Any, strides: Any, padding: str, data_format: str,
          name: str | None) -> Tensor:
    layer = _layer(cls, default, name, None, pool_size=pool_size, strides=strides, padding=padding,
                   data_format=data_format)
    return layer(inputs)


def max_pooling1d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                  data_format: str = "channels_last", name: str | None = None) -> Tensor:
    """1-D max pooling (`tf.layers.max_pooling1d`)."""
    return _pool(MaxPooling1D, "max_pooling1d", inputs, pool_size, strides, padding, data_format, name)


def max_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                  data_format: str = "channels_last", name: str | None = None) -> Tensor:
    """2-D max pooling (`tf.layers.max_pooling2d`).

    Example:
        >>> pool1 = tf.layers.max_pooling2d(inputs=conv1, pool_size=[2, 2], strides=2)
    """
    return _pool(MaxPooling2D, "max_pooling2d", inputs, pool_size, strides, padding, data_format, name)


def average_pooling1d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                      data_format: str = "channels_last", name: str | None = None) -> Tensor:
    """1-D average pooling (`tf.layers.average_pooling1d`)."""
    return _pool(AveragePooling1D, "average_pooling1d", inputs, pool_size, strides, padding, data_format,
                 name)


def average_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                      data_format: str = "channels_last", name: str | None = None) -> Tensor:
    """2-D average pooling (`tf.layers.average_pooling2d`)."""
    return _pool(AveragePooling2D, "average_pooling2d", inputs, pool_size, strides, padding, data_format,
                 name)


def dropout(inputs: Any, rate: float = 0.5, noise_shape: Any = None, seed: Any = None, training: Any = False,
            name: str | None = None) -> Tensor:
    """Dropout when `training` is true, identity otherwise (`tf.layers.dropout`).

    Args:
        inputs: the tensor.
        rate: the fraction of units dropped (kept units are scaled by 1 / (1 - rate)).
        training: a Python bool or a boolean tensor (e.g. a placeholder fed per run).

    Example:
        >>> should_drop = tf.placeholder(tf.bool)
        >>> dropped = tf.layers.dropout(hidden, rate=0.5, training=should_drop)
    """
    layer = _layer(Dropout, "dropout", name, None, rate=rate, noise_shape=noise_shape, seed=seed)
    return layer(inputs, training=training)


def flatten(inputs: Any, name: str | None = None, data_format: str = "channels_last") -> Tensor:
    """Flatten all axes but the first (`tf.layers.flatten`)."""
    layer = _layer(Flatten, "flatten", name, None, data_format=data_format)
    return layer(inputs)


def batch_normalization(inputs: Any, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                        center: bool = True, scale: bool = True, beta_initializer: Any = None,
                        gamma_initializer: Any = None, moving_mean_initializer: Any = None,
                        moving_variance_initializer: Any = None, beta_regularizer: Any = None,
                        gamma_regularizer: Any = None, beta_constraint: Any = None,
                        gamma_constraint: Any = None,
                        training: Any = False, trainable: bool = True, name: str | None = None,
                        reuse: Any = None,
                        renorm: bool = False, renorm_clipping: Any = None, renorm_momentum: float = 0.99,
                        fused: Any = None, virtual_batch_size: Any = None, adjustment: Any = None) -> Tensor:
    """Batch normalization (`tf.layers.batch_normalization`).

    With `training` true (a bool or boolean placeholder) it normalises with the batch statistics
    and updates the moving averages during that run; otherwise it uses the moving averages.
    """
    if renorm or virtual_batch_size is not None or adjustment is not None:
        raise _errors.UnimplementedError(None, None,
            "batch_normalization: renorm, virtual_batch_size and adjustment are not supported."
        )
    layer = _layer(BatchNormalization, "batch_normalization", name, reuse, axis=axis, momentum=momentum,
                   epsilon=epsilon, center=center, scale=scale, beta_initializer=beta_initializer,
                   gamma_initializer=gamma_initializer, moving_mean_initializer=moving_mean_initializer,
                   moving_variance_initializer=moving_variance_initializer, beta_regularizer=beta_regularizer,
                   gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
                   gamma_constraint=gamma_constraint, trainable=trainable)
    return layer(inputs, training=training)

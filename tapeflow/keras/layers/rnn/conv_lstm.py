"""ConvLSTMCell and ConvLSTM1D/2D/3D: an LSTM whose input and recurrent transforms are
convolutions (Shi et al. 2015), with Keras 3's gate order i, f, c, o and arguments.

Shapes (channels_last): sequences (batch, time, *spatial, channels) -> outputs
(batch, [time,] *conv_output_spatial, filters); the states h and c have the output's step shape.
"""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras import activations, constraints, initializers, regularizers
from tapeflow.keras import ops as kops
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.keras.layers.conv import _conv_length, standardize_data_format, standardize_padding, standardize_tuple
from tapeflow.keras.layers.rnn.dropout_cell import DropoutRNNCell
from tapeflow.keras.layers.rnn.rnn import RNN
from tapeflow.tensor import Tensor


class ConvLSTMCell(Layer, DropoutRNNCell):
    """One ConvLSTM step: i, f, o = rec_act(conv(x) + conv_same(h)), c = f c + i act(...),
    h = o act(c). Kernel (*kernel_size, channels, 4 filters), recurrent kernel
    (*kernel_size, filters, 4 filters), bias (4 filters,); the recurrent convolution has stride 1
    and "same" padding, as in Keras."""

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"ConvLSTM: `filters` must be a positive integer, received filters={filters!r}.")
        self.seed = seed
        self.rank = rank
        self.filters = filters
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides", allow_zero=True)
        self.padding = standardize_padding(padding)
        self.data_format = standardize_data_format(data_format)
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.dropout_mask_count = 4
        self.input_spec = InputSpec(ndim=rank + 2)
        self.state_size = -1  # the states' shapes depend on the input (see get_initial_state)

    def build(self, inputs_shape: Any, states_shape: Any = None) -> None:
        inputs_shape = tuple(inputs_shape)
        first = self.data_format == "channels_first"
        self.spatial_dims = inputs_shape[2:] if first else inputs_shape[1:-1]
        if None in self.spatial_dims:
            raise ValueError(
                "ConvLSTM layers only support static input shapes for the spatial dimension. Received "
                f"invalid input shape: input_shape={inputs_shape}"
            )
        input_dim = inputs_shape[1 if first else -1]
        if input_dim is None:
            raise ValueError(
                "The channel dimension of the inputs (last axis) should be defined. Found None. Full "
                f"input shape received: input_shape={inputs_shape}"
            )
        self.input_spec = InputSpec(ndim=self.rank + 2, shape=(None,) + inputs_shape[1:])
        self.input_dim = int(input_dim)
        self.kernel = self.add_weight(shape=self.kernel_size + (self.input_dim, 4 * self.filters),
                                      initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=self.kernel_size + (self.filters, 4 * self.filters),
                                                initializer=self.recurrent_initializer, name="recurrent_kernel",
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            init = self.bias_initializer
            if self.unit_forget_bias:
                base = self.bias_initializer
                n = self.filters

                def init(shape: Any, dtype: Any = None) -> Any:
                    return tf.concat([base((n,), dtype=dtype), tf.ones((n,), dtype=dtype),
                                      base((2 * n,), dtype=dtype)], 0)
            self.bias = self.add_weight(shape=(4 * self.filters,), name="bias", initializer=init,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def call(self, inputs: Tensor, states: list, training: bool = False) -> tuple:
        h_tm1, c_tm1 = states[0], states[1]
        axis = self.rank + 1
        masked = training and 0.0 < self.dropout < 1.0
        rec_masked = training and 0.0 < self.recurrent_dropout < 1.0
        if masked:
            dp = self.get_dropout_mask(inputs)
            kernels = tf.split(self.kernel, 4, axis=axis)
            biases = tf.split(self.bias, 4) if self.use_bias else [None] * 4
            x_gates = [self.input_conv(inputs * m, k, b, padding=self.padding)
                       for m, k, b in zip(dp, kernels, biases, strict=True)]
        else:
            # One convolution with all four gates' filters: the same sums as four (Keras splits).
            x_gates = tf.split(self.input_conv(inputs, self.kernel, self.bias, padding=self.padding), 4,
                               axis=self._channel_axis())
        if rec_masked:
            rdp = self.get_recurrent_dropout_mask(h_tm1)
            rkernels = tf.split(self.recurrent_kernel, 4, axis=axis)
            h_gates = [self.recurrent_conv(h_tm1 * m, k) for m, k in zip(rdp, rkernels, strict=True)]
        else:
            h_gates = tf.split(self.recurrent_conv(h_tm1, self.recurrent_kernel), 4, axis=self._channel_axis())
        x_i, x_f, x_c, x_o = x_gates
        h_i, h_f, h_c, h_o = h_gates
        i = self.recurrent_activation(x_i + h_i)
        f = self.recurrent_activation(x_f + h_f)
        c = f * c_tm1 + i * self.activation(x_c + h_c)
        o = self.recurrent_activation(x_o + h_o)
        h = o * self.activation(c)
        return h, [h, c]

    def _channel_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1

    def compute_output_shape(self, inputs_shape: Any, states_shape: Any = None) -> tuple:
        inputs_shape = tuple(inputs_shape)
        first = self.data_format == "channels_first"
        spatial = inputs_shape[2:] if first else inputs_shape[1:-1]
        out = tuple(_conv_length(n, k, s, d, self.padding) for n, k, s, d in
                    zip(spatial, self.kernel_size, self.strides, self.dilation_rate, strict=True))
        shape = (inputs_shape[0], self.filters) + out if first else (inputs_shape[0],) + out + (self.filters,)
        return shape, [shape, shape]

    def get_initial_state(self, batch_size: int | None = None) -> list:
        if self.data_format == "channels_last":
            input_shape = (batch_size,) + tuple(self.spatial_dims) + (self.input_dim,)
        else:
            input_shape = (batch_size, self.input_dim) + tuple(self.spatial_dims)
        shape = self.compute_output_shape(input_shape)[0]
        return [tf.zeros(shape, dtype=self.compute_dtype), tf.zeros(shape, dtype=self.compute_dtype)]

    def input_conv(self, x: Tensor, w: Tensor, b: Tensor | None = None, padding: str = "valid") -> Tensor:
        out = kops.conv(x, w, strides=self.strides, padding=padding, data_format=self.data_format,
                        dilation_rate=self.dilation_rate)
        if b is not None:
            n = b.shape[0]
            shape = (1,) * (self.rank + 1) + (n,) if self.data_format == "channels_last" else (1, n) + (1,) * self.rank
            out = out + tf.reshape(b, shape)
        return out

    def recurrent_conv(self, x: Tensor, w: Tensor) -> Tensor:
        return kops.conv(x, w, strides=1, padding="same", data_format=self.data_format)

    def get_config(self) -> dict:
        config = {
            "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
            "padding": self.padding, "data_format": self.data_format, "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
        }
        return {**super().get_config(), **config}


_CELL_ARGS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
              "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
              "bias_initializer", "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer",
              "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
              "recurrent_dropout")


class ConvLSTM(RNN):
    """The N-D convolutional LSTM layer (the base of ConvLSTM1D/2D/3D): `RNN(ConvLSTMCell)` over
    sequences of rank `rank + 3`, exposing the cell's arguments as its own."""

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 **kwargs: Any) -> None:
        cell = ConvLSTMCell(rank=rank, filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                            data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                            recurrent_activation=recurrent_activation, use_bias=use_bias,
                            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                            name="conv_lstm_cell", dtype=kwargs.get("dtype"))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, **kwargs)
        self.rank = rank
        self.input_spec = InputSpec(ndim=rank + 3)

    sequence_rank = property(lambda self: self.rank + 3)

    @property
    def state_size(self) -> list:
        """Two states, h and c, shaped like one output step (not a flat size: -1 each)."""
        return [-1, -1]

    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        sequences_shape = tuple(sequences_shape)
        batch, steps = sequences_shape[0], sequences_shape[1]
        state_shape = tuple(self.cell.compute_output_shape((batch,) + sequences_shape[2:])[0][1:])
        output_shape = (batch, steps) + state_shape if self.return_sequences else (batch,) + state_shape
        if self.return_state:
            return output_shape, (batch,) + state_shape, (batch,) + state_shape
        return output_shape

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        return [output_mask, None, None] if self.return_state else output_mask

    def get_config(self) -> dict:
        config = {name: getattr(self.cell, name) for name in _CELL_ARGS}
        for name in ("activation", "recurrent_activation"):
            config[name] = activations.serialize(config[name])
        for name in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
            config[name] = initializers.serialize(config[name])
        for name in ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer"):
            config[name] = regularizers.serialize(config[name])
        for name in ("kernel_constraint", "recurrent_constraint", "bias_constraint"):
            config[name] = constraints.serialize(config[name])
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        config["seed"] = self.cell.seed
        base = super().get_config()
        del base["cell"]
        return {**base, **config}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> ConvLSTM:
        return cls(**config)


def _cell_property(name: str) -> property:
    return property(lambda self: getattr(self.cell, name))


for _name in _CELL_ARGS:
    setattr(ConvLSTM, _name, _cell_property(_name))


def _fixed_rank(rank: int, doc: str) -> type:
    def __init__(self: Any, filters: int, kernel_size: Any, **kwargs: Any) -> None:  # noqa: N807
        ConvLSTM.__init__(self, rank, filters, kernel_size, **kwargs)

    @classmethod
    def from_config(cls: type, config: dict, custom_objects: dict | None = None) -> Any:
        config = dict(config)
        config.pop("rank", None)
        return cls(**config)

    return type(f"ConvLSTM{rank}D", (ConvLSTM,), {"__init__": __init__, "__doc__": doc, "from_config": from_config,
                                                 "__module__": __name__})


ConvLSTM1D = _fixed_rank(1, "1-D convolutional LSTM: sequences (batch, time, steps, channels).")
ConvLSTM2D = _fixed_rank(2, "2-D convolutional LSTM: sequences (batch, time, rows, cols, channels).")
ConvLSTM3D = _fixed_rank(3, "3-D convolutional LSTM: sequences (batch, time, depth, rows, cols, channels).")

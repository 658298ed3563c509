"""SimpleRNNCell and SimpleRNN: the fully connected recurrence h = act(x W + h R + b)."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.base import InputSpec
from tapeflow.keras.layers.rnn.cell_base import RecurrentCell, cell_states
from tapeflow.keras.layers.rnn.rnn import RNN, cell_attribute, cell_layer_config
from tapeflow.ops import rnn as rnn_ops
from tapeflow.tensor import Tensor


class SimpleRNNCell(RecurrentCell):
    """One step of a fully connected RNN: `h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)`.

    Args:
        units: size of the state and output.
        activation: default tanh (None means linear).
        use_bias, kernel_initializer ("glorot_uniform"), recurrent_initializer ("orthogonal"),
        bias_initializer ("zeros"), *_regularizer, *_constraint: as in Keras.
        dropout / recurrent_dropout: fraction of the inputs / previous state dropped (one mask
            per sequence) during training.
        seed: seed of the dropout masks.

    Weights: kernel (features, units), recurrent_kernel (units, units), bias (units,).
    Call: `cell(inputs (batch, features), states [h (batch, units)])` -> `(h, [h])`.
    """

    gates = 1
    has_recurrent_activation = False

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(units, activation=activation, recurrent_activation=None, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)

    def build(self, input_shape: Any) -> None:
        self._add_kernels(input_shape)
        if self.use_bias:
            self._add_bias((self.units,), self.bias_initializer)
        self.built = True

    def call(self, inputs: Tensor, states: Any, training: Any = None) -> tuple:
        prev = cell_states(states)[0]
        dp_mask = self.get_dropout_mask(inputs)
        rec_dp_mask = self.get_recurrent_dropout_mask(prev)
        if training and dp_mask is not None:
            inputs = inputs * dp_mask
        h = tf.matmul(inputs, self.kernel)
        if self.bias is not None:
            h = h + self.bias
        if training and rec_dp_mask is not None:
            prev = prev * rec_dp_mask
        output = self.activation(h + tf.matmul(prev, self.recurrent_kernel))
        return output, ([output] if isinstance(states, (list, tuple)) else output)

    def _fused_sequence(self, layer: Any, sequences: Tensor, states: list, mask: Any,
                        training: Any) -> tuple | None:
        names = self._fused_names(training)
        if names is None:
            return None
        x = self._dropped_inputs(sequences, training)
        y, h = rnn_ops.simple_rnn(x, states[0], self.kernel, self.recurrent_kernel, self.bias, mask,
                                  activation=names[0], **self._fused_kwargs(layer))
        return y, [h]


SimpleRNNCell._builtin_call = SimpleRNNCell.call


class SimpleRNN(RNN):
    """Fully connected RNN whose output is fed back as the next step's state.

    Args:
        units, activation, use_bias, initializers, regularizers, constraints, dropout,
            recurrent_dropout, seed: as `SimpleRNNCell`.
        activity_regularizer: penalty on the layer's output.
        return_sequences, return_state, go_backwards, stateful, unroll: as `RNN`.

    Shapes: (batch, time, features) -> (batch, units), or (batch, time, units) with
    return_sequences. Weights (Keras's order): kernel (features, units), recurrent_kernel
    (units, units), bias (units,).

    Example:
        >>> y = keras.layers.SimpleRNN(4)(np.zeros((32, 10, 8), "float32"))   # (32, 4)
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, seed: int | None = None, **kwargs: Any) -> None:
        cell = SimpleRNNCell(units, activation=activation, use_bias=use_bias,
                             kernel_initializer=kernel_initializer,
                             recurrent_initializer=recurrent_initializer,
                             bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                             recurrent_regularizer=recurrent_regularizer,
                             bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                             recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                             dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                             dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                             name="simple_rnn_cell")
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def __getattr__(self, name: str) -> Any:
        return cell_attribute(self, name)

    def get_config(self) -> dict:
        return cell_layer_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> SimpleRNN:
        return cls(**config)

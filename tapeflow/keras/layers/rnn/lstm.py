"""LSTMCell and LSTM: Long Short-Term Memory (Hochreiter 1997), Keras's gate order i, f, c, o."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras import initializers
from tapeflow.keras.layers.base import InputSpec
from tapeflow.keras.layers.rnn.cell_base import RecurrentCell, cell_states
from tapeflow.keras.layers.rnn.rnn import RNN, cell_attribute, cell_layer_config
from tapeflow.ops import rnn as rnn_ops
from tapeflow.tensor import Tensor


class LSTMCell(RecurrentCell):
    """One LSTM step: gates i, f, o = rec_act(.), c~ = act(.), c = f c + i c~, h = o act(c).

    Args:
        units: size of the hidden and cell states.
        activation: default tanh; recurrent_activation: default sigmoid.
        use_bias: whether to add a bias.
        kernel_initializer ("glorot_uniform"), recurrent_initializer ("orthogonal"),
            bias_initializer ("zeros").
        unit_forget_bias: add 1 to the forget gate's bias at initialization (default True).
        *_regularizer, *_constraint: as in Keras.
        dropout / recurrent_dropout: fraction of inputs / previous state dropped in training.
        seed: seed of the dropout masks.

    Weights: kernel (features, 4 units), recurrent_kernel (units, 4 units), bias (4 units,),
    with the gates in the order i, f, c, o.
    Call: `cell(inputs (batch, features), [h, c])` -> `(h, [h, c])`.
    """

    gates = 4

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        if self.recurrent_dropout != 0.0:
            self.implementation = 1
        if self.implementation == 1:
            self.dropout_mask_count = 4
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [units, units]

    def build(self, input_shape: Any) -> None:
        self._add_kernels(input_shape)
        if self.use_bias:
            initializer = self.bias_initializer
            if self.unit_forget_bias:
                base = self.bias_initializer
                units = self.units

                def initializer(shape: Any, dtype: Any = None) -> Tensor:
                    ones = initializers.get("ones")
                    return tf.concat([base((units,), dtype=dtype), ones((units,), dtype=dtype),
                                      base((units * 2,), dtype=dtype)], axis=0)

            self._add_bias((4 * self.units,), initializer)
        self.built = True

    def call(self, inputs: Tensor, states: Any, training: Any = None) -> tuple:
        h_prev, c_prev = cell_states(states)[:2]
        U = self.units
        if self.implementation == 1:
            # Keras's "implementation 1" (used with recurrent dropout): one mask per gate.
            dp = self.get_dropout_mask(inputs) if training and 0.0 < self.dropout < 1.0 else None
            rdp = (self.get_recurrent_dropout_mask(h_prev)
                   if training and 0.0 < self.recurrent_dropout < 1.0 else None)
            z = []
            for k in range(4):
                x_k = inputs * dp[k] if dp is not None else inputs
                h_k = h_prev * rdp[k] if rdp is not None else h_prev
                z_k = tf.matmul(x_k, self.kernel[:, k * U:(k + 1) * U]) + tf.matmul(
                    h_k, self.recurrent_kernel[:, k * U:(k + 1) * U])
                if self.bias is not None:
                    z_k = z_k + self.bias[k * U:(k + 1) * U]
                z.append(z_k)
        else:
            if training and 0.0 < self.dropout < 1.0:
                inputs = inputs * self.get_dropout_mask(inputs)
            zz = tf.matmul(inputs, self.kernel) + tf.matmul(h_prev, self.recurrent_kernel)
            if self.bias is not None:
                zz = zz + self.bias
            z = [zz[:, k * U:(k + 1) * U] for k in range(4)]
        i = self.recurrent_activation(z[0])
        f = self.recurrent_activation(z[1])
        c = f * c_prev + i * self.activation(z[2])
        o = self.recurrent_activation(z[3])
        h = o * self.activation(c)
        return h, [h, c]

    def _fused_sequence(self, layer: Any, sequences: Tensor, states: list, mask: Any,
                        training: Any) -> tuple | None:
        names = self._fused_names(training)
        if names is None:
            return None
        x = self._dropped_inputs(sequences, training)
        y, h, c = rnn_ops.lstm(x, states[0], states[1], self.kernel, self.recurrent_kernel, self.bias,
                               mask, activation=names[0], recurrent_activation=names[1],
                               **self._fused_kwargs(layer))
        return y, [h, c]

    def get_config(self) -> dict:
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


LSTMCell._builtin_call = LSTMCell.call


class LSTM(RNN):
    """Long Short-Term Memory layer (Keras 3's arguments, defaults and weight layout).

    Args:
        units, activation ("tanh"), recurrent_activation ("sigmoid"), use_bias,
            kernel_initializer, recurrent_initializer, bias_initializer, unit_forget_bias,
            regularizers, constraints, dropout, recurrent_dropout, seed: as `LSTMCell`.
        activity_regularizer: penalty on the layer's output.
        return_sequences, return_state, go_backwards, stateful, unroll: as `RNN`.
        use_cudnn: accepted for compatibility (no effect).

    Shapes: (batch, time, features) -> (batch, units), or (batch, time, units) with
    return_sequences; with return_state, `[output, h, c]`.
    Weights: kernel (features, 4 units), recurrent_kernel (units, 4 units), bias (4 units,),
    gates i, f, c, o — `set_weights` with a Keras LSTM's weights gives Keras's outputs.

    With the default activations (or relu / linear / hard_sigmoid) and no recurrent dropout,
    the whole sequence runs as one fused op with backpropagation through time inside.

    Example:
        >>> y, h, c = keras.layers.LSTM(4, return_state=True)(np.zeros((32, 10, 8), "float32"))
    """

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, use_cudnn: Any = "auto", **kwargs: Any) -> None:
        cell = LSTMCell(units, activation=activation, recurrent_activation=recurrent_activation,
                        use_bias=use_bias, kernel_initializer=kernel_initializer,
                        unit_forget_bias=unit_forget_bias, recurrent_initializer=recurrent_initializer,
                        bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                        recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                        kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                        bias_constraint=bias_constraint, dropout=dropout,
                        recurrent_dropout=recurrent_dropout, seed=seed, dtype=kwargs.get("dtype"),
                        trainable=kwargs.get("trainable", True), name="lstm_cell",
                        implementation=kwargs.pop("implementation", 2))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)
        if use_cudnn not in ("auto", True, False):
            raise ValueError(
                "Invalid valid received for argument `use_cudnn`. Expected one of {'auto', True, False}. "
                f"Received: use_cudnn={use_cudnn}"
            )
        self.use_cudnn = use_cudnn

    def __getattr__(self, name: str) -> Any:
        return cell_attribute(self, name)

    def get_config(self) -> dict:
        return cell_layer_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> LSTM:
        return cls(**config)

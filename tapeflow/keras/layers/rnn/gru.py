"""GRUCell and GRU: Gated Recurrent Unit (Cho et al. 2014), Keras's gate order z, r, h."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.base import InputSpec
from tapeflow.keras.layers.rnn.cell_base import RecurrentCell, cell_states
from tapeflow.keras.layers.rnn.rnn import RNN, cell_attribute, cell_layer_config
from tapeflow.ops import rnn as rnn_ops
from tapeflow.tensor import Tensor


class GRUCell(RecurrentCell):
    """One GRU step: z, r = rec_act(.), hh = act(x_h + r * (h R_h + b_rh)), h = z h + (1 - z) hh.

    Args:
        units: size of the state.
        activation: default tanh; recurrent_activation: default sigmoid.
        use_bias, initializers, regularizers, constraints, dropout, recurrent_dropout, seed: as
            in Keras.
        reset_after: apply the reset gate after the recurrent matmul (default True, Keras 3 and
            cuDNN's convention); False applies it before: hh = act(x_h + (r * h) R_h).

    Weights: kernel (features, 3 units), recurrent_kernel (units, 3 units), gates z, r, h; bias
    (2, 3 units) = [input bias, recurrent bias] when reset_after, else (3 units,).
    Call: `cell(inputs (batch, features), [h])` -> `(h, [h])`.
    """

    gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, reset_after: bool = True, seed: int | None = None,
                 **kwargs: Any) -> None:
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
            self.dropout_mask_count = 3
        self.reset_after = bool(reset_after)

    def build(self, input_shape: Any) -> None:
        self._add_kernels(input_shape)
        if self.use_bias:
            shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
            self._add_bias(shape, self.bias_initializer)
        self.built = True

    def call(self, inputs: Tensor, states: Any, training: Any = None) -> tuple:
        h_prev = cell_states(states)[0]
        U = self.units
        b_in = b_rec = None
        if self.bias is not None:
            if self.reset_after:
                b_in, b_rec = self.bias[0], self.bias[1]
            else:
                b_in = self.bias
        dp = self.get_dropout_mask(inputs) if training and 0.0 < self.dropout < 1.0 else None
        rdp = (self.get_recurrent_dropout_mask(h_prev)
               if training and 0.0 < self.recurrent_dropout < 1.0 else None)
        if self.implementation == 1:
            # Keras's "implementation 1" (used with recurrent dropout): one mask per gate.
            xs = [inputs * dp[k] if dp is not None else inputs for k in range(3)]
            hs = [h_prev * rdp[k] if rdp is not None else h_prev for k in range(3)]
            x_g = [tf.matmul(xs[k], self.kernel[:, k * U:(k + 1) * U]) for k in range(3)]
            if b_in is not None:
                x_g = [x_g[k] + b_in[k * U:(k + 1) * U] for k in range(3)]
            r_z = tf.matmul(hs[0], self.recurrent_kernel[:, :U])
            r_r = tf.matmul(hs[1], self.recurrent_kernel[:, U:2 * U])
            if b_rec is not None:
                r_z = r_z + b_rec[:U]
                r_r = r_r + b_rec[U:2 * U]
            z = self.recurrent_activation(x_g[0] + r_z)
            r = self.recurrent_activation(x_g[1] + r_r)
            if self.reset_after:
                r_h = tf.matmul(hs[2], self.recurrent_kernel[:, 2 * U:])
                if b_rec is not None:
                    r_h = r_h + b_rec[2 * U:]
                r_h = r * r_h
            else:
                r_h = tf.matmul(r * hs[2], self.recurrent_kernel[:, 2 * U:])
            hh = self.activation(x_g[2] + r_h)
        else:
            if dp is not None:
                inputs = inputs * dp
            mx = tf.matmul(inputs, self.kernel)
            if b_in is not None:
                mx = mx + b_in
            if self.reset_after:
                inner = tf.matmul(h_prev, self.recurrent_kernel)
                if b_rec is not None:
                    inner = inner + b_rec
            else:
                inner = tf.matmul(h_prev, self.recurrent_kernel[:, :2 * U])
            z = self.recurrent_activation(mx[:, :U] + inner[:, :U])
            r = self.recurrent_activation(mx[:, U:2 * U] + inner[:, U:2 * U])
            if self.reset_after:
                r_h = r * inner[:, 2 * U:]
            else:
                r_h = tf.matmul(r * h_prev, self.recurrent_kernel[:, 2 * U:])
            hh = self.activation(mx[:, 2 * U:] + r_h)
        h = z * h_prev + (1 - z) * hh
        return h, ([h] if isinstance(states, (list, tuple)) else h)

    def _fused_sequence(self, layer: Any, sequences: Tensor, states: list, mask: Any,
                        training: Any) -> tuple | None:
        names = self._fused_names(training)
        if names is None:
            return None
        x = self._dropped_inputs(sequences, training)
        y, h = rnn_ops.gru(x, states[0], self.kernel, self.recurrent_kernel, self.bias, mask,
                           activation=names[0], recurrent_activation=names[1], reset_after=self.reset_after,
                           **self._fused_kwargs(layer))
        return y, [h]

    def get_config(self) -> dict:
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config


GRUCell._builtin_call = GRUCell.call


class GRU(RNN):
    """Gated Recurrent Unit layer (Keras 3's arguments, defaults and weight layout).

    Args:
        units, activation ("tanh"), recurrent_activation ("sigmoid"), use_bias, initializers,
            regularizers, constraints, dropout, recurrent_dropout, reset_after (True), seed: as
            `GRUCell`.
        activity_regularizer: penalty on the layer's output.
        return_sequences, return_state, go_backwards, stateful, unroll: as `RNN`.
        use_cudnn: accepted for compatibility (no effect).

    Shapes: (batch, time, features) -> (batch, units), or (batch, time, units) with
    return_sequences; with return_state, `[output, h]`.
    Weights: kernel (features, 3 units), recurrent_kernel (units, 3 units), bias (2, 3 units)
    (reset_after) or (3 units,), gates z, r, h.

    Example:
        >>> y = keras.layers.GRU(4)(np.zeros((32, 10, 8), "float32"))   # (32, 4)
    """

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 reset_after: bool = True, use_cudnn: Any = "auto", **kwargs: Any) -> None:
        cell = GRUCell(units, activation=activation, recurrent_activation=recurrent_activation,
                       use_bias=use_bias, kernel_initializer=kernel_initializer,
                       recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                       kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                       bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                       recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                       dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after,
                       seed=seed, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                       name="gru_cell", implementation=kwargs.pop("implementation", 2))
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
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> GRU:
        return cls(**config)

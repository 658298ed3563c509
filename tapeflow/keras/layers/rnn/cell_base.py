"""`RecurrentCell`: what the built-in cells share — weight arguments, config, the fused path."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras import activations, constraints, initializers, regularizers
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.rnn.dropout_cell import DropoutRNNCell
from tapeflow.tensor import Tensor


def activation_name(fn: Any) -> str | None:
    """The fused-kernel name of a built-in activation (see `tapeflow.ops.rnn.ACTIVATIONS`), or None."""
    if fn is None:
        return "linear"
    table = _ACTIVATION_NAMES
    if not table:
        table.update({
            activations.tanh: "tanh", activations.sigmoid: "sigmoid", activations.relu: "relu",
            activations.linear: "linear", activations.hard_sigmoid: "hard_sigmoid",
            tf.tanh: "tanh", tf.sigmoid: "sigmoid", tf.nn.relu: "relu",
        })
    try:
        return table.get(fn)
    except TypeError:  # unhashable callable
        return None


_ACTIVATION_NAMES: dict = {}


class RecurrentCell(Layer, DropoutRNNCell):
    """Base of SimpleRNNCell, LSTMCell and GRUCell (Keras's arguments and defaults).

    Subclasses set `gates` and implement `build`, `call` (one time step with Tensor ops, the
    reference semantics) and `_fused_sequence` (the whole sequence with `tapeflow.ops.rnn`).
    """

    gates = 1
    has_recurrent_activation = True

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"{type(self).__name__}: received an invalid value for argument `units`, expected a "
                f"positive integer, got {units!r}."
            )
        self.implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = (activations.get(recurrent_activation)
                                     if self.has_recurrent_activation else None)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self.state_size: Any = units
        self.output_size = units
        self.kernel: Any = None
        self.recurrent_kernel: Any = None
        self.bias: Any = None

    # -- weights ----------------------------------------------------------------------------
    def _add_kernels(self, input_shape: Any) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the last dimension of the inputs must be known, "
                f"received shape {tuple(input_shape)}."
            )
        g = self.gates * self.units
        self.kernel = self.add_weight(shape=(int(input_dim), g), name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(self.units, g), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)

    def _add_bias(self, shape: tuple, initializer: Any) -> None:
        self.bias = self.add_weight(shape=shape, name="bias", initializer=initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def get_initial_state(self, batch_size: int | None = None) -> list:
        """Zero states, one (batch_size, units) tensor per state."""
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [tf.zeros((batch_size, d), dtype=self.compute_dtype) for d in sizes]

    # -- the fused whole-sequence path ------------------------------------------------------
    def _fused_names(self, training: Any) -> tuple | None:
        """(activation, recurrent_activation) names when the fused kernel applies, else None."""
        cls = type(self)
        if cls.call is not cls._builtin_call:
            return None  # a subclass changed the step: run it step by step
        if training and 0.0 < self.recurrent_dropout < 1.0:
            return None
        act = activation_name(self.activation)
        rec = activation_name(self.recurrent_activation) if self.has_recurrent_activation else "linear"
        if act is None or rec is None:
            return None
        return act, rec

    def _dropped_inputs(self, sequences: Tensor, training: Any) -> Tensor:
        """The sequence with this call's input dropout mask (one mask for every step) applied."""
        if training and 0.0 < self.dropout < 1.0:
            mask = self.get_dropout_mask(sequences[:, 0, :])
            if isinstance(mask, list):
                mask = mask[0]
            return sequences * tf.expand_dims(mask, 1)
        return sequences

    _builtin_call: Any = None

    def _fused_sequence(self, layer: Any, sequences: Tensor, states: list, mask: Any,
                        training: Any) -> tuple | None:
        """(output, final states) for the whole sequence with one fused op, or None."""
        return None

    @staticmethod
    def _fused_kwargs(layer: Any) -> dict:
        return {"go_backwards": bool(layer.go_backwards), "return_sequences": bool(layer.return_sequences),
                "zero_output_for_mask": bool(layer.zero_output_for_mask)}

    # -- config -----------------------------------------------------------------------------
    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
        })
        if self.has_recurrent_activation:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config.update({
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        })
        return config


def cell_states(states: Any) -> list:
    """States passed to a cell as a list (a single tensor becomes a one-element list)."""
    if isinstance(states, (list, tuple)):
        return list(states)
    return [states]


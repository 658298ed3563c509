"""TF's RNN cell wrappers (`tf.nn.RNNCellDropoutWrapper`, `RNNCellResidualWrapper`,
`RNNCellDeviceWrapper`): a cell that runs another cell's step and changes its inputs, outputs or
states, for use in `keras.layers.RNN` (TF 2's legacy Keras cells wrappers).

As in TF, the dropout wrapper applies dropout on every call (it has no training flag: it is TF 1's
`DropoutWrapper`); `variational_recurrent=True` draws one mask per wrapper and reuses it at every
step (Gal & Ghahramani), which needs `dtype` (and `input_size` when inputs are dropped).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from typing import Any

import tapeflow as tf
from tapeflow import nest
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.rnn._serialization import deserialize_layer, serialize_layer


class _RNNCellWrapper(Layer):
    """Shared part: state_size / output_size / build / initial state / config of the wrapped cell."""

    def __init__(self, cell: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
            raise TypeError(f"{type(self).__name__} expects an RNN cell (with `call` and `state_size`), "
                            f"received {cell!r}")
        self.cell = cell
        params = inspect.signature(cell.call).parameters
        self._cell_takes_training = "training" in params or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())

    @property
    def wrapped_cell(self) -> Any:
        return self.cell

    @property
    def state_size(self) -> Any:
        return self.cell.state_size

    @property
    def output_size(self) -> Any:
        size = getattr(self.cell, "output_size", None)
        if size is None:
            size = self.cell.state_size
            size = size[0] if isinstance(size, (list, tuple)) else size
        return size

    def build(self, inputs_shape: Any) -> None:
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(inputs_shape)
            self.cell.built = True
        self.built = True

    def get_initial_state(self, batch_size: int | None = None) -> Any:
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            return fn(batch_size=batch_size)
        sizes = self.cell.state_size
        sizes = [sizes] if isinstance(sizes, int) else list(sizes)
        return [tf.zeros((batch_size, s), dtype=self.compute_dtype) for s in sizes]

    def _cell_call(self, inputs: Any, states: Any, training: Any) -> tuple:
        kwargs = {"training": training} if self._cell_takes_training else {}
        return self.cell.call(inputs, states, **kwargs)

    def call(self, inputs: Any, states: Any, training: Any = None) -> tuple:
        return self._call_wrapped_cell(inputs, states, training)  # each wrapper defines it

    def get_config(self) -> dict:
        config = super().get_config()
        config["cell"] = serialize_layer(self.cell)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> _RNNCellWrapper:
        config = dict(config)
        cell = deserialize_layer(config.pop("cell"), custom_objects)
        return cls(cell, **config)


def _keep_prob(value: Any, what: str) -> Any:
    if isinstance(value, (int, float)):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"Parameter {what} must be between 0 and 1: {value}")
        return float(value)
    return tf.convert_to_tensor(value)


class RNNCellDropoutWrapper(_RNNCellWrapper):
    """Dropout on a cell's inputs, outputs and (filtered) new states, at every call.

    Args:
        cell: the RNN cell to wrap.
        input_keep_prob, output_keep_prob, state_keep_prob: keep probabilities in [0, 1]
            (1 adds no dropout there).
        variational_recurrent: one mask per wrapper, reused at every step.
        input_size: the input depth (int or TensorShape; nested like the inputs), needed with
            variational_recurrent and input dropout.
        dtype: the dtype of the masks; needed with variational_recurrent.
        seed: makes the masks reproducible (one derived seed per input/state/output part).
        dropout_state_filter_visitor: function of the new states returning a bool (drop all or
            none) or one bool per state; by default every state is dropped.

    Example:
        >>> cell = tf.nn.RNNCellDropoutWrapper(keras.layers.GRUCell(8), output_keep_prob=0.8)
        >>> outputs = keras.layers.RNN(cell)(x)
    """

    def __init__(self, cell: Any, input_keep_prob: Any = 1.0, output_keep_prob: Any = 1.0,
                 state_keep_prob: Any = 1.0, variational_recurrent: bool = False, input_size: Any = None,
                 dtype: Any = None, seed: int | None = None, dropout_state_filter_visitor: Callable | None = None,
                 **kwargs: Any) -> None:
        super().__init__(cell, **kwargs)
        if dropout_state_filter_visitor is not None and not callable(dropout_state_filter_visitor):
            raise TypeError("dropout_state_filter_visitor must be callable")
        self._dropout_state_filter = dropout_state_filter_visitor
        self._input_keep_prob = _keep_prob(input_keep_prob, "input_keep_prob")
        self._state_keep_prob = _keep_prob(state_keep_prob, "state_keep_prob")
        self._output_keep_prob = _keep_prob(output_keep_prob, "output_keep_prob")
        self._variational_recurrent = bool(variational_recurrent)
        self._input_size = input_size
        self._seed = seed
        self._noise: dict[str, list] = {}
        if variational_recurrent:
            if dtype is None:
                raise ValueError("When variational_recurrent=True, dtype must be provided")
            mask_dtype = tf.as_dtype(dtype)
            if not isinstance(self._input_keep_prob, float) or self._input_keep_prob < 1.0:
                if input_size is None:
                    raise ValueError("When variational_recurrent=True and input_keep_prob < 1.0 or is unknown, "
                                     "input_size must be provided")
                self._noise["input"] = self._batch_noise("input", input_size, mask_dtype)
            self._noise["state"] = self._batch_noise("state", cell.state_size, mask_dtype)
            self._noise["output"] = self._batch_noise("output", self.output_size, mask_dtype)

    def _gen_seed(self, salt_prefix: str, index: int) -> int | None:
        """TF's per-part seed: the first 31 bits of md5(str(seed) + salt)."""
        if self._seed is None:
            return None
        digest = hashlib.md5(f"{self._seed}{salt_prefix}_{index}".encode()).hexdigest()
        return int(digest[:8], 16) & 0x7FFFFFFF

    def _batch_noise(self, prefix: str, sizes: Any, dtype: Any) -> list:
        flat = [sizes] if isinstance(sizes, (int, tf.TensorShape)) else nest.flatten(sizes)
        noise = []
        for i, size in enumerate(flat):
            dims = tf.TensorShape(size).as_list() if not isinstance(size, int) else [size]
            noise.append(tf.random.uniform([1, *dims], seed=self._gen_seed(prefix, i), dtype=dtype))
        return noise

    def _drop(self, values: list, prefix: str, keep_prob: Any, selected: list) -> list:
        out = []
        for i, (value, chosen) in enumerate(zip(values, selected, strict=True)):
            if not chosen:
                out.append(value)
            elif self._variational_recurrent:
                mask = tf.floor(keep_prob + self._noise[prefix][i])
                out.append(tf.math.divide(value, keep_prob) * mask)
            else:
                out.append(tf.nn.dropout(value, rate=1.0 - keep_prob, seed=self._gen_seed(prefix, i)))
        return out

    @staticmethod
    def _should_dropout(prob: Any) -> bool:
        return not isinstance(prob, float) or prob < 1.0

    def _call_wrapped_cell(self, inputs: Any, states: Any, training: Any) -> tuple:
        if self._should_dropout(self._input_keep_prob):
            flat = nest.flatten(inputs)
            inputs = nest.pack_sequence_as(inputs, self._drop(flat, "input", self._input_keep_prob,
                                                              [True] * len(flat)))
        output, new_states = self._cell_call(inputs, states, training)
        if self._should_dropout(self._state_keep_prob):
            flat = nest.flatten(new_states)
            chosen = self._dropout_state_filter(new_states) if self._dropout_state_filter else True
            selected = [bool(chosen)] * len(flat) if isinstance(chosen, bool) else list(nest.flatten(chosen))
            new_states = nest.pack_sequence_as(new_states, self._drop(flat, "state", self._state_keep_prob, selected))
        if self._should_dropout(self._output_keep_prob):
            flat = nest.flatten(output)
            output = nest.pack_sequence_as(output, self._drop(flat, "output", self._output_keep_prob,
                                                              [True] * len(flat)))
        return output, new_states

    def get_config(self) -> dict:
        config = super().get_config()
        if self._dropout_state_filter is not None:
            raise ValueError("RNNCellDropoutWrapper.get_config: a custom dropout_state_filter_visitor cannot be "
                             "serialized to JSON; rebuild the wrapper in code")
        config.update({"input_keep_prob": self._input_keep_prob, "output_keep_prob": self._output_keep_prob,
                       "state_keep_prob": self._state_keep_prob, "variational_recurrent": self._variational_recurrent,
                       "input_size": self._input_size, "seed": self._seed})
        return config


class RNNCellResidualWrapper(_RNNCellWrapper):
    """The cell's output plus its input (a residual connection around each step).

    Args:
        cell: the RNN cell (its output must have its input's shape).
        residual_fn: optional `fn(inputs, outputs)` giving the output instead of their sum.
    """

    def __init__(self, cell: Any, residual_fn: Callable | None = None, **kwargs: Any) -> None:
        super().__init__(cell, **kwargs)
        self._residual_fn = residual_fn

    def _call_wrapped_cell(self, inputs: Any, states: Any, training: Any) -> tuple:
        outputs, new_states = self._cell_call(inputs, states, training)
        if self._residual_fn is not None:
            return self._residual_fn(inputs, outputs), new_states

        def add(inp: Any, out: Any) -> Any:
            if not tf.TensorShape(inp.shape).is_compatible_with(out.shape):
                raise ValueError(f"RNNCellResidualWrapper: the cell's output shape {tuple(out.shape)} must match "
                                 f"its input shape {tuple(inp.shape)}")
            return inp + out

        return nest.map_structure(add, inputs, outputs), new_states

    def get_config(self) -> dict:
        if self._residual_fn is not None:
            raise ValueError("RNNCellResidualWrapper.get_config: a custom residual_fn cannot be serialized to "
                             "JSON; rebuild the wrapper in code")
        return super().get_config()


class RNNCellDeviceWrapper(_RNNCellWrapper):
    """Runs the cell's step under `tf.device(device)`.

    Args:
        cell: the RNN cell. device: a device string ("/cpu:0", "/gpu:0").
    """

    def __init__(self, cell: Any, device: Any, **kwargs: Any) -> None:
        super().__init__(cell, **kwargs)
        self._device = device

    def _call_wrapped_cell(self, inputs: Any, states: Any, training: Any) -> tuple:
        with tf.device(self._device):
            return self._cell_call(inputs, states, training)

    def get_config(self) -> dict:
        config = super().get_config()
        config["device"] = self._device
        return config

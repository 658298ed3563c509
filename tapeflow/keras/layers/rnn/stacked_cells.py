"""`StackedRNNCells`: several cells run one after another within each time step."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.rnn._serialization import deserialize_layer, serialize_layer


class StackedRNNCells(Layer):
    """A list of RNN cells that behaves as one cell: the output of each feeds the next.

    `RNN([cell_1, cell_2])` wraps its list in this class. The states are a list with one entry
    per cell (that cell's state, or list of states).

    Args:
        cells: the cells, bottom first.

    Example:
        >>> cells = [keras.layers.LSTMCell(32), keras.layers.GRUCell(16)]
        >>> layer = keras.layers.RNN(cells)   # (batch, time, features) -> (batch, 16)
    """

    def __init__(self, cells: list, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for cell in cells:
            if not hasattr(cell, "call"):
                raise ValueError(
                    f"All cells must have a `call` method. Received cell without a `call` method: {cell}")
            if not hasattr(cell, "state_size"):
                raise ValueError(
                    "All cells must have a `state_size` attribute. Received cell without a "
                    f"`state_size`: {cell}"
                )
        self.cells = list(cells)

    @property
    def state_size(self) -> list:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int:
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        size = last.state_size
        return size[0] if isinstance(size, (list, tuple)) else size

    def get_initial_state(self, batch_size: int | None = None) -> list:
        states = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                s = fn(batch_size=batch_size)
                if isinstance(cell.state_size, int) and isinstance(s, (list, tuple)) and len(s) == 1:
                    s = s[0]
                states.append(s)
            elif isinstance(cell.state_size, int):
                states.append(tf.zeros((batch_size, cell.state_size), dtype=self.compute_dtype))
            else:
                states.append([tf.zeros((batch_size, d), dtype=self.compute_dtype) for d in cell.state_size])
        return states

    def build(self, input_shape: Any) -> None:
        batch = input_shape[0]
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(tf.TensorShape(tuple(input_shape)))
                cell.built = True
            out = getattr(cell, "output_size", None)
            if out is None:
                out = cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) else cell.state_size
            input_shape = (batch, out)
        self.built = True

    def call(self, inputs: Any, states: list, training: Any = None) -> tuple:
        new_states = []
        for cell, state in zip(self.cells, states, strict=True):
            is_list = isinstance(state, (list, tuple))
            state = list(state) if is_list else [state]
            kwargs = {"training": training} if isinstance(cell, Layer) else {}
            call = cell if callable(cell) else cell.call
            inputs, state = call(inputs, state, **kwargs)
            if not isinstance(state, (list, tuple)):
                state = [state]
            state = list(state)
            if len(state) == 1 and not is_list:
                state = state[0]
            new_states.append(state)
        return inputs, new_states

    def get_config(self) -> dict:
        config = super().get_config()
        config["cells"] = [serialize_layer(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> StackedRNNCells:
        config = dict(config)
        cells = [deserialize_layer(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)

"""`Bidirectional`: run a recurrent layer forwards and a copy backwards, and merge the outputs."""

from __future__ import annotations

import copy
from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.rnn._serialization import deserialize_layer, serialize_layer
from tapeflow.tensor import Tensor

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _clone(layer: Layer, **overrides: Any) -> Layer:
    config = serialize_layer(layer)
    config["config"].update(overrides)
    return deserialize_layer(config)


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Bidirectional wrapper for RNN layers.

    Args:
        layer: a recurrent layer (`LSTM`, `GRU`, `SimpleRNN`, `RNN`); it is copied (from its
            config) into `forward_layer`, and into `backward_layer` with `go_backwards=True`
            unless `backward_layer` is given.
        merge_mode: how the two outputs combine: "concat" (default), "sum", "mul", "ave", or
            None (return both as a list).
        backward_layer: optional layer to use for the backward direction (it must have
            `go_backwards=True` and the same return_sequences / return_state / stateful).

    Shapes: like the wrapped layer's, with the last axis doubled for "concat". With
    return_state the states of the forward layer come first, then the backward layer's.
    The backward output sequence is flipped back into input order before merging. Weights:
    the forward layer's, then the backward layer's.

    Example:
        >>> layer = keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=True))
        >>> layer(np.zeros((4, 10, 3), "float32")).shape
        TensorShape([4, 10, 16])
    """

    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Layer | None = None, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(
                "Please initialize `Bidirectional` layer with a `keras.layers.Layer` instance. "
                f"Received: {layer}"
            )
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(
                f"`backward_layer` need to be a `keras.layers.Layer` instance. Received: {backward_layer}"
            )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Invalid merge mode. Received: {merge_mode}. Merge mode should be one of "
                '{"sum", "mul", "ave", "concat", None}'
            )
        super().__init__(**kwargs)
        self.forward_layer = _clone(layer, name=f"forward_{_strip(layer.name, 'forward_')}")
        if backward_layer is None:
            self.backward_layer = _clone(layer, go_backwards=True,
                                         name=f"backward_{_strip(layer.name, 'backward_')}")
        else:
            self.backward_layer = backward_layer
        self._verify_layer_config()
        for sub in (self.forward_layer, self.backward_layer):
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = list(weights) if weights else None
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def _verify_layer_config(self) -> None:
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` value. Received: "
                f"forward_layer.go_backwards {fwd.go_backwards}, "
                f"backward_layer.go_backwards={bwd.go_backwards}"
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise ValueError(
                    "Forward layer and backward layer are expected to have the same value for attribute "
                    f'"{attr}", got "{getattr(fwd, attr)}" for forward layer and "{getattr(bwd, attr)}" '
                    "for backward layer"
                )

    # -- shapes -----------------------------------------------------------------------------
    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        out = self.forward_layer.compute_output_shape(tuple(sequences_shape))
        state_shapes: list = []
        if self.return_state:
            out, state_shapes = out[0], list(out[1:])
        out = tuple(out)
        if self.merge_mode == "concat":
            out = out[:-1] + (None if out[-1] is None else out[-1] * 2,)
        if self.merge_mode is None:
            outs = [out, out]
        else:
            outs = [out]
        if self.return_state:
            return outs + state_shapes + state_shapes
        return outs if self.merge_mode is None else out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.return_sequences:
            output_mask = mask if self.merge_mode else [mask, mask]
        else:
            output_mask = None if self.merge_mode else [None, None]
        if self.return_state and self.states is not None:
            extra = [None] * len(self.states)
            return (output_mask if isinstance(output_mask, list) else [output_mask]) + extra
        return output_mask

    # -- build / call -----------------------------------------------------------------------
    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        shape = tf.TensorShape(tuple(sequences_shape))
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(shape)
                sub.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None
        self.built = True

    def call(self, sequences: Tensor, initial_state: Any = None, mask: Any = None,
             training: Any = None) -> Any:
        kwargs: dict = {"training": training}
        if mask is not None:
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            if not isinstance(initial_state, (list, tuple)):
                initial_state = [initial_state]
            initial_state = list(initial_state)
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states: list = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = tf.reverse(y_rev, [1])
        mode = self.merge_mode
        if mode == "concat":
            output: Any = tf.concat([y, y_rev], axis=-1)
        elif mode == "sum":
            output = y + y_rev
        elif mode == "ave":
            output = (y + y_rev) / 2
        elif mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (output if mode is None else [output]) + states
        return output

    # -- state ------------------------------------------------------------------------------
    @property
    def states(self) -> list | None:
        fwd = getattr(self.forward_layer, "states", None)
        bwd = getattr(self.backward_layer, "states", None)
        if fwd and bwd:
            return list(fwd) + list(bwd)
        return None

    def reset_state(self) -> None:
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self) -> None:
        self.reset_state()

    # -- config -----------------------------------------------------------------------------
    def get_config(self) -> dict:
        config = super().get_config()
        config["merge_mode"] = self.merge_mode
        config["layer"] = serialize_layer(self.forward_layer)
        config["backward_layer"] = serialize_layer(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Bidirectional:
        config = copy.deepcopy(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = deserialize_layer(backward, custom_objects)
        return cls(**config)

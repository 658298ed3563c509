"""`TimeDistributed`: apply a layer to every time step of a sequence (one batched call)."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.rnn._serialization import deserialize_layer, serialize_layer
from tapeflow.keras.layers.rnn.rnn import _accepts
from tapeflow.keras.layers.wrappers import Wrapper
from tapeflow.tensor import Tensor


class TimeDistributed(Wrapper):
    """Apply `layer` to every temporal slice of the input.

    The time axis is folded into the batch axis — (batch, time, ...) becomes
    (batch * time, ...) — so the wrapped layer runs once on all steps (the same weights for
    every step), and its output is unfolded back to (batch, time, ...).

    Args:
        layer: the layer to apply to each time step.

    Shapes: (batch, time, *inner) -> (batch, time, *layer_output[1:]).
    Masks pass through unchanged; a (batch, time) mask is folded the same way for wrapped
    layers that take one.

    Note: layers whose training behaviour depends on the whole batch (BatchNormalization's
    statistics) see the batch * time samples together (tf.keras 2's behaviour), not one time
    step at a time (Keras 3's per-step loop).

    Example:
        >>> layer = keras.layers.TimeDistributed(keras.layers.Dense(8))
        >>> layer(np.zeros((32, 10, 16), "float32")).shape
        TensorShape([32, 10, 8])
    """

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(
                "Please initialize `TimeDistributed` layer with a `keras.layers.Layer` instance. "
                f"Received: {layer}"
            )
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _child_input_shape(self, input_shape: Any) -> tuple:
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(
                "`TimeDistributed` Layer should be passed an `input_shape` with at least 3 dimensions, "
                f"received: {input_shape}"
            )
        return (input_shape[0],) + tuple(input_shape[2:])

    def compute_output_shape(self, input_shape: Any) -> tuple:
        input_shape = tuple(input_shape)
        child = tuple(self.layer.compute_output_shape(self._child_input_shape(input_shape)))
        return (child[0], input_shape[1]) + child[1:]

    def build(self, input_shape: Any) -> None:
        child = self._child_input_shape(tuple(input_shape))
        if not self.layer.built:
            self.layer.build(tf.TensorShape(child))
            self.layer.built = True
        self.built = True

    def call(self, inputs: Tensor, training: Any = None, mask: Any = None) -> Tensor:
        shape = tuple(inputs.shape)
        if len(shape) < 3:
            raise ValueError(
                f"TimeDistributed '{self.name}' expected input of rank >= 3 (batch, time, ...), received "
                f"shape {shape}."
            )
        batch, steps = shape[0], shape[1]
        if batch is None or steps is None:  # a trace with an unknown batch or length
            return self._call_traced(inputs, training, mask)
        kwargs: dict = {}
        if _accepts(self.layer, "training"):
            kwargs["training"] = training
        if mask is not None and _accepts(self.layer, "mask"):
            if tuple(mask.shape[:2]) != (batch, steps):
                raise ValueError(
                    f"The `mask` passed to the `TimeDistributed` layer has a shape {tuple(mask.shape)} "
                    f"that is incompatible with the input shape {shape}."
                )
            kwargs["mask"] = tf.reshape(mask, (batch * steps,) + tuple(mask.shape[2:]))
        folded = tf.reshape(inputs, (batch * steps,) + shape[2:])
        out = self.layer(folded, **kwargs)
        return tf.reshape(out, (batch, steps) + tuple(out.shape[1:]))

    def _call_traced(self, inputs: Tensor, training: Any, mask: Any) -> Tensor:
        """`call` with the batch and time read from the running graph (`tf.shape`)."""
        kwargs: dict = {}
        if _accepts(self.layer, "training"):
            kwargs["training"] = training
        lead = tf.shape(inputs)[:2]
        if mask is not None and _accepts(self.layer, "mask"):
            kwargs["mask"] = tf.reshape(mask, tf.concat([[-1], tf.shape(mask)[2:]], 0))
        folded = tf.reshape(inputs, tf.concat([[-1], tf.shape(inputs)[2:]], 0))
        out = self.layer(folded, **kwargs)
        return tf.reshape(out, tf.concat([lead, tf.shape(out)[1:]], 0))

    def get_config(self) -> dict:
        config = super().get_config()
        config["layer"] = serialize_layer(self.layer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> TimeDistributed:
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        return cls(layer, **config)

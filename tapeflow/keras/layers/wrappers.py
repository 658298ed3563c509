"""Layers made of other layers: `Wrapper` (the base of layers that wrap one layer) and
`Pipeline` (preprocessing layers applied in order); plus `keras.layers.serialize/deserialize`."""

from __future__ import annotations

from typing import Any

from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.rnn._serialization import deserialize_layer, serialize_layer
from tapeflow.keras.layers.rnn.rnn import _accepts


class Wrapper(Layer):
    """Base class for a layer that wraps another: `self.layer`, built on first use with the
    wrapper's input shape, serialized inside the wrapper's config. Subclasses write `call`."""

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(f"Layer {layer} supplied to Wrapper isn't a supported layer type. Please "
                             "ensure wrapped layer is a valid Keras layer.")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape: Any = None) -> None:
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        self.built = True

    def get_config(self) -> dict:
        config = super().get_config()
        config["layer"] = serialize_layer(self.layer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Wrapper:
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        return cls(layer, **config)


class Pipeline(Layer):
    """Apply `layers` in order, passing `training` (default True, as for augmentation) and the
    previous layer's mask to the layers whose `call` takes them.

    Unlike `Sequential` it is a plain layer (no `fit`), meant for preprocessing, e.g. inside
    `tf.data`'s `map`.
    """

    def __init__(self, layers: list, name: str | None = None) -> None:
        super().__init__(name=name)
        bad = [lay for lay in layers if not callable(lay)]
        if bad:
            raise ValueError(f"Pipeline: every element of `layers` must be a layer or callable, received {bad[0]!r}.")
        self._pipeline_layers = list(layers)

    @property
    def layers(self) -> list:
        return self._pipeline_layers

    def call(self, inputs: Any, training: Any = True, mask: Any = None) -> Any:
        outputs = inputs
        for layer in self._pipeline_layers:
            kwargs: dict = {}
            if isinstance(layer, Layer):
                if mask is not None and _accepts(layer, "mask"):
                    kwargs["mask"] = mask
                if training is not None and _accepts(layer, "training"):
                    kwargs["training"] = training
            outputs = layer(inputs, **kwargs)
            inputs = outputs
            mask = getattr(outputs, "_keras_mask", None)
        return outputs

    def build(self, input_shape: Any = None) -> None:
        """Build the layers in turn on the shapes they will receive (as Keras's symbolic call does),
        so that their weights exist, and are saved, before the first real call."""
        shape = input_shape
        for layer in self._pipeline_layers:
            if isinstance(layer, Layer) and not layer.built and shape is not None:
                layer.build(shape)
                layer.built = True
            shape = layer.compute_output_shape(shape) if shape is not None and hasattr(layer, "compute_output_shape") \
                else None
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self) -> dict:
        return {"layers": [serialize_layer(lay) for lay in self._pipeline_layers], "name": self.name}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Pipeline:
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError("`Pipeline` config must contain a `layers` key mapping to a list of serialized "
                             f"layers. Received config with layers={layers}.")
        return cls([deserialize_layer(lay, custom_objects) for lay in layers], name=config.get("name"))


def serialize(layer: Layer) -> dict:
    """The serialized form of a layer, `{"module", "class_name", "config", "registered_name"}`."""
    return serialize_layer(layer)


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """Rebuild a layer from `serialize`'s dict (or Keras's `{"class_name", "config"}`)."""
    obj = deserialize_layer(config, custom_objects)
    if not isinstance(obj, Layer):
        raise ValueError("`keras.layers.deserialize` was passed a `config` object that is not a "
                         f"`keras.layers.Layer`. Received: {config}")
    return obj

"""`Sequential`: a plain stack of layers, each feeding the next."""

from __future__ import annotations

from typing import Any

from tapeflow.graph import SymbolicTensor
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.core import Input, InputLayer
from tapeflow.keras.models.functional import adjust_input_rank
from tapeflow.keras.models.model import Model
from tapeflow.tensor import Tensor


class Sequential(Model):
    """A linear stack of layers.

    Built at once when the first layer knows its input shape (`input_shape=` or a leading
    `keras.Input`), else on the first call with data.

    Example:
        >>> model = keras.Sequential([
        ...     keras.layers.Dense(2, activation="sigmoid", input_shape=(2,)),
        ...     keras.layers.Dense(1, activation="sigmoid"),
        ... ])
    """

    _convert_input_args = False

    def __init__(self, layers: list | None = None, name: str | None = None, trainable: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._stack: list = []
        self._input_layer: InputLayer | None = None
        self._symbolic_outputs: list = []
        self._built_shape: tuple | None = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_build_from_input()

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer (or a `keras.Input` tensor, which sets the input shape)."""
        if isinstance(layer, SymbolicTensor):
            hist = layer._keras_history
            if hist is None or not isinstance(hist[0], InputLayer):
                raise ValueError("Sequential.add only accepts layers or keras.Input tensors.")
            layer = hist[0]
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError("An InputLayer can only be the first layer of a Sequential model.")
            self._input_layer = layer
        elif not isinstance(layer, Layer):
            raise TypeError(
                f"The added layer must be an instance of class Layer. Received: layer={layer!r} of type "
                f"{type(layer)}."
            )
        else:
            names = {existing.name for existing in self._stack}
            if layer.name in names:
                raise ValueError(
                    f"All layers added to a Sequential model should have unique names. Name "
                    f"'{layer.name}' is already the name of a layer in this model."
                )
            self._stack.append(layer)
        self.built = False
        if rebuild:
            self._maybe_build_from_input()

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        self.built = False
        if rebuild:
            self._maybe_build_from_input()
        return layer

    def _maybe_build_from_input(self) -> None:
        shape = None
        if self._input_layer is not None:
            shape = tuple(self._input_layer.batch_shape)
        elif self._stack and self._stack[0]._batch_input_shape is not None:
            shape = tuple(self._stack[0]._batch_input_shape)
        if shape is not None and self._stack:
            self.build(shape)

    @property
    def layers(self) -> list:
        return list(self._stack)

    def _sublayers(self) -> list:
        return list(self._stack)

    @property
    def input_shape(self) -> Any:
        if self._built_shape is None:
            raise AttributeError(f"Sequential model '{self.name}' has not been built yet.")
        return self._built_shape

    @property
    def output_shape(self) -> Any:
        if not self._symbolic_outputs:
            raise AttributeError(f"Sequential model '{self.name}' has not been built yet.")
        return tuple(self._symbolic_outputs[-1].shape)

    @property
    def inputs(self) -> list:
        return [self._symbolic_input] if getattr(self, "_symbolic_input", None) is not None else []

    @property
    def outputs(self) -> list:
        return self._symbolic_outputs[-1:]

    def build(self, input_shape: Any = None) -> None:
        """Build every layer by running the stack on a symbolic input of `input_shape`."""
        if input_shape is None:
            raise ValueError(f"Sequential model '{self.name}': build() needs an input_shape.")
        shape = tuple(None if d is None else int(d) for d in input_shape)
        if self._input_layer is not None:
            x = self._input_layer.output_tensor
        else:
            x = Input(batch_shape=shape, dtype=self._stack[0]._dtype if self._stack else None)
        self._symbolic_input = x
        outs = []
        for layer in self._stack:
            x = layer(x)
            if not isinstance(x, SymbolicTensor):
                raise ValueError(f"Layer {layer.name!r} in a Sequential model must return a single tensor.")
            outs.append(x)
        self._symbolic_outputs = outs
        self._built_shape = shape
        self._build_input_shape = shape
        self.built = True

    def _maybe_build(self, inputs: Any) -> None:
        if self.built:
            return
        if isinstance(inputs, Tensor):
            # as Keras 3: built on the first call's whole shape, batch size included (its summary
            # shows (1, 2) after model(ops.ones((1, 4)))); later calls may use any batch size
            self.build(tuple(inputs.shape))
        else:
            self.built = True

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        x = inputs
        if self._built_shape is not None and isinstance(x, Tensor) and not isinstance(x, SymbolicTensor):
            # as Keras's Sequential (which calls its Functional): a (batch,) array feeds an input
            # of shape (batch, 1) (regression tutorial: horsepower_model.predict(horsepower[:10]))
            x = adjust_input_rank(self._built_shape, x)
        for layer in self._stack:
            x = layer(x)
        return x

    def compute_output_shape(self, input_shape: Any) -> Any:
        if not self._stack:
            return input_shape
        if self._symbolic_outputs and tuple(input_shape)[1:] == tuple(self._built_shape or ())[1:]:
            return (input_shape[0],) + tuple(self._symbolic_outputs[-1].shape)[1:]
        raise NotImplementedError

    def get_config(self) -> dict:
        from tapeflow.keras.saving.serialization import serialize_layer

        layers = []
        if self._input_layer is not None:
            layers.append(serialize_layer(self._input_layer))
        elif self._built_shape is not None:
            layers.append({"class_name": "InputLayer", "config": {
                "batch_shape": list(self._built_shape), "dtype": self._dtype, "name": f"{self.name}_input"}})
        layers.extend(serialize_layer(layer) for layer in self._stack)
        return {"name": self.name, "trainable": self.trainable, "layers": layers}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Sequential:
        from tapeflow.keras.saving.serialization import deserialize_layer

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config["layers"]:
            layer = deserialize_layer(layer_config, custom_objects)
            model.add(layer, rebuild=False)
        model._maybe_build_from_input()
        return model

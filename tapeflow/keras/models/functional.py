"""Functional models: a graph of layer calls from `keras.Input` tensors to outputs."""

from __future__ import annotations

import warnings
from typing import Any

import tapeflow as tf
from tapeflow import graph, nest
from tapeflow.dispatch import CompositeTensor
from tapeflow.graph import SymbolicTensor
from tapeflow.keras.layers.base import InputSpec, Layer, LayerNode, check_input_spec
from tapeflow.keras.layers.core import InputLayer
from tapeflow.keras.models.layer_order import keras_layer_order
from tapeflow.keras.models.model import Model
from tapeflow.tensor import Tensor


def _topological_nodes(outputs: list) -> list:
    """Every node leading to `outputs`, each after the nodes that feed it."""
    order: list = []
    seen: set = set()
    stack = [(t.node, False) for t in reversed(outputs) if t.node is not None]
    while stack:
        node, expanded = stack.pop()
        if id(node) in seen:
            continue
        if expanded:
            seen.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        for t in reversed(node.inputs):
            if isinstance(t, SymbolicTensor) and t.node is not None and id(t.node) not in seen:
                stack.append((t.node, False))
    return order



def adjust_input_rank(want_shape: tuple, value: Tensor) -> Tensor:
    """As Keras's Functional._adjust_input_rank: a value one rank short of its input shape whose
    last dimension is 1 gets that axis, and one a rank too many with a last dimension of 1 loses it
    (a (batch,) array feeds an `Input((1,))`)."""
    want, shape = len(want_shape), tuple(value.shape)
    got = len(shape)
    if got == want - 1 and want_shape[-1] == 1:
        return tf.expand_dims(value, -1)
    if got == want + 1 and shape[-1] == 1:
        return tf.squeeze(value, -1)
    return value

class Functional(Model):
    """A model defined by `keras.Model(inputs, outputs)`; inputs and outputs may be nested."""

    _convert_input_args = False

    def __new__(cls, *args: Any, **kwargs: Any) -> Functional:
        return Layer.__new__(cls)

    def __init__(
        self,
        inputs: Any = None,
        outputs: Any = None,
        name: str | None = None,
        trainable: bool = True,
        **kwargs: Any,
    ) -> None:
        if inputs is None or outputs is None:
            raise ValueError("A Functional model needs both `inputs` and `outputs`.")
        Layer.__init__(
            self, name=name, trainable=trainable, **{k: v for k, v in kwargs.items() if k == "dtype"}
        )
        self._init_trainer()
        self.autocast = False  # inputs are cast to each keras.Input's dtype in call()
        if isinstance(inputs, dict):
            for key, t in inputs.items():
                history = getattr(t, "_keras_history", None)
                tname = history[0].name if history else getattr(t, "name", None)
                if isinstance(t, SymbolicTensor) and tname is not None and key != tname:
                    warnings.warn(
                        "When providing `inputs` as a dict, all keys in the dict must match the names of the "
                        f"corresponding tensors. Received key '{key}' mapping to value {t} which has name "
                        f"'{tname}'. Change the tensor name to '{key}' (via `Input(..., name='{key}')`)",
                        stacklevel=2)
        self._input_struct = inputs
        flat_in = nest.flatten(inputs)
        flat_out = nest.flatten(outputs)
        for t in flat_in:
            if not isinstance(t, SymbolicTensor):
                raise TypeError(f"Model inputs must come from keras.Input(); received {t!r}.")
        for t in flat_out:
            if not isinstance(t, SymbolicTensor):
                raise TypeError(f"Model outputs must be symbolic tensors from layer calls; received {t!r}.")
        self._graph_inputs = flat_in
        self._graph_outputs = flat_out
        self._output_struct = outputs
        self._nodes = _topological_nodes(flat_out)
        ids_in = {id(t) for t in flat_in}
        for node in self._nodes:
            for t in node.inputs:
                if isinstance(t, SymbolicTensor) and t.node is None and id(t) not in ids_in:
                    raise ValueError(
                        f"Graph disconnected: cannot obtain value for tensor {t.name} (shape "
                        f'{tuple(t.shape)}) at layer "{node.name}". The following previous layers were '
                        f"accessed without issue: {[n.name for n in self._nodes[: self._nodes.index(node)]]}"
                    )
        layers = keras_layer_order(flat_in, flat_out, Layer)
        self._layers = layers
        self.built = True

    @property
    def layers(self) -> list:
        # As Keras 3: the operation nodes of a loaded file (mask arithmetic) are not layers.
        return [layer for layer in self._layers if not getattr(layer, "_keras_operation", False)]

    def _sublayers(self) -> list:
        return list(self._layers)

    @property
    def inputs(self) -> list:
        return list(self._graph_inputs)

    @property
    def outputs(self) -> list:
        return list(self._graph_outputs)

    @property
    def input(self) -> Any:
        return self._input_struct

    @property
    def output(self) -> Any:
        return self._output_struct

    @property
    def input_shape(self) -> Any:
        return nest.map_structure(lambda t: tuple(t.shape), self._input_struct)

    @property
    def output_shape(self) -> Any:
        return nest.map_structure(lambda t: tuple(t.shape), self._output_struct)

    def _flatten_inputs(self, inputs: Any) -> list:
        if isinstance(inputs, dict):
            if isinstance(self._input_struct, dict):
                missing = [k for k in self._input_struct if k not in inputs]
                if missing:
                    raise ValueError(
                        f"Model '{self.name}': missing inputs {missing}; received keys {list(inputs)}."
                    )
                return nest.flatten({k: inputs[k] for k in self._input_struct})
            by_name = []
            for t in self._graph_inputs:
                name = t._keras_history[0].name if t._keras_history else t.name
                if name not in inputs:
                    raise ValueError(
                        f"Model '{self.name}': missing input '{name}'; received keys {list(inputs)}."
                    )
                by_name.append(inputs[name])
            return by_name
        flat = nest.flatten(inputs)
        if len(flat) != len(self._graph_inputs):
            raise ValueError(
                f"Model '{self.name}' expects {len(self._graph_inputs)} input(s), but it received "
                f"{len(flat)} input tensors."
            )
        return flat

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        flat = self._flatten_inputs(inputs)
        feed = {}
        for i, (sym, value) in enumerate(zip(self._graph_inputs, flat, strict=False)):
            if isinstance(value, CompositeTensor):  # SparseTensor / RaggedTensor: fed as they are
                feed[id(sym)] = value
                continue
            if not isinstance(value, Tensor):
                value = tf.convert_to_tensor(value)
            if value._value is not None:
                value = self._adjust_input_rank(sym, value)
                self._check_input(i, sym, value)
                if value._value.dtype != sym.dtype._np:
                    value = tf.cast(value, sym.dtype)
            feed[id(sym)] = value
        outs = graph.evaluate(self._graph_outputs, feed)
        return nest.pack_sequence_as(self._output_struct, outs)

    @staticmethod
    def _adjust_input_rank(sym: SymbolicTensor, value: Tensor) -> Tensor:
        """As Keras: an input one rank short of its `Input` whose last dimension is 1 gets that
        axis, and one a rank too many with a last dimension of 1 loses it."""
        return adjust_input_rank(tuple(sym.shape), value)

    def _check_input(self, i: int, sym: SymbolicTensor, value: Tensor) -> None:
        want = tuple(sym.shape)
        got = tuple(value._value.shape)
        if len(want) != len(got) or any(
            w is not None and w != g for w, g in zip(want[1:], got[1:], strict=False)
        ):
            name = sym._keras_history[0].name if getattr(sym, "_keras_history", None) else sym.name
            raise ValueError(
                f"Input {i} with name '{name}' of layer '{self.name}' is incompatible with the layer: "
                f"expected shape={want}, found shape={got}"
            )

    def _symbolic_call(self, args: tuple, kwargs: dict) -> Any:
        # Calling a Functional model on symbolic tensors nests it as one layer of a bigger graph.
        return Layer._symbolic_call(self, args, kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shapes = [tuple(t.shape) for t in self._graph_outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def get_config(self) -> dict:
        from tapeflow.keras.models.functional_config import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Functional:
        from tapeflow.keras.models.functional_config import functional_from_config

        return functional_from_config(config, custom_objects, cls=None if cls is Functional else cls)


__all__ = ["Functional", "InputLayer", "LayerNode", "InputSpec", "check_input_spec"]

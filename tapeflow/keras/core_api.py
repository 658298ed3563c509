"""Keras 3's top-level helpers: `Function`, `Operation`, `name_scope`, `device`, `remat`, `version`."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow import nest
from tapeflow.graph import SymbolicTensor


def version() -> str:
    """The Keras API version Tapeflow follows ("3.15.0")."""
    from tapeflow.keras import __version__

    return __version__


class name_scope(tf.name_scope):  # noqa: N801 (Keras's name)
    """Prefix the names (and paths) of variables created inside with `name/`.

    Args:
        name: the scope's name.
        **kwargs: Keras's `caller`, `deduplicate` and `override_parent`; only their defaults are
            supported (Tapeflow's scopes nest by name).
    """

    def __init__(self, name: str, **kwargs: Any) -> None:
        for key, neutral in (("caller", None), ("deduplicate", True), ("override_parent", None)):
            value = kwargs.pop(key, neutral)
            if value is not neutral and value != neutral:
                raise ValueError(f"keras.name_scope: {key}={value!r} is not supported by Tapeflow.")
        if kwargs:
            raise TypeError(f"keras.name_scope got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        super().__init__(name)


def device(device_name: str) -> Any:
    """A context placing tensors and variables created inside on `device_name` ("cpu:0", "gpu:0")."""
    if not isinstance(device_name, str):
        raise ValueError(f"Invalid value for argument `device_name`. Expected a string like 'gpu:0'. "
                         f"Received: device_name={device_name!r}")
    return tf.device(device_name)


def remat(f: Any) -> Any:
    """`f` whose activations are recomputed in the backward pass instead of kept (same values and
    gradients, less memory)."""
    return tf.recompute_grad(f)


class Operation:
    """Base of a Keras op: subclass with `call(*args)` (and optionally `compute_output_spec`).

    Calling an operation on tensors runs `call`; on symbolic Keras tensors it records the same ops
    in the Functional graph, so an `Operation` can be used between `keras.Input` and a `Model`.
    """

    def __init__(self, name: str | None = None) -> None:
        from tapeflow.keras import backend

        self.name = name or backend.unique_name(_snake(type(self).__name__))
        self._inbound_nodes: list = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{type(self).__name__} must define call().")

    def symbolic_call(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs)

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """The output's shape and dtype for inputs of the given specs (a symbolic call)."""
        from tapeflow.keras.layers.base import KerasTensor

        def to_symbolic(x: Any) -> Any:
            if isinstance(x, SymbolicTensor) or not hasattr(x, "shape") or not hasattr(x, "dtype"):
                return x
            return KerasTensor(tuple(x.shape), x.dtype)

        args, kwargs = nest.map_structure(to_symbolic, (args, kwargs))
        return self.call(*args, **kwargs)

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> Operation:
        return cls(**config)


def _snake(name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Function:
    """A callable graph from symbolic `inputs` to `outputs` (built with `keras.Input` and ops/layers).

    Example:
        >>> x = keras.Input((3,))
        >>> f = keras.Function(x, keras.ops.relu(x) * 2)
        >>> f(np.array([[-1.0, 0.5, 2.0]]))
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None) -> None:
        from tapeflow.keras import backend
        from tapeflow.keras.models.functional import Functional

        self.name = name or backend.unique_name("function")
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._graph = Functional(inputs, outputs, name=self.name)

    @property
    def inputs(self) -> list:
        return nest.flatten(self._inputs_struct)

    @property
    def outputs(self) -> list:
        return nest.flatten(self._outputs_struct)

    @property
    def input(self) -> Any:
        return self._inputs_struct

    @property
    def output(self) -> Any:
        return self._outputs_struct

    @property
    def operations(self) -> list:
        """The layers (operations) of the graph, in the order they run."""
        return list(self._graph.layers)

    def __call__(self, inputs: Any) -> Any:
        return self.call(inputs)

    def call(self, inputs: Any) -> Any:
        """Run the graph on concrete (or symbolic) inputs of the same structure as `inputs`."""
        return self._graph(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self._graph.compute_output_shape(input_shape)

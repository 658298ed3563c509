"""Keras 3's top-level helpers: `Function`, `Operation`, `name_scope`, `device`, `remat`, `version`,
and the `RematScope`, `StatelessScope` and `SymbolicScope` context managers."""

from __future__ import annotations

import math
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


# -- rematerialization scopes -------------------------------------------------------------------
_REMAT_SCOPES: list = []


class RematScope:
    """Layers created inside recompute their activations in the backward pass (less memory, the
    same values and gradients).

    Args:
        mode: "full" (every layer), "activations" (only layers' `activation` functions),
            "larger_than" (layers whose output has more than `output_size_threshold` elements),
            "list_of_layers" (the layers named in `layer_names`), or None (no rematerialization).
        output_size_threshold: the size for "larger_than".
        layer_names: the layer names for "list_of_layers".
    """

    def __init__(self, mode: str | None = "full", output_size_threshold: int = 1024,
                 layer_names: list | None = None) -> None:
        if mode not in {"full", "activations", "larger_than", "list_of_layers", None}:
            raise ValueError(f"Invalid mode '{mode}'. Supported modes are: 'full', 'activations', 'larger_than', "
                             "'list_of_layers', or  None.")
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = layer_names or []

    def __enter__(self) -> RematScope:
        _REMAT_SCOPES.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _REMAT_SCOPES.remove(self)


def current_remat_mode() -> RematScope | None:
    """The innermost RematScope with a mode, or None."""
    if not _REMAT_SCOPES or _REMAT_SCOPES[-1].mode is None:
        return None
    return _REMAT_SCOPES[-1]


def rematerialized(layer: Any, call: Any, args: tuple) -> Any:
    """`call` as `layer`'s RematScope mode asks (unchanged when the mode does not apply)."""
    from tapeflow.tensor import Tensor

    scope = layer._remat_mode
    mode = scope.mode
    if mode == "activations":
        activation = getattr(layer, "activation", None)
        if activation is None:
            return call

        def with_remat_activation(*a: Any, **k: Any) -> Any:
            layer.__dict__["activation"] = remat(activation)
            try:
                return call(*a, **k)
            finally:
                layer.__dict__["activation"] = activation

        return with_remat_activation
    if mode == "list_of_layers" and layer.name not in scope.layer_names:
        return call
    if not args or not all(isinstance(a, Tensor) and a._value is not None for a in args):
        return call  # symbolic or non-tensor arguments: nothing to recompute
    if mode == "larger_than":
        try:
            shape = layer.compute_output_shape(tuple(args[0].shape))
        except (NotImplementedError, TypeError, ValueError):
            return call
        shapes = shape if isinstance(shape, list) else [shape]
        size = sum(math.prod(d or 1 for d in s) for s in shapes if isinstance(s, (tuple, list)))
        if not size or size <= scope.output_size_threshold:
            return call

    def recomputed(*a: Any, **k: Any) -> Any:
        return tf.recompute_grad(lambda *tensors: call(*tensors, **k))(*a)

    return recomputed


# -- stateless and symbolic scopes --------------------------------------------------------------
_STATELESS_SCOPES: list = []


class StatelessScope:
    """Run layers with variable values taken from `state_mapping`, without changing the variables.

    Inside, each mapped variable reads as its mapped value; assignments (`assign`, `assign_add`,
    `assign_sub`, and in-place updates such as BatchNormalization's moving statistics on mapped
    variables) change only the scope's copy. `get_current_value(variable)` gives the value at the
    end; on exit every variable holds what it held before.

    Args:
        state_mapping: [(variable, value), ...].
        collect_losses: collect the losses layers add inside into `scope.losses`.
        initialize_variables: must be True: Tapeflow initializes variables when they are created.
    """

    def __init__(self, state_mapping: Any = None, collect_losses: bool = False,
                 initialize_variables: bool = True) -> None:
        from tapeflow.tensor import Variable

        if not initialize_variables:
            raise ValueError("StatelessScope(initialize_variables=False) is not supported: Tapeflow initializes "
                             "variables when they are created, there is no deferred initialization to skip.")
        self.collect_losses = collect_losses
        self.initialize_variables = initialize_variables
        self.losses: list = []
        self.state_mapping: dict = {}
        self._variables: dict = {}
        self._saved: dict = {}
        for variable, value in state_mapping or []:
            if not isinstance(variable, Variable):
                raise ValueError("Invalid reference variable in StatelessScope: all keys in argument `mapping` must "
                                 f"be Variable instances. Received instead: {variable}")
            value = tf.cast(value, variable.dtype) if isinstance(value, tf.Tensor) else tf.constant(
                value, dtype=variable.dtype)
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError("Invalid variable value in StatelessScope: all values in argument `mapping` must be "
                                 "tensors with a shape that matches the corresponding variable shape. For variable "
                                 f"{variable}, received invalid value {value} with shape {tuple(value.shape)}.")
            self.state_mapping[id(variable)] = value
            self._variables[id(variable)] = variable

    def _adopt(self, variable: Any) -> None:
        """Give `variable` the scope's own copy of its value (the original is restored on exit)."""
        key = id(variable)
        if key in self._saved:
            return
        self._saved[key] = variable._value
        self._variables[key] = variable
        current = self.state_mapping.get(key)
        xp_value = variable._value if current is None else current._value
        variable._value = xp_value.copy()

    def __enter__(self) -> StatelessScope:
        from tapeflow import tensor

        for key in list(self._variables):
            self._adopt(self._variables[key])
        _STATELESS_SCOPES.append(self)
        tensor._assign_hooks.append(self._adopt)
        return self

    def __exit__(self, *exc: Any) -> None:
        from tapeflow import tensor

        tensor._assign_hooks.remove(self._adopt)
        _STATELESS_SCOPES.remove(self)
        for key, original in self._saved.items():
            variable = self._variables[key]
            self.state_mapping[key] = tf.constant(variable._value)
            variable._value = original
        self._saved.clear()

    def add_loss(self, loss: Any) -> None:
        self.losses.append(loss)

    def add_update(self, update: tuple) -> None:
        variable, value = update
        self._variables[id(variable)] = variable
        self.state_mapping[id(variable)] = tf.convert_to_tensor(value)

    def get_current_value(self, variable: Any) -> Any:
        """The variable's value in the scope (after the updates made inside), or None if unmapped."""
        key = id(variable)
        if key in self._saved:
            return tf.constant(variable._value)
        return self.state_mapping.get(key)


def current_stateless_scope() -> StatelessScope | None:
    return _STATELESS_SCOPES[-1] if _STATELESS_SCOPES else None


_SYMBOLIC_SCOPES: list = []


class SymbolicScope:
    """Marks code that runs on symbolic tensors (Keras uses it while inferring output specs).

    Tapeflow's symbolic tensors record their ops whether or not the scope is entered, so the scope
    only answers `in_symbolic_scope()`.
    """

    def __enter__(self) -> SymbolicScope:
        _SYMBOLIC_SCOPES.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _SYMBOLIC_SCOPES.remove(self)


def in_symbolic_scope() -> bool:
    """Whether a SymbolicScope is active."""
    return bool(_SYMBOLIC_SCOPES)

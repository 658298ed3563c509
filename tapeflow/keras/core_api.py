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
    """Run code with variable values taken from `state_mapping`, without changing any variable.

    Inside, each mapped variable reads as its mapped value. Every update made inside (`assign*`,
    BatchNormalization's moving statistics, metric updates, optimizer steps, SeedGenerator
    draws), whether or not the variable is mapped, changes only the scope's copy; later reads
    inside see it, `get_current_value(variable)` gives it (also after exit; None for a variable
    neither mapped nor updated), and on exit every variable holds what it held before.
    As in Keras, only the innermost scope is consulted: inside a nested scope, a variable that
    scope neither maps nor updated reads as its own value, and the nested scope's updates do not
    reach the outer one.

    Args:
        state_mapping: [(variable, value), ...].
        collect_losses: collect the losses layers add inside into `scope.losses`.
        initialize_variables: accepted for Keras's signature; Tapeflow initializes variables when
            they are created, so variables made inside are ready with either value.
    """

    def __init__(self, state_mapping: Any = None, collect_losses: bool = False,
                 initialize_variables: bool = True) -> None:
        from tapeflow.tensor import Variable

        self.collect_losses = collect_losses
        self.initialize_variables = initialize_variables
        self.losses: list = []
        self.state_mapping: dict = {}
        self._variables: dict = {}  # id -> variable, for every mapped or updated variable
        self._copies: dict = {}  # id -> the scope's own array (installed while the scope is active)
        self._own: dict = {}  # id -> the variable's own array, while the scope's copy is installed
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

    def _copy_for(self, variable: Any, value: Any) -> Any:
        own = variable._value
        a = value._value if isinstance(value, tf.Tensor) else value
        return tf.backend.asarray(a, own.dtype, tf.backend.get_xp(own)).copy()

    def _install(self, key: int) -> None:
        variable = self._variables[key]
        self._own[key] = variable._value
        variable._value = self._copies[key]

    def _adopt(self, variable: Any) -> None:
        """Before `variable` changes in place: give it the scope's own copy (once)."""
        key = id(variable)
        if key in self._own:
            return
        self._variables[key] = variable
        if key not in self._copies:
            self._copies[key] = variable._value.copy()
        self._install(key)

    def _activate(self) -> None:
        for key, variable in self._variables.items():
            if key not in self._copies:
                self._copies[key] = self._copy_for(variable, self.state_mapping[key])
            self._install(key)

    def _deactivate(self) -> None:
        for key, own in self._own.items():
            self._variables[key]._value = own
        self._own.clear()

    def __enter__(self) -> StatelessScope:
        from tapeflow import tensor

        if _STATELESS_SCOPES:
            _STATELESS_SCOPES[-1]._deactivate()
        self._activate()
        _STATELESS_SCOPES.append(self)
        tensor._assign_hooks.append(self._adopt)
        return self

    def __exit__(self, *exc: Any) -> None:
        from tapeflow import tensor

        tensor._assign_hooks.remove(self._adopt)
        _STATELESS_SCOPES.remove(self)
        self._deactivate()
        for key, copy in self._copies.items():
            self.state_mapping[key] = tf.constant(copy)
        self._copies.clear()
        if _STATELESS_SCOPES:
            _STATELESS_SCOPES[-1]._activate()

    def add_loss(self, loss: Any) -> None:
        self.losses.append(loss)

    def add_update(self, update: tuple) -> None:
        """Record `(variable, value)` as the variable's value in the scope (Keras's hook for
        variable assignments); reads inside the active scope see it."""
        variable, value = update
        key = id(variable)
        self._variables[key] = variable
        value = tf.convert_to_tensor(value, dtype=variable.dtype)
        self.state_mapping[key] = value
        if _STATELESS_SCOPES and _STATELESS_SCOPES[-1] is self:
            self._adopt(variable)
            variable._value[...] = value._value
        else:
            self._copies.pop(key, None)

    def get_current_value(self, variable: Any) -> Any:
        """The variable's value in the scope (after the updates made inside), or None if unmapped."""
        key = id(variable)
        copy = self._copies.get(key)
        if copy is not None:
            return tf.constant(copy)
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

"""`keras.optimizers.MultiOptimizer` and `OptimizerMap`: different optimizers for different
variables (say Adam for an encoder, SGD for the rest), chosen by variable path."""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping
from typing import Any

from tapeflow.keras.optimizers.loss_scale_optimizer import LossScaleOptimizer
from tapeflow.keras.optimizers.optimizer import Optimizer
from tapeflow.tracing import state as _trace_state


def _variable_path(variable: Any) -> str:
    return getattr(variable, "path", None) or str(variable.name).split(":")[0]


class OptimizerMap(MutableMapping):
    """Maps variable paths to optimizers: a key is a path or a regular expression matched against
    the whole path; unmatched variables get `default_optimizer`.

    Args:
        default_optimizer: the `Optimizer` for variables no key matches.
        optimizer_map: optional dict {path or pattern: Optimizer}.

    Example:
        >>> opt_map = keras.optimizers.OptimizerMap(keras.optimizers.SGD(), {"encoder/.*": keras.optimizers.Adam()})
        >>> opt_map["decoder/.*"] = keras.optimizers.RMSprop()
    """

    def __init__(self, default_optimizer: Optimizer, optimizer_map: dict | None = None) -> None:
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(f"default_optimizer must be a Keras Optimizer instance. Received: {default_optimizer}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dictionary. Received: {optimizer_map}")
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matching) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}.")
        if matching:
            return self._optimizer_map[matching[0]]
        return self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if key in self._optimizer_map:
            raise ValueError(f"'{key}' already exists in the OptimizerMap with value {self._optimizer_map[key]}. "
                             "Please make sure to not use duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key}")
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"optimizer must be a Keras Optimizer instance. Received: {optimizer}")
        if isinstance(optimizer, LossScaleOptimizer):
            raise ValueError("optimizer cannot be LossScaleOptimizer.")
        if isinstance(optimizer, MultiOptimizer):
            raise ValueError("optimizer cannot be MultiOptimizer.")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self) -> Any:
        return iter(self._optimizer_map)

    def __call__(self, variable: Any) -> Optimizer:
        return self[_variable_path(variable)]

    def get_config(self) -> dict:
        from tapeflow.keras.optimizers import serialize

        return {"default_optimizer": serialize(self._default_optimizer),
                "optimizer_map": {k: serialize(v) for k, v in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> OptimizerMap:
        from tapeflow.keras.optimizers import deserialize

        mapping = config.get("optimizer_map") or {}
        if isinstance(mapping, dict) and "config" in mapping and "class_name" in mapping:
            mapping = mapping["config"]  # Keras serialises the dict itself as an object
        return cls(deserialize(config["default_optimizer"], custom_objects),
                   {k: deserialize(v, custom_objects) for k, v in mapping.items()})


class MultiOptimizer(Optimizer):
    """Delegates each variable to the optimizer an `OptimizerMap` (or a callable
    `variable -> Optimizer`) gives it; each inner optimizer keeps its own learning rate, state and
    step count. Reading or setting `learning_rate` on the MultiOptimizer is an error.

    Args:
        optimizer_map: an `OptimizerMap`, or a callable returning an optimizer for a variable.
        loss_scale_factor: passed on to every inner optimizer.
        name: optional name.

    Example:
        >>> opt = keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
        ...     keras.optimizers.SGD(), {"encoder/.*": keras.optimizers.Adam()}))
        >>> for inner in opt.optimizers:
        ...     print(inner.learning_rate)
    """

    def __init__(self, optimizer_map: OptimizerMap | Callable, loss_scale_factor: float | None = None,
                 name: str | None = None) -> None:
        if not callable(optimizer_map):
            raise TypeError("MultiOptimizer: `optimizer_map` must be an OptimizerMap or a callable returning an "
                            f"optimizer for a variable. Received: {optimizer_map!r}")
        self._inner_optimizers: list = []
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        candidates = list(optimizer_map.values()) if isinstance(optimizer_map, OptimizerMap) else []
        default = getattr(optimizer_map, "default_optimizer", None)
        if default is not None:
            candidates.append(default)
        for opt in candidates:
            if opt not in self._inner_optimizers:
                opt.loss_scale_factor = loss_scale_factor
                self._inner_optimizers.append(opt)

    def build(self, var_list: list) -> None:
        if self.built:
            return
        self._var_to_optimizer_idx: dict = {}
        groups: list = [[] for _ in self._inner_optimizers]
        for var in var_list:
            opt = self._optimizer_map(var)
            if not isinstance(opt, Optimizer):
                raise ValueError(f"Optimizer for variable {var.name} is not an Optimizer instance. Received: {opt!r}")
            if isinstance(opt, LossScaleOptimizer):
                raise ValueError("LossScaleOptimizer cannot be used inside an MultiOptimizer.")
            if isinstance(opt, MultiOptimizer):
                raise ValueError("MultiOptimizer cannot be used inside an MultiOptimizer.")
            if opt not in self._inner_optimizers:
                opt.loss_scale_factor = self.loss_scale_factor
                self._inner_optimizers.append(opt)
                groups.append([])
            idx = self._inner_optimizers.index(opt)
            self._var_to_optimizer_idx[id(var)] = idx
            groups[idx].append(var)
        for opt, variables in zip(self._inner_optimizers, groups, strict=True):
            if variables:
                opt.build(variables)
        super().build(var_list)

    @property
    def optimizers(self) -> list:
        """The inner optimizers."""
        return self._inner_optimizers

    @property
    def variables(self) -> list:
        out = self._variables[:]
        for opt in self._inner_optimizers:
            out.extend(opt.variables)
        return out

    @property
    def learning_rate(self) -> Any:
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. Access the learning rate on "
                             "the individual sub-optimizers instead.")

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer. Set the learning rate on the "
                             "individual sub-optimizers instead.")

    @property
    def loss_scale_factor(self) -> float | None:
        return getattr(self, "_loss_scale_factor", None)

    @loss_scale_factor.setter
    def loss_scale_factor(self, value: float | None) -> None:
        self._loss_scale_factor = value
        for opt in getattr(self, "_inner_optimizers", ()):
            opt.loss_scale_factor = value

    def apply(self, grads: list, trainable_variables: list | None = None) -> None:
        """Give each inner optimizer its variables' gradients; count one step."""
        if len(grads) == 0:
            return
        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            self._apply_in_trace(list(grads), trainable_variables)
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must already be built "
                                 "on a list of variables. Call `optimizer.build(trainable_variables)` first.")
            trainable_variables = self._trainable_variables
        if not self.built:
            self.build(list(trainable_variables))
        if len(grads) != len(trainable_variables):
            raise ValueError(f"Gradients must match trainable variables one-to-one. Received {len(grads)} gradients "
                             f"and {len(trainable_variables)} variables.")
        groups: list = [([], []) for _ in self._inner_optimizers]
        for g, var in zip(grads, trainable_variables, strict=True):
            idx = self._var_to_optimizer_idx.get(id(var))
            if idx is None:
                raise ValueError(f"Unknown variable: {var.name}. This optimizer can only be called for the variables "
                                 "it was originally built with.")
            groups[idx][0].append(g)
            groups[idx][1].append(var)
        for opt, (sub_grads, sub_vars) in zip(self._inner_optimizers, groups, strict=True):
            if sub_grads:
                opt.apply(sub_grads, sub_vars)
        it = self._iterations._value
        it[()] = int(it) + 1

    def finalize_variable_values(self, var_list: list) -> None:
        groups: list = [[] for _ in self._inner_optimizers]
        for var in var_list:
            groups[self._var_to_optimizer_idx[id(var)]].append(var)
        for opt, variables in zip(self._inner_optimizers, groups, strict=True):
            if variables:
                opt.finalize_variable_values(variables)

    def set_weights(self, weights: list) -> None:
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet been built. Please "
                             "call `optimizer.build(trainable_variables)` to create the optimizer weights before "
                             "calling `set_weights()`.")
        own = len(self._variables)
        for var, w in zip(self._variables, weights[:own], strict=True):
            var.assign(w)
        start = own
        for opt in self._inner_optimizers:
            n = len(opt.variables)
            if n:
                opt.set_weights(weights[start:start + n])
                start += n

    def _current_lr(self) -> float:
        return 0.0

    def get_config(self) -> dict:
        return {"optimizer_map": _serialize_map(self._optimizer_map), "loss_scale_factor": self.loss_scale_factor,
                "name": self.name}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> MultiOptimizer:
        config = dict(config)
        config["optimizer_map"] = _deserialize_map(config["optimizer_map"], custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<MultiOptimizer name={self.name} optimizers={self._inner_optimizers!r}>"


def _serialize_map(optimizer_map: Any) -> dict:
    from tapeflow.keras.saving.object_registration import get_registered_name

    if isinstance(optimizer_map, OptimizerMap):
        return {"module": "keras.optimizers", "class_name": "OptimizerMap", "config": optimizer_map.get_config(),
                "registered_name": None}
    name = get_registered_name(optimizer_map)
    return {"module": getattr(optimizer_map, "__module__", None), "class_name": "function", "config": name,
            "registered_name": name}


def _deserialize_map(config: Any, custom_objects: dict | None) -> Any:
    from tapeflow.keras.saving.object_registration import lookup_custom_object

    if isinstance(config, OptimizerMap) or callable(config):
        return config
    if config.get("class_name") == "OptimizerMap":
        return OptimizerMap.from_config(config["config"], custom_objects)
    fn = lookup_custom_object(config.get("registered_name") or config.get("config"), custom_objects)
    if fn is None:
        raise ValueError(f"MultiOptimizer: cannot rebuild the optimizer selector {config.get('config')!r}; pass it in "
                         "`custom_objects` or register it with keras.saving.register_keras_serializable.")
    return fn

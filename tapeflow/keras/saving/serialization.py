"""Objects <-> plain-JSON configs: `{"module", "class_name", "config", "registered_name"}`.

Deserialisation instantiates only classes it can find by name among Tapeflow's built-ins,
registered objects (`register_keras_serializable`), an explicit `custom_objects` dict or an
active `custom_object_scope`. The `module` entry is informational: nothing is ever imported,
evaluated or unpickled from a config.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
from typing import Any

import numpy as np

from tapeflow.keras.saving import object_registration as _reg
from tapeflow.tensor import Tensor

# Built-in families: config "module" label -> the Tapeflow module whose deserialize() reads it.
_FAMILIES = {
    "keras.initializers": "tapeflow.keras.initializers",
    "keras.regularizers": "tapeflow.keras.regularizers",
    "keras.constraints": "tapeflow.keras.constraints",
    "keras.activations": "tapeflow.keras.activations",
    "keras.losses": "tapeflow.keras.losses",
    "keras.metrics": "tapeflow.keras.metrics",
    "keras.optimizers": "tapeflow.keras.optimizers",
    "keras.optimizers.schedules": "tapeflow.keras.optimizers.schedules",
}
_MODEL_CLASSES = ("Sequential", "Functional", "Model")
# Built-in classes that Keras 3 writes under their exported alias.
_KERAS_CLASS_NAMES = {"GroupedQueryAttention": "GroupQueryAttention"}


def _layers_module() -> Any:
    return importlib.import_module("tapeflow.keras.layers")


def _models_module() -> Any:
    return importlib.import_module("tapeflow.keras.models")


def _builtin_layer_class(name: str) -> type | None:
    """A Layer class named `name` in `keras.layers` or a model class, looked up at call time."""
    from tapeflow.keras.layers.base import Layer

    if name in _MODEL_CLASSES:
        return getattr(_models_module(), name)
    cls = getattr(_layers_module(), name, None)
    if isinstance(cls, type) and issubclass(cls, Layer):
        return cls
    return None


def _module_label(cls: type) -> str | None:
    """The `module` entry written for `cls` (Keras's public module names for built-ins; None for
    a class defined in `__main__`, as Keras's record_object_after_serialization writes)."""
    from tapeflow.keras.layers.base import Layer

    name = cls.__name__
    keras_op = getattr(cls, "keras_class_name", None)
    if keras_op and (cls.__module__ or "").startswith("tapeflow.keras.saving.keras_ops"):
        return "keras.src.ops.numpy"
    if issubclass(cls, Layer):
        if name in _MODEL_CLASSES and getattr(_models_module(), name, None) is cls:
            # NOTE: Keras 3 writes Functional under its source module (it is not in `keras.*`).
            return "keras.src.models.functional" if name == "Functional" else "keras"
        if getattr(_layers_module(), name, None) is cls:
            return "keras.layers"
    module = cls.__module__ or ""
    if module.startswith("tapeflow.keras."):
        parts = module.split(".")
        label = "keras." + parts[2]
        if parts[2] == "optimizers" and len(parts) > 3 and parts[3] == "schedules":
            label = "keras.optimizers.schedules"
        return label
    return None if module == "__main__" else module


def _is_builtin(cls: type) -> bool:
    return (cls.__module__ or "").startswith("tapeflow.")


# ---------------------------------------------------------------------------------------------
# Serialising
# ---------------------------------------------------------------------------------------------


def serialize_keras_object(obj: Any) -> Any:
    """A JSON-able description of `obj`.

    None, bools, numbers and strings are returned as they are; lists, tuples and dicts are
    serialised item by item; NumPy values become numbers or `{"class_name": "__numpy__"}`;
    functions become their registered name (or `__name__`); objects with `get_config()` become
    `{"module", "class_name", "config", "registered_name"}` (plus `"build_config"` for built
    layers that record their input shape).

    Raises:
        TypeError: for an object that has no `get_config()` and is not a plain value.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
    if isinstance(obj, Tensor) and not hasattr(obj, "get_config"):
        if obj._value is None:
            raise TypeError(f"Cannot serialise the symbolic tensor {obj!r}: it has no value.")
        arr = obj.numpy()
        return {"class_name": "__tensor__", "config": {"value": np.asarray(arr).tolist(),
                                                       "dtype": np.asarray(arr).dtype.name}}
    if isinstance(obj, type) and hasattr(obj, "get_config"):
        return _reg.get_registered_name(obj)
    if callable(obj) and not hasattr(obj, "get_config"):
        return _serialize_function(obj)
    if hasattr(obj, "get_config"):
        return _serialize_configurable(obj)
    raise TypeError(f"Cannot serialise {obj!r} of type {type(obj).__name__}: it has no get_config().")


def _serialize_function(fn: Any) -> Any:
    registered = _reg._GLOBAL_CUSTOM_NAMES.get(fn) if _hashable(fn) else None
    if registered is not None:
        return registered
    name = getattr(fn, "__name__", None)
    if name is None or name == "<lambda>":
        raise TypeError(
            f"Cannot serialise the callable {fn!r}: lambdas and unnamed callables cannot be "
            "saved; use a named function registered with keras.saving.register_keras_serializable."
        )
    return name


def _hashable(obj: Any) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _serialize_configurable(obj: Any) -> dict:
    from tapeflow.keras.layers.base import Layer

    cls = type(obj)
    config = obj.get_config()
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise TypeError(f"{cls.__name__}.get_config() must return a dict, returned {type(config).__name__}.")
    if isinstance(obj, Layer):
        _check_config_covers_init(obj, config)
    label = getattr(obj, "name", cls.__name__)
    try:
        config = serialize_keras_object(config)
    except TypeError as exc:
        raise TypeError(
            f"{cls.__name__} '{label}': get_config() holds a value that cannot be saved: {exc}") from exc
    _check_json(config, f"{cls.__name__} '{label}'")
    registered = _reg._GLOBAL_CUSTOM_NAMES.get(cls)
    if registered is None and not _is_builtin(cls):
        registered = cls.__name__
    class_name = (getattr(cls, "keras_class_name", None) or _KERAS_CLASS_NAMES.get(cls.__name__, cls.__name__)
                  if _is_builtin(cls) else cls.__name__)
    out = {"module": _module_label(cls), "class_name": class_name, "config": config,
           "registered_name": registered}
    if isinstance(obj, Layer) and obj.built:
        build_config = obj.get_build_config()
        if build_config is not None:
            out["build_config"] = serialize_keras_object(build_config)
    return out


def _check_config_covers_init(layer: Any, config: dict) -> None:
    """A custom layer whose `__init__` needs arguments must put them in its config (Keras's rule)."""
    cls = type(layer)
    if _is_builtin(cls):
        return
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return
    missing = [
        name for name, p in list(params.items())[1:]
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty and name not in config
    ]
    if missing:
        overridden = any("get_config" in k.__dict__ for k in cls.__mro__ if not _is_builtin(k))
        hint = "its get_config() does not return them" if overridden else "it must override get_config()"
        raise NotImplementedError(
            f"{cls.__name__} '{layer.name}' has arguments {missing} in `__init__()`, so {hint} "
            "(return every constructor argument) to be saved."
        )


def _check_json(config: Any, label: str) -> None:
    try:
        json.dumps(config, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{label}: its config is not JSON-serialisable ({exc}).") from exc


def serialize_layer(layer: Any) -> dict:
    """The config dict of a layer or model: `{"module", "class_name", "config",
    "registered_name"}` (and `"build_config"` when known). Plain JSON values only."""
    from tapeflow.keras.layers.base import Layer

    if not isinstance(layer, Layer):
        raise TypeError(f"serialize_layer expects a keras Layer, received {layer!r}.")
    return _serialize_configurable(layer)


# ---------------------------------------------------------------------------------------------
# Deserialising
# ---------------------------------------------------------------------------------------------


class UnknownObjectError(ValueError):
    """A config names a class or function that is neither built in nor registered."""


def _unknown(kind: str, name: str) -> UnknownObjectError:
    return UnknownObjectError(
        f"Unknown {kind}: '{name}'. It is neither a Tapeflow built-in nor a registered object. "
        "Pass it in `custom_objects={...}`, use `keras.saving.custom_object_scope`, or decorate "
        "its class with `@keras.saving.register_keras_serializable()`."
    )


def _is_builtin_name(name: str, module: str) -> bool:
    """Whether `name` is a Tapeflow built-in layer/model or a class of the family `module`."""
    if _builtin_layer_class(name) is not None:
        return True
    families = [_FAMILIES[module]] if module in _FAMILIES else list(_FAMILIES.values())
    for family in families:
        try:
            mod = importlib.import_module(family)
        except ImportError:
            continue
        if isinstance(getattr(mod, name, None), type):
            return True
    return False


def _lookup_custom(config: dict, custom_objects: dict | None) -> Any:
    """A user object named by `registered_name` or `class_name`, else None.

    Built-in families' own `serialize()` may leave `registered_name` empty for a registered
    class; its bare class name then finds the registry entry "Package>Name" (when exactly one
    package registered that name and no built-in has it).
    """
    name = config.get("class_name")
    for key in (config.get("registered_name"), name):
        if isinstance(key, str) and key:
            obj = _reg.get_registered_object(key, custom_objects)
            if obj is not None:
                return obj
    if (isinstance(name, str) and name and ">" not in name
            and not _is_builtin_name(name, config.get("module") or "")):
        return _reg.registered_by_short_name(name)
    return None


def _resolve_class(config: dict, custom_objects: dict | None, kind: str | None = None) -> Any:
    """The class (or function) a serialised dict names; custom objects win over built-ins.
    `kind` ("optimizer", "loss", ...) names what was expected in the unknown-class error."""
    name = config.get("class_name")
    if not isinstance(name, str):
        raise ValueError(f"A serialised object needs a string 'class_name', received {config!r:.200}.")
    obj = _lookup_custom(config, custom_objects)
    if obj is not None:
        return obj
    module = config.get("module") or ""
    if module in _FAMILIES:
        return _FAMILIES[module]  # the family's own deserialize() resolves it
    if module.startswith("keras.src.ops."):
        from tapeflow.keras.saving.keras_ops import OPERATIONS

        if name not in OPERATIONS:
            raise _unknown("Keras operation", name)
        return OPERATIONS[name]
    cls = _builtin_layer_class(name)
    if cls is not None:
        return cls
    if not module:
        # A Keras 2 style {"class_name", "config"} without a module: find the family by name.
        for family in _FAMILIES.values():
            try:
                mod = importlib.import_module(family)
            except ImportError:
                continue
            if isinstance(getattr(mod, name, None), type):
                return family
    if kind is None:
        kind = "layer" if module.startswith("keras.layers") or not module else "object"
    raise _unknown(kind, name)


def _pre_resolve_custom(config: dict, custom_objects: dict | None) -> dict:
    """Instantiate custom objects nested in a layer config (built-ins are left to the layer).

    A layer's `__init__` resolves `"activation": "relu"` or an initializer dict itself; only
    user objects (registered or passed in `custom_objects`) need resolving here so that it
    receives them as objects.
    """
    active = _reg.active_custom_objects(custom_objects)
    out = dict(config)
    for key, value in config.items():
        if key == "name":
            continue
        if isinstance(value, dict) and "class_name" in value and "config" in value:
            if value.get("class_name") in ("__numpy__", "__tensor__"):
                continue
            if _lookup_custom(value, custom_objects) is not None:
                out[key] = deserialize_keras_object(value, custom_objects)
        elif isinstance(value, str) and value:
            # A custom function saved by name (e.g. an activation): explicit/scoped objects,
            # a registered "Package>name", or the name part of exactly one registered entry.
            obj = active.get(value) or _reg.get_registered_object(value)
            if obj is None and ">" not in value:
                obj = _reg.registered_by_short_name(value)
            if obj is not None and not isinstance(obj, type) and callable(obj):
                out[key] = obj
    return out


def _instantiate(cls: Any, config: dict, custom_objects: dict | None) -> Any:
    from_config = getattr(cls, "from_config", None)
    if from_config is None:
        return cls(**config)
    try:
        params = inspect.signature(from_config).parameters
    except (TypeError, ValueError):
        params = {}
    if "custom_objects" in params:
        return from_config(config, custom_objects=custom_objects)
    return from_config(config)


def _decode_value(config: dict) -> Any:
    inner = config.get("config") or {}
    arr = np.asarray(inner.get("value"), dtype=inner.get("dtype"))
    if config["class_name"] == "__tensor__":
        import tapeflow as tf

        return tf.constant(arr)
    return arr


def deserialize_keras_object(config: Any, custom_objects: dict | None = None, safe_mode: bool = True,
                             module_objects: dict | None = None,
                             printable_module_name: str = "object") -> Any:
    """Rebuild an object from `serialize_keras_object`'s output.

    Args:
        config: a serialised dict, a registered/known name, or a plain value (a string that
            names nothing registered is returned as it is, as Keras does).
        custom_objects: {name: class or function} for user objects.
        safe_mode: accepted for Keras compatibility; Tapeflow never deserialises code.
        module_objects: extra {name: object} to resolve bare names against.

    Returns:
        The object (plain values are returned unchanged).

    Raises:
        ValueError: for a name that is neither built in nor registered.
    """
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, list):
        return [deserialize_keras_object(v, custom_objects, safe_mode, module_objects) for v in config]
    if isinstance(config, str):
        obj = _reg.get_registered_object(config, custom_objects, module_objects)
        if obj is None:
            if module_objects is None:
                return config  # as Keras: a plain string is a value (compile's "adam", "accuracy", ...)
            raise _unknown(printable_module_name, config)
        return obj
    if not isinstance(config, dict):
        raise TypeError(f"Cannot deserialise {config!r:.200} of type {type(config).__name__}.")
    if "class_name" not in config or "config" not in config:
        return {k: deserialize_keras_object(v, custom_objects, safe_mode, module_objects)
                for k, v in config.items()}
    if config["class_name"] in ("__numpy__", "__tensor__"):
        return _decode_value(config)
    with _reg.CustomObjectScope(custom_objects or {}):
        kind = None if printable_module_name == "object" else printable_module_name
        cls = _resolve_class(config, custom_objects, kind)
        if isinstance(cls, str):
            return _deserialize_family(cls, config, custom_objects)
        inner = config["config"]
        if isinstance(cls, type):
            if not isinstance(inner, dict):
                raise ValueError(
                    f"The config of '{config['class_name']}' must be a dict, received {inner!r:.200}.")
            inner = _pre_resolve_custom(inner, custom_objects)
            obj = _instantiate(cls, inner, custom_objects)
            _apply_build_config(obj, config.get("build_config"))
            return obj
        return cls  # a registered function


def _deserialize_family(family: str, config: dict, custom_objects: dict | None) -> Any:
    """Built-in initializers, regularizers, losses, ...: their module's own deserialize()."""
    module = importlib.import_module(family)
    fn = getattr(module, "deserialize", None)
    if fn is None:
        raise _unknown("object", config["class_name"])
    return fn(config, custom_objects=custom_objects)


def _apply_build_config(obj: Any, build_config: Any) -> None:
    from tapeflow.keras.layers.base import Layer

    if not isinstance(obj, Layer) or obj.built or not isinstance(build_config, dict):
        return
    if build_config.get("input_shape") is None and not build_config.get("shapes_dict"):
        return
    obj.build_from_config(build_config)
    obj.built = True  # as Keras's build wrapper: a user build() need not set it


def _to_shape(shape: Any) -> Any:
    """JSON lists back to shape tuples (nested lists stay lists of tuples, dicts stay dicts)."""
    if isinstance(shape, dict):
        return {k: _to_shape(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple, dict)) for s in shape):
        return [_to_shape(s) for s in shape]
    return tuple(shape)


def deserialize_layer(config: dict, custom_objects: dict | None = None) -> Any:
    """Rebuild a layer or model from `serialize_layer`'s dict (or a Keras `{"class_name",
    "config"}` dict).

    Args:
        config: the serialised layer.
        custom_objects: {name: class} for user layers that are not registered.

    Returns:
        A new layer (unbuilt unless its config records a build shape) or model.

    Raises:
        ValueError: when the class is neither a built-in layer nor registered/passed in.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"A layer config must be a dict with 'class_name' and 'config', received {config!r:.200}.")
    config = dict(config)
    config.setdefault("config", {})
    if (config.get("module") or "") in _FAMILIES:
        config["module"] = "keras.layers"
    from tapeflow.keras.layers.base import Layer

    try:
        layer = deserialize_keras_object(config, custom_objects)
    except Exception as exc:
        # Loaders name the innermost layer whose config failed (see model_io.build_model).
        if getattr(exc, "tapeflow_entry", None) is None:
            inner = config.get("config")
            name = inner.get("name") if isinstance(inner, dict) else None
            with contextlib.suppress(AttributeError, TypeError):
                exc.tapeflow_entry = f"layer {name!r} ({config['class_name']})"
        raise
    if not isinstance(layer, Layer):
        raise ValueError(f"'{config['class_name']}' does not name a layer (got {type(layer).__name__}).")
    return layer

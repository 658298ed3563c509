"""`keras.utils.legacy` / `keras.legacy.saving`: the Keras 2 object format {"class_name", "config"}.

Keras 2 wrote objects without the "module"/"registered_name" entries of Keras 3, and functions
by name; these helpers read and write that format (nested objects inside a config keep the
format `get_config()` gives them).
"""

from __future__ import annotations

import inspect
from typing import Any

from tapeflow.keras.saving import object_registration as _reg


def serialize_keras_object(instance: Any) -> Any:
    """`{"class_name": ..., "config": instance.get_config()}`, a function's name, or None."""
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        name = _reg.get_registered_name(type(instance))
        return {"class_name": name, "config": instance.get_config()}
    if hasattr(instance, "__name__"):
        return _reg.get_registered_name(instance)
    raise ValueError(f"Cannot serialize {instance!r} since it doesn't implement `get_config()`.")


def deserialize_keras_object(identifier: Any, module_objects: dict | None = None,
                             custom_objects: dict | None = None, printable_module_name: str = "object") -> Any:
    """The object a Keras 2 config (or a name) describes.

    Names are looked up in `custom_objects`, the registered objects, `module_objects`, then
    Tapeflow's built-in layers, models and Keras objects.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        if "class_name" not in identifier or "config" not in identifier:
            raise ValueError(f"Improper config format for {identifier}. Expecting python dict contains "
                             "`class_name` and `config` as keys")
        cls = _lookup(identifier["class_name"], module_objects, custom_objects, printable_module_name)
        config = identifier["config"]
        if hasattr(cls, "from_config"):
            params = inspect.signature(cls.from_config).parameters
            if "custom_objects" in params:
                return cls.from_config(config, custom_objects=custom_objects)
            with _reg.CustomObjectScope(custom_objects or {}):
                return cls.from_config(config)
        with _reg.CustomObjectScope(custom_objects or {}):
            return cls(**config)
    if isinstance(identifier, str):
        obj = _lookup(identifier, module_objects, custom_objects, printable_module_name)
        return obj() if inspect.isclass(obj) else obj
    if inspect.isfunction(identifier) or callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret serialized {printable_module_name}: {identifier!r}")


def _lookup(name: str, module_objects: dict | None, custom_objects: dict | None, label: str) -> Any:
    obj = _reg.get_registered_object(name, custom_objects, module_objects)
    if obj is None:
        from tapeflow.keras.saving.serialization import _builtin_layer_class

        obj = _builtin_layer_class(name)
    if obj is None:
        raise ValueError(f"Unknown {label}: '{name}'. Please ensure you are using a `keras.utils.custom_object_scope` "
                         "and that this object is included in the scope.")
    return obj

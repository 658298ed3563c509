"""The registry of user classes and functions that saved models may name (`Custom>MyLayer`).

Loading a model only ever instantiates classes found here, in an explicit `custom_objects`
dict, in an active `custom_object_scope`, or among Tapeflow's own built-ins: nothing is imported
or evaluated from the file itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# "Package>Name" -> object, and object -> "Package>Name" (Keras's two global tables).
_GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
_GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}


class _ScopeStack(threading.local):
    def __init__(self) -> None:
        self.stack: list[dict] = []


_scopes = _ScopeStack()


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable:
    """Decorator registering a class or function so saved models can name it.

    The object is recorded as `"{package}>{name}"` (name defaults to the object's `__name__`);
    `load_model` and `deserialize_keras_object` then find it without `custom_objects`.

    Args:
        package: the namespace part of the registered name.
        name: the name part (default: the class or function name).

    Returns:
        The decorator; it returns its argument unchanged.

    Example:
        >>> @keras.saving.register_keras_serializable(package="MyLayers")
        ... class Scale(keras.layers.Layer):
        ...     def get_config(self):
        ...         return super().get_config()
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(
            f"register_keras_serializable: package must be a string without '>', received {package!r}.")

    def decorator(obj: Any) -> Any:
        local_name = name if name is not None else getattr(obj, "__name__", None)
        if not local_name:
            raise ValueError(f"register_keras_serializable: cannot determine a name for {obj!r}; pass name=.")
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"Cannot register class {obj.__name__!r}: it has no get_config() method, so it "
                "could not be saved."
            )
        registered = f"{package}>{local_name}"
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered
        return obj

    return decorator


def get_registered_name(obj: Any) -> str:
    """The name `obj` was registered under, else its `__name__` (Keras's rule)."""
    try:
        registered = _GLOBAL_CUSTOM_NAMES.get(obj)
    except TypeError:  # unhashable
        registered = None
    if registered is not None:
        return registered
    return getattr(obj, "__name__", type(obj).__name__)


def get_custom_objects() -> dict:
    """The global, mutable {name: object} table of registered objects.

    Adding `get_custom_objects()["MyLayer"] = MyLayer` makes `MyLayer` loadable by that name.
    """
    return _GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """Context manager making `custom_objects` visible to deserialisation inside it.

    Example:
        >>> with keras.saving.custom_object_scope({"Scale": Scale}):
        ...     model = keras.models.load_model("model.keras")
    """

    def __init__(self, custom_objects: dict | None = None, *more: dict) -> None:
        merged: dict = {}
        for d in (custom_objects, *more):
            if d is None:
                continue
            if not isinstance(d, dict):
                raise TypeError(f"custom_object_scope expects dicts of {{name: object}}, received {d!r}.")
            merged.update(d)
        self.custom_objects = merged

    def __enter__(self) -> CustomObjectScope:
        _scopes.stack.append(self.custom_objects)
        return self

    def __exit__(self, *exc: Any) -> None:
        _scopes.stack.pop()


custom_object_scope = CustomObjectScope


def registered_by_short_name(name: str) -> Any:
    """A registered object whose name part (after '>') is `name`, when exactly one is."""
    hits = [obj for key, obj in _GLOBAL_CUSTOM_OBJECTS.items() if key.rpartition(">")[2] == name]
    return hits[0] if len(hits) == 1 else None


def get_registered_object(name: str, custom_objects: dict | None = None,
                          module_objects: dict | None = None) -> Any:
    """Resolve `name` among user objects: the `custom_objects` argument, then active scopes
    (innermost first), then the global registry, then `module_objects`; None when unknown."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    for scope in reversed(_scopes.stack):
        if name in scope:
            return scope[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def active_custom_objects(custom_objects: dict | None = None) -> dict:
    """The explicit `custom_objects` merged over every active scope (innermost wins)."""
    merged: dict = {}
    for scope in _scopes.stack:
        merged.update(scope)
    if custom_objects:
        merged.update(custom_objects)
    return merged


def lookup_custom_object(name: str, custom_objects: dict | None = None) -> Any:
    """`name` among user objects: `custom_objects`, active `custom_object_scope`s, then
    `register_keras_serializable` registrations; None when unknown."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return get_registered_object(name, custom_objects)


def serialize_object(obj: Any, module: str) -> dict | None:
    """`{"module", "class_name", "config", "registered_name"}` for an object with `get_config`
    (initializers, regularizers, losses, metrics, ...) or a named function (None for None)."""
    if obj is None:
        return None
    if hasattr(obj, "get_config") and not isinstance(obj, type):
        return {"module": module, "class_name": type(obj).__name__, "config": obj.get_config(),
                "registered_name": None}
    name = getattr(obj, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize {obj!r}: it has neither get_config() nor a __name__.")
    return {"module": module, "class_name": "function", "config": name, "registered_name": name}


def deserialize_object(config: dict, kind: str, classes: dict, functions: dict | None = None,
                       custom_objects: dict | None = None) -> Any:
    """Rebuild what `serialize_object` wrote: a class from `classes` (or a registered user class)
    via `from_config`, or a function from `functions` (or a registered user function)."""
    name = config.get("class_name")
    if name == "function":
        fn_name = str(config.get("config"))
        fn = (functions or {}).get(fn_name) or lookup_custom_object(fn_name, custom_objects)
        if fn is None:
            raise ValueError(f"Unknown {kind} function {fn_name!r}: pass it in `custom_objects`.")
        return fn
    cls = classes.get(name) or lookup_custom_object(name, custom_objects)
    if cls is None:
        raise ValueError(f"Unknown {kind}: {name!r}. Valid names: {', '.join(sorted(classes))}.")
    if not isinstance(cls, type):
        return cls
    return cls.from_config(dict(config.get("config") or {}))

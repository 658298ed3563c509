"""Serialize / rebuild the layers that recurrent wrappers hold (cells, wrapped layers)."""

from __future__ import annotations

from typing import Any


def serialize_layer(layer: Any) -> dict:
    """`{"class_name", "config"}` of a layer (Keras's serialized form, without the module)."""
    return {"module": "keras.layers", "class_name": type(layer).__name__, "config": layer.get_config(),
            "registered_name": None}


def deserialize_layer(config: Any, custom_objects: dict | None = None) -> Any:
    """Rebuild a layer from `serialize_layer`'s output (or pass a layer instance through)."""
    if not isinstance(config, dict):
        return config
    name = config["class_name"]
    cls = (custom_objects or {}).get(name)
    if cls is None:
        from tapeflow.keras import layers

        cls = getattr(layers, name, None)
    if cls is None:
        raise ValueError(
            f"Unknown layer class {name!r}; pass it in `custom_objects` to deserialize it."
        )
    inner = dict(config["config"])
    if custom_objects and _accepts_custom_objects(cls):
        return cls.from_config(inner, custom_objects=custom_objects)
    return cls.from_config(inner)


def _accepts_custom_objects(cls: type) -> bool:
    import inspect

    try:
        return "custom_objects" in inspect.signature(cls.from_config).parameters
    except (TypeError, ValueError):
        return False

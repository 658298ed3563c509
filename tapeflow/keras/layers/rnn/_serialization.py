"""Serialize / rebuild the layers that recurrent wrappers hold (cells, wrapped layers).

Thin lazy wrappers over `tapeflow.keras.saving.serialization` (imported on use: the saving
package imports the models, which import the layers).
"""

from __future__ import annotations

from typing import Any


def serialize_layer(layer: Any) -> dict:
    """`{"module", "class_name", "config", "registered_name"}` of a layer (Keras's form)."""
    from tapeflow.keras.saving.serialization import serialize_layer as _serialize

    return _serialize(layer)


def deserialize_layer(config: Any, custom_objects: dict | None = None) -> Any:
    """Rebuild a layer from `serialize_layer`'s output (a layer instance passes through)."""
    if not isinstance(config, dict):
        return config
    from tapeflow.keras.saving.serialization import deserialize_layer as _deserialize

    return _deserialize(config, custom_objects)

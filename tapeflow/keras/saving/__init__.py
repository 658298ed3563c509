"""`keras.saving`: model files (`.keras`), weights files (`.weights.npz`), configs, and the
registry of custom objects."""

from __future__ import annotations

import os
from typing import Any

from tapeflow.keras.saving import weights_io as _weights_io
from tapeflow.keras.saving.file_io import CorruptFileError
from tapeflow.keras.saving.model_io import clone_model, load_model, model_from_json, save_model
from tapeflow.keras.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from tapeflow.keras.saving.serialization import (
    UnknownObjectError,
    deserialize_keras_object,
    deserialize_layer,
    serialize_keras_object,
    serialize_layer,
)


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write `model`'s weights to a `.weights.npz` file (see `Model.save_weights`)."""
    _weights_io.save_weights(model, filepath, overwrite=overwrite)


def load_weights(model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False) -> None:
    """Load a `.weights.npz` file into `model` (see `Model.load_weights`)."""
    _weights_io.load_weights(model, filepath, skip_mismatch=skip_mismatch)


__all__ = [
    "CorruptFileError", "CustomObjectScope", "UnknownObjectError", "clone_model", "custom_object_scope",
    "deserialize_keras_object", "deserialize_layer", "get_custom_objects", "get_registered_name",
    "get_registered_object", "load_model", "load_weights", "model_from_json", "register_keras_serializable",
    "save_model", "save_weights", "serialize_keras_object", "serialize_layer",
]

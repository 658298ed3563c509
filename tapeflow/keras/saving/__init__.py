"""`keras.saving`: model files (`.keras`, legacy `.h5`), weights files (`.weights.h5`, legacy
`.h5`, Tapeflow's `.weights.npz`), configs, and the registry of custom objects."""

from __future__ import annotations

import os
from typing import Any

from tapeflow.keras.saving import saving_api as _saving_api
from tapeflow.keras.saving.file_editor import KerasFileEditor
from tapeflow.keras.saving.file_io import CorruptFileError
from tapeflow.keras.saving.model_io import clone_model, model_from_json
from tapeflow.keras.saving.saving_api import load_model, save_model
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


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True, max_shard_size: Any = None) -> None:
    """Write `model`'s weights to a `.weights.h5` (or `.weights.npz`) file (see `Model.save_weights`)."""
    if max_shard_size is not None:
        raise ValueError("save_weights: max_shard_size (sharded .weights.json files) is not supported by Tapeflow.")
    _saving_api.save_weights(model, filepath, overwrite=overwrite)


def load_weights(model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False, **kwargs: Any) -> None:
    """Load weights into `model` from any weights or model file (see `Model.load_weights`)."""
    by_name = kwargs.pop("by_name", None)
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {kwargs}")
    _saving_api.load_weights(model, filepath, skip_mismatch=skip_mismatch, by_name=by_name)


__all__ = [
    "CorruptFileError", "CustomObjectScope", "KerasFileEditor", "UnknownObjectError", "clone_model",
    "custom_object_scope",
    "deserialize_keras_object", "deserialize_layer", "get_custom_objects", "get_registered_name",
    "get_registered_object", "load_model", "load_weights", "model_from_json", "register_keras_serializable",
    "save_model", "save_weights", "serialize_keras_object", "serialize_layer",
]

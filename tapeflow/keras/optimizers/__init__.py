"""`keras.optimizers`: SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam, the `Optimizer`
base class, learning-rate `schedules`, and `get` / `serialize` / `deserialize`."""

from __future__ import annotations

from typing import Any

from tapeflow.keras.activations import lookup_custom_object
from tapeflow.keras.optimizers import schedules
from tapeflow.keras.optimizers.adadelta import Adadelta
from tapeflow.keras.optimizers.adagrad import Adagrad
from tapeflow.keras.optimizers.adam import Adam, AdamW
from tapeflow.keras.optimizers.adamax import Adamax
from tapeflow.keras.optimizers.nadam import Nadam
from tapeflow.keras.optimizers.optimizer import Optimizer
from tapeflow.keras.optimizers.rmsprop import RMSprop
from tapeflow.keras.optimizers.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam",
    "schedules", "get", "serialize", "deserialize",
]

_ALL: dict[str, type] = {
    cls.__name__.lower(): cls
    for cls in (Optimizer, SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam)
}


def serialize(optimizer: Optimizer) -> dict:
    """A JSON-able dict `{"module", "class_name", "config", "registered_name"}`."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None) -> Optimizer:
    """Rebuild an optimizer from `serialize`'s dict; built-in class names are case-insensitive."""
    name = config["class_name"]
    cls = _ALL.get(name.lower()) or lookup_custom_object(name, custom_objects)
    if cls is None:
        raise ValueError(
            f"Could not interpret optimizer identifier: {name!r}. Valid names: "
            f"{', '.join(n for n in sorted(_ALL) if n != 'optimizer')}."
        )
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects)


def get(identifier: Any, custom_objects: dict | None = None) -> Optimizer | None:
    """Resolve an optimizer: a name ("sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta",
    "adamax", "nadam"; case-insensitive), an instance, or a config dict.

    Raises:
        ValueError: for an unknown identifier, listing the valid names.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier, custom_objects)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}}, custom_objects)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")

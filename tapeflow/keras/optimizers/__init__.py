"""`keras.optimizers`: SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam, Adafactor, Ftrl,
Lamb, Lion, Muon, ScheduleFreeAdamW, the wrappers LossScaleOptimizer and MultiOptimizer (with
OptimizerMap), the `Optimizer` base class, learning-rate `schedules`, `legacy` (Keras 3's
placeholders), and `get` / `serialize` / `deserialize`."""

from __future__ import annotations

from typing import Any

from tapeflow.keras.activations import lookup_custom_object
from tapeflow.keras.optimizers import legacy, schedules
from tapeflow.keras.optimizers.adadelta import Adadelta
from tapeflow.keras.optimizers.adafactor import Adafactor
from tapeflow.keras.optimizers.adagrad import Adagrad
from tapeflow.keras.optimizers.adam import Adam, AdamW
from tapeflow.keras.optimizers.adamax import Adamax
from tapeflow.keras.optimizers.ftrl import Ftrl
from tapeflow.keras.optimizers.lamb import Lamb
from tapeflow.keras.optimizers.lion import Lion
from tapeflow.keras.optimizers.loss_scale_optimizer import LossScaleOptimizer
from tapeflow.keras.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from tapeflow.keras.optimizers.muon import Muon
from tapeflow.keras.optimizers.nadam import Nadam
from tapeflow.keras.optimizers.optimizer import Optimizer
from tapeflow.keras.optimizers.rmsprop import RMSprop
from tapeflow.keras.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from tapeflow.keras.optimizers.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Adafactor",
    "Ftrl", "Lamb", "Lion", "Muon", "ScheduleFreeAdamW", "LossScaleOptimizer", "MultiOptimizer", "OptimizerMap",
    "legacy", "schedules", "get", "serialize", "deserialize",
]

_ALL: dict[str, type] = {
    cls.__name__.lower(): cls
    for cls in (Optimizer, SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam, Adafactor, Ftrl, Lamb,
                Lion, Muon, ScheduleFreeAdamW, LossScaleOptimizer, MultiOptimizer, OptimizerMap)
}

# Classes a bare name cannot build (they wrap other optimizers, or are the abstract base).
_NEEDS_ARGUMENTS = {"optimizer", "lossscaleoptimizer", "multioptimizer", "optimizermap"}


def serialize(optimizer: Optimizer | OptimizerMap) -> dict:
    """A JSON-able dict `{"module", "class_name", "config", "registered_name"}`."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None) -> Optimizer | OptimizerMap:
    """Rebuild an optimizer from `serialize`'s dict; built-in class names are case-insensitive."""
    name = config["class_name"]
    cls = _ALL.get(name.lower()) or lookup_custom_object(name, custom_objects)
    if cls is None:
        raise ValueError(
            f"Could not interpret optimizer identifier: {name!r}. Valid names: "
            f"{', '.join(n for n in sorted(_ALL) if n not in _NEEDS_ARGUMENTS)}."
        )
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects)


def get(identifier: Any, custom_objects: dict | None = None) -> Optimizer | None:
    """Resolve an optimizer: a name ("sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta",
    "adamax", "nadam", "adafactor", "ftrl", "lamb", "lion", "muon", "schedulefreeadamw";
    case-insensitive), an instance, or a config dict.

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

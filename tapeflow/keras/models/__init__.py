"""`keras.models`: Model, Sequential, and (de)serialisation helpers."""

from tapeflow.keras.models.functional import Functional
from tapeflow.keras.models.model import Model
from tapeflow.keras.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential"]

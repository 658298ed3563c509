"""`keras.models`: Model, Sequential, and (de)serialisation helpers."""

from tapeflow.keras.models.functional import Functional
from tapeflow.keras.models.model import Model
from tapeflow.keras.models.sequential import Sequential
from tapeflow.keras.saving.model_io import clone_model, model_from_json
from tapeflow.keras.saving.saving_api import load_model, save_model

__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]

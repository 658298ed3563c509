"""`tf.keras`: layers, models, losses, metrics, optimizers, callbacks and utilities.

Submodules load on first use so `import tapeflow` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = {
    "activations", "applications", "backend", "callbacks", "config", "constraints", "datasets", "distillation",
    "distribution", "dtype_policies", "export", "initializers", "layers", "legacy", "losses", "metrics",
    "mixed_precision", "models", "ops", "optimizers", "preprocessing", "quantizers", "random", "regularizers",
    "saving", "tree", "utils", "visualization", "wrappers",
}
_TOP_LEVEL = {
    "Sequential": "tapeflow.keras.models",
    "Model": "tapeflow.keras.models",
    "Input": "tapeflow.keras.layers",
    "InputSpec": "tapeflow.keras.layers",
    "Layer": "tapeflow.keras.layers",
    "Variable": "tapeflow.keras.variables",
    "KerasTensor": "tapeflow.keras.layers.base",
    "DTypePolicy": "tapeflow.keras.dtype_policies",
    "FloatDTypePolicy": "tapeflow.keras.dtype_policies",
    "Initializer": "tapeflow.keras.initializers",
    "Loss": "tapeflow.keras.losses",
    "Metric": "tapeflow.keras.metrics",
    "Optimizer": "tapeflow.keras.optimizers",
    "Regularizer": "tapeflow.keras.regularizers",
    "Quantizer": "tapeflow.keras.quantizers",
    "Function": "tapeflow.keras.core_api",
    "Operation": "tapeflow.keras.core_api",
    "name_scope": "tapeflow.keras.core_api",
    "device": "tapeflow.keras.core_api",
    "remat": "tapeflow.keras.core_api",
    "RematScope": "tapeflow.keras.core_api",
    "StatelessScope": "tapeflow.keras.core_api",
    "SymbolicScope": "tapeflow.keras.core_api",
    "version": "tapeflow.keras.core_api",
}

__version__ = "3.15.0"


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"tapeflow.keras.{name}")
        globals()[name] = module
        return module
    if name in _TOP_LEVEL:
        value = getattr(importlib.import_module(_TOP_LEVEL[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tapeflow.keras' has no attribute {name!r}")


def __dir__() -> list:
    public = {n for n in globals() if not n.startswith("_")} - {"Any", "annotations", "importlib"}
    return sorted(public | _SUBMODULES | set(_TOP_LEVEL))

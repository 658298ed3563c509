"""Configs written by real Keras 3, made readable by Tapeflow's classes.

Keras 3.15 writes a few arguments that Tapeflow's classes do not take (`InputLayer(optional=)`,
`Dense(quantization_config=)`, LoRA settings, ...). When such an argument holds the value that
means "feature off", it is dropped; any other value raises an error naming the layer, the
argument and the value, instead of silently changing the model. Keras's `shared_object_id`
markers are removed (Tapeflow rebuilds shared objects per use, which is what they describe for
the dtype policies and initializers Keras marks).
"""

from __future__ import annotations

import inspect
from typing import Any

# Keras-only arguments and the value that leaves the feature off.
_NEUTRAL: dict[str, Any] = {
    "optional": False,
    "quantization_config": None,
    "lora_rank": None,
    "lora_alpha": None,
    "lora_enabled": False,
    "gated_attention": False,
    "input_axes": None,
    "output_axes": None,
    "flash_attention": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def _accepted(cls: Any) -> set:
    try:
        return set(inspect.signature(cls.__init__).parameters)
    except (TypeError, ValueError):
        return set()


def _target_class(config: dict) -> Any:
    from tapeflow.keras.saving.serialization import _builtin_layer_class

    name = config.get("class_name")
    if not isinstance(name, str):
        return None
    cls = _builtin_layer_class(name)
    if cls is not None:
        return cls
    import importlib

    for family in ("tapeflow.keras.initializers", "tapeflow.keras.optimizers", "tapeflow.keras.regularizers",
                   "tapeflow.keras.constraints", "tapeflow.keras.losses", "tapeflow.keras.metrics"):
        obj = getattr(importlib.import_module(family), name, None)
        if isinstance(obj, type):
            return obj
    return None


def from_keras(config: Any) -> Any:
    """A copy of a Keras config tree with Keras-only neutral arguments removed (see module doc).

    Raises:
        ValueError: when a Keras-only argument is set to a value Tapeflow cannot honour.
    """
    if isinstance(config, list):
        return [from_keras(v) for v in config]
    if not isinstance(config, dict):
        return config
    out = {k: from_keras(v) for k, v in config.items() if k != "shared_object_id"}
    inner = out.get("config")
    if "class_name" in out and isinstance(inner, dict):
        cls = _target_class(out)
        if cls is not None:
            accepted = _accepted(cls)
            for key in [k for k in inner if k in _NEUTRAL and k not in accepted]:
                if inner[key] != _NEUTRAL[key]:
                    raise ValueError(
                        f"{out['class_name']} '{inner.get('name', '?')}': the Keras argument {key}={inner[key]!r} "
                        f"is not supported by Tapeflow (only {key}={_NEUTRAL[key]!r} can be loaded).")
                del inner[key]
    return out

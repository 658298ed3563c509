"""`keras.dtype_policies`: the dtype policies of layers (float, mixed float16, quantized)."""

from __future__ import annotations

from typing import Any

from tapeflow.keras.dtype_policies.dtype_policy import DTypePolicy, FloatDTypePolicy
from tapeflow.keras.dtype_policies.policy_map import DTypePolicyMap
from tapeflow.keras.dtype_policies.quantized import (
    QUANTIZATION_MODES,
    AWQDTypePolicy,
    GPTQDTypePolicy,
    Int4DTypePolicy,
    QuantizedDTypePolicy,
    QuantizedFloat8DTypePolicy,
    quantized_policy_from_name as _quantized_policy_from_name,
)
from tapeflow.keras.dtype_policies import dtype_policy as _state

ALL_OBJECTS_DICT = {cls.__name__: cls for cls in (
    AWQDTypePolicy, DTypePolicy, FloatDTypePolicy, QuantizedDTypePolicy, QuantizedFloat8DTypePolicy,
    DTypePolicyMap, GPTQDTypePolicy, Int4DTypePolicy)}


def serialize(dtype_policy: DTypePolicy) -> dict:
    """A policy's Keras config dict: {"module", "class_name", "config", "registered_name"}."""
    cls = type(dtype_policy)
    if ALL_OBJECTS_DICT.get(cls.__name__) is cls:
        module = "keras" if cls in (DTypePolicy, FloatDTypePolicy) else "keras.dtype_policies"
        return {"module": module, "class_name": cls.__name__, "config": dtype_policy.get_config(),
                "registered_name": None}
    from tapeflow.keras.saving.serialization import serialize_keras_object

    return serialize_keras_object(dtype_policy)


def deserialize(config: dict, custom_objects: dict | None = None) -> DTypePolicy:
    """The policy a `serialize` dict describes (custom policy classes via `custom_objects`)."""
    if isinstance(config, dict) and config.get("class_name") in ALL_OBJECTS_DICT:
        cls = ALL_OBJECTS_DICT[config["class_name"]]
        inner = config.get("config") or {}
        if cls is DTypePolicyMap:
            return cls.from_config(inner, custom_objects)
        return cls.from_config(inner)
    from tapeflow.keras.saving.serialization import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects, module_objects=ALL_OBJECTS_DICT,
                                    printable_module_name="dtype policy")


def get(identifier: Any) -> DTypePolicy:
    """A `DTypePolicy` from None (the global policy), a name, a config dict, a dtype or a policy."""
    if identifier is None:
        return _state.dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.startswith(QUANTIZATION_MODES):
            return _quantized_policy_from_name(identifier)
        return DTypePolicy(identifier)
    from tapeflow.keras.ops.promotion import standardize_dtype

    try:
        name = standardize_dtype(identifier)
    except (ValueError, TypeError):
        raise ValueError("Cannot interpret `dtype` argument. Expected a string or an instance of DTypePolicy. "
                         f"Received: dtype={identifier!r}") from None
    return DTypePolicy(name)

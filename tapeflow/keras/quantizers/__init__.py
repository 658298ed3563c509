"""`keras.quantizers`: int8 abs-max quantization, int4 packing, fake quantization, float8 scaling,
and the quantization configs of `Layer.quantize` / `Model.quantize`.

NumPy/CuPy have no float8 arithmetic: `quantize_and_dequantize` to float8_e4m3fn / float8_e5m2
rounds in the compute dtype to the float8 values (the numbers of Keras's cast).
"""

from __future__ import annotations

from typing import Any

from tapeflow.keras.quantizers.configs import (
    AWQConfig,
    Float8QuantizationConfig,
    GPTQConfig,
    Int4QuantizationConfig,
    Int8QuantizationConfig,
    QuantizationConfig,
)
from tapeflow.keras.quantizers.quantizers import (
    AbsMaxQuantizer,
    Quantizer,
    abs_max_quantize,
    abs_max_quantize_grouped_with_zero_point,
    compute_float8_amax_history,
    compute_float8_scale,
    fake_quant_with_min_max_vars,
    pack_int4,
    quantize_and_dequantize,
    unpack_int4,
)

ALL_OBJECTS_DICT = {cls.__name__: cls for cls in (Quantizer, AbsMaxQuantizer, QuantizationConfig,
                                                  Int8QuantizationConfig, Int4QuantizationConfig,
                                                  Float8QuantizationConfig, AWQConfig)}


def serialize(initializer: Any) -> dict:
    """A quantizer's Keras config dict."""
    from tapeflow.keras.saving.serialization import serialize_keras_object

    return serialize_keras_object(initializer)


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    """The quantizer a `serialize` dict describes."""
    if isinstance(config, dict) and config.get("class_name") in ALL_OBJECTS_DICT:
        return ALL_OBJECTS_DICT[config["class_name"]].from_config(config.get("config") or {})
    from tapeflow.keras.saving.serialization import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects, module_objects=ALL_OBJECTS_DICT,
                                    printable_module_name="quantizer")


def get(identifier: Any, **kwargs: Any) -> Any:
    """A quantizer from None, a config dict, a class name ("abs_max_quantizer" too) or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        name = {"abs_max_quantizer": "AbsMaxQuantizer"}.get(identifier, identifier)
        if name not in ALL_OBJECTS_DICT:
            raise ValueError(f"Could not interpret quantizer identifier: {identifier!r}")
        return ALL_OBJECTS_DICT[name](**kwargs)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret quantizer identifier: {identifier!r}")

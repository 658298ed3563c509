"""Quantization configs: which quantizers a `layer.quantize(...)` / `model.quantize(...)` uses.

Each config's `mode` names the quantization it asks for; `get_config` / `from_config` write
and read Keras 3.15's dicts, so configs round-trip with Keras.
"""

from __future__ import annotations

from typing import Any


def _serialize(obj: Any) -> Any:
    from tapeflow.keras.saving.serialization import serialize_keras_object

    return serialize_keras_object(obj)


def _deserialize(config: Any) -> Any:
    if config is None:
        return None
    from tapeflow.keras import quantizers

    return quantizers.deserialize(config)


def _plain(value: Any) -> bool:
    """Whether `value` is JSON data (no layer objects)."""
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


class QuantizationConfig:
    """Base of quantization configs: a weight quantizer and an activation quantizer (or None)."""

    def __init__(self, weight_quantizer: Any = None, activation_quantizer: Any = None) -> None:
        self.weight_quantizer = weight_quantizer
        self.activation_quantizer = activation_quantizer

    @property
    def mode(self) -> str:
        raise TypeError(f"{type(self).__name__} has no quantization mode: use a subclass such as "
                        "Int8QuantizationConfig.")

    def get_config(self) -> dict:
        return {"weight_quantizer": _serialize(self.weight_quantizer),
                "activation_quantizer": _serialize(self.activation_quantizer)}

    @classmethod
    def from_config(cls, config: dict) -> QuantizationConfig:
        return cls(weight_quantizer=_deserialize(config.get("weight_quantizer")),
                   activation_quantizer=_deserialize(config.get("activation_quantizer")))

    @staticmethod
    def weight_quantizer_or_default(config: Any, default: Any) -> Any:
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config: Any, default: Any) -> Any:
        return config.activation_quantizer if config is not None else default


class Int8QuantizationConfig(QuantizationConfig):
    """int8 weights (per output channel) and, by default, int8 activations (per row, abs-max)."""

    def __init__(self, weight_quantizer: Any = None, activation_quantizer: Any = "default") -> None:
        from tapeflow.keras.quantizers.quantizers import AbsMaxQuantizer

        if activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        super().__init__(weight_quantizer, activation_quantizer)
        if weight_quantizer is not None and weight_quantizer.output_dtype != "int8":
            raise ValueError("Int8QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                             f"Received: output_dtype={weight_quantizer.output_dtype}")

    @property
    def mode(self) -> str:
        return "int8"


class Int4QuantizationConfig(QuantizationConfig):
    """int4 weights, per channel (`block_size` None or -1) or in blocks of `block_size` rows."""

    def __init__(self, weight_quantizer: Any = None, activation_quantizer: Any = "default",
                 block_size: int | None = 128) -> None:
        if activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if block_size is not None and block_size != -1 and block_size <= 0:
            raise ValueError(f"block_size must be None, -1, or a positive integer. Received: block_size={block_size}")
        self.block_size = block_size
        if block_size is not None and block_size > 0 and (weight_quantizer is not None
                                                          or activation_quantizer is not None):
            raise ValueError("Int4 sub-channel quantization (block_size > 0) does not support custom quantizers. "
                             "Either set block_size to None or -1 for per-channel quantization, or remove the custom "
                             f"quantizer arguments. Received: block_size={block_size}")
        if weight_quantizer is not None:
            if tuple(weight_quantizer.value_range) != (-8, 7):
                raise ValueError("Int4QuantizationConfig requires a weight_quantizer with value_range=(-8, 7). "
                                 f"Received: value_range={weight_quantizer.value_range}")
            if weight_quantizer.output_dtype != "int8":
                raise ValueError("Int4QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                                 f"Received: output_dtype={weight_quantizer.output_dtype}")

    @property
    def mode(self) -> str:
        return "int4"

    def get_config(self) -> dict:
        return {**super().get_config(), "block_size": self.block_size}

    @classmethod
    def from_config(cls, config: dict) -> Int4QuantizationConfig:
        return cls(weight_quantizer=_deserialize(config.get("weight_quantizer")),
                   activation_quantizer=_deserialize(config.get("activation_quantizer")),
                   block_size=config.get("block_size"))


class Float8QuantizationConfig(QuantizationConfig):
    """float8 training with delayed scaling (no options)."""

    def __init__(self) -> None:
        super().__init__(None, None)

    @property
    def mode(self) -> str:
        return "float8"

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Float8QuantizationConfig:
        return cls()


class _CalibratedConfig(QuantizationConfig):
    """A post-training method calibrated on `dataset` tokenized by `tokenizer` (GPTQ, AWQ)."""

    _mode = ""

    def __init__(self, dataset: Any, tokenizer: Any, *, weight_bits: int = 4, num_samples: int = 128,
                 sequence_length: int = 512, group_size: int = 128,
                 quantization_layer_structure: dict | None = None, **options: Any) -> None:
        super().__init__(None, None)
        if not isinstance(weight_bits, int) or weight_bits not in self._bits:
            raise ValueError(f"{type(self).__name__}: weight_bits must be one of {self._bits}, "
                             f"received {weight_bits!r}.")
        if group_size < -1 or group_size == 0:
            raise ValueError(f"{type(self).__name__}: group_size must be -1 or positive, received {group_size!r}.")
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.weight_bits = weight_bits
        self.num_samples = num_samples
        self.sequence_length = sequence_length
        self.group_size = group_size
        self.quantization_layer_structure = quantization_layer_structure
        for key, value in options.items():
            setattr(self, key, value)
        self._options = dict(options)

    @property
    def mode(self) -> str:
        return self._mode

    def dtype_policy_string(self) -> str:
        """The policy-name prefix ("gptq/4/128") of layers quantized with this config."""
        return f"{self._mode}/{self.weight_bits}/{self.group_size}"

    def get_config(self) -> dict:
        # The dataset and tokenizer serve the one-time calibration and are not saved (as in Keras);
        # nor is a structure of layer objects (Keras's saving recurses into it and fails).
        structure = self.quantization_layer_structure
        if structure is not None and not _plain(structure):
            structure = None
        return {"dataset": None, "tokenizer": None, "weight_bits": self.weight_bits, "num_samples": self.num_samples,
                "sequence_length": self.sequence_length, "group_size": self.group_size, **self._options,
                "quantization_layer_structure": structure}

    @classmethod
    def from_config(cls, config: dict) -> _CalibratedConfig:
        config = dict(config)
        return cls(config.pop("dataset", None), config.pop("tokenizer", None), **config)


class GPTQConfig(_CalibratedConfig):
    """GPTQ post-training quantization (Hessian-based rounding, calibrated on a text dataset)."""

    _mode = "gptq"
    _bits = (2, 3, 4, 8)

    def __init__(self, dataset: Any, tokenizer: Any, *, weight_bits: int = 4, num_samples: int = 128,
                 per_channel: bool = True, sequence_length: int = 512, hessian_damping: float = 0.01,
                 group_size: int = 128, symmetric: bool = False, activation_order: bool = False,
                 quantization_layer_structure: dict | None = None) -> None:
        if not 0.0 <= hessian_damping <= 1.0:
            raise ValueError(f"GPTQConfig: hessian_damping must be in [0, 1], received {hessian_damping!r}.")
        super().__init__(dataset, tokenizer, weight_bits=weight_bits, num_samples=num_samples,
                         sequence_length=sequence_length, group_size=group_size,
                         quantization_layer_structure=quantization_layer_structure, per_channel=per_channel,
                         hessian_damping=hessian_damping, symmetric=symmetric, activation_order=activation_order)


class AWQConfig(_CalibratedConfig):
    """AWQ post-training quantization (activation-aware 4-bit weights, calibrated on a text dataset)."""

    _mode = "awq"
    _bits = (4,)

    def __init__(self, dataset: Any, tokenizer: Any, *, weight_bits: int = 4, num_samples: int = 128,
                 sequence_length: int = 512, group_size: int = 128, num_grid_points: int = 20,
                 quantization_layer_structure: dict | None = None) -> None:
        super().__init__(dataset, tokenizer, weight_bits=weight_bits, num_samples=num_samples,
                         sequence_length=sequence_length, group_size=group_size,
                         quantization_layer_structure=quantization_layer_structure, num_grid_points=num_grid_points)


CONFIG_CLASSES = {cls.__name__: cls for cls in (QuantizationConfig, Int8QuantizationConfig, Int4QuantizationConfig,
                                                Float8QuantizationConfig, GPTQConfig, AWQConfig)}

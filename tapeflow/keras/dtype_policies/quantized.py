"""Quantized dtype policies: the configuration of a quantized layer ("int8_from_float32", ...).

They describe a quantization (mode, block or group sizes) so that configs round-trip as Keras
writes them. Tapeflow runs the "int8" mode (`Dense`/`EinsumDense`.quantize("int8")); a layer
given a policy of another mode refuses it by name (`Layer.__init__`).
"""

from __future__ import annotations

from typing import Any

from tapeflow.keras.dtype_policies.dtype_policy import DTypePolicy, _parse_name, dtype_policy

QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")


class QuantizedDTypePolicy(DTypePolicy):
    """A policy for a layer quantized with `mode` from a float policy `source_name`.

    Args:
        mode: one of "int8", "float8", "int4", "gptq", "awq".
        source_name: the float policy the weights came from (default: the global policy's).
    """

    def __init__(self, mode: str, source_name: str | None = None) -> None:
        if source_name is None:
            source_name = dtype_policy().name
        self._compute_dtype, self._variable_dtype = _parse_name(source_name)
        if mode not in QUANTIZATION_MODES:
            raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. "
                             f"Received: mode={mode!r}")
        if self._compute_dtype == "float16" and mode == "int8":
            raise ValueError(f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'.")
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode

    def __eq__(self, other: object) -> bool:
        return (super().__eq__(other) and self._quantization_mode == other._quantization_mode
                and self._source_name == other._source_name)

    __hash__ = DTypePolicy.__hash__

    def get_config(self) -> dict:
        return {"mode": self._quantization_mode, "source_name": self._source_name}


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """A float8 quantization policy; `amax_history_length` scaling steps are kept."""

    default_amax_history_length = 1024

    def __init__(self, mode: str, source_name: str | None = None, amax_history_length: int = 1024) -> None:
        super().__init__(mode=mode, source_name=source_name)
        if not isinstance(amax_history_length, int):
            raise TypeError(f"`amax_history_length` must be an integer. Received: "
                            f"amax_history_length={amax_history_length!r}")
        self._amax_history_length = amax_history_length

    @property
    def amax_history_length(self) -> int:
        return self._amax_history_length

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self._amax_history_length == other._amax_history_length

    __hash__ = DTypePolicy.__hash__

    def get_config(self) -> dict:
        return {**super().get_config(), "amax_history_length": self._amax_history_length}


def _split_mode(mode: str, algorithm: str, fields: tuple, cls: str) -> list:
    parts = mode.split("/") if isinstance(mode, str) else []
    expected = "'" + "/".join([algorithm] + [f"<{f}>" for f in fields]) + "'"
    if len(parts) != len(fields) + 1 or parts[0] != algorithm:
        raise ValueError(f"Invalid mode for {cls}. Expected format {expected}, but got {mode!r}.")
    try:
        return [int(p) for p in parts[1:]]
    except ValueError:
        raise ValueError(f"Invalid mode for {cls}. {' and '.join(f'<{f}>' for f in fields)} must be "
                         f"integers. Expected format {expected}, but got {mode!r}.") from None


def _check_group(size: int, name: str, mode: str) -> None:
    if size < -1 or size == 0:
        raise ValueError(f"Invalid {name} in mode. Supported values are -1 or a positive integer, but got "
                         f"{size} from {mode!r}.")


class Int4DTypePolicy(QuantizedDTypePolicy):
    """int4 sub-channel quantization: `mode` is "int4/<block_size>" (-1: per channel)."""

    def __init__(self, mode: str, source_name: str | None = None) -> None:
        (block_size,) = _split_mode(mode, "int4", ("block_size",), "Int4DTypePolicy")
        _check_group(block_size, "block_size", mode)
        super().__init__(mode="int4", source_name=source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.mode = "int4"
        self.block_size = block_size

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self.block_size == other.block_size

    __hash__ = DTypePolicy.__hash__

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": f"int4/{self.block_size}"}


class _GroupedPolicy(QuantizedDTypePolicy):
    _algorithm = ""
    _bits: tuple = ()

    def __init__(self, mode: str, source_name: str | None = None) -> None:
        name = type(self).__name__
        weight_bits, group_size = _split_mode(mode, self._algorithm, ("weight_bits", "group_size"), name)
        if weight_bits not in self._bits:
            raise ValueError(f"Invalid weight_bits in mode. {name} supports {self._bits}, but got "
                             f"{weight_bits} from {mode!r}.")
        _check_group(group_size, "group_size", mode)
        super().__init__(mode=self._algorithm, source_name=source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.mode = self._algorithm
        self.weight_bits = weight_bits
        self.group_size = group_size

    def __eq__(self, other: object) -> bool:
        return (super().__eq__(other) and self.weight_bits == other.weight_bits
                and self.group_size == other.group_size)

    __hash__ = DTypePolicy.__hash__

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": f"{self.mode}/{self.weight_bits}/{self.group_size}"}


class GPTQDTypePolicy(_GroupedPolicy):
    """GPTQ quantization: `mode` is "gptq/<weight_bits>/<group_size>" (bits 2, 3, 4 or 8)."""

    _algorithm = "gptq"
    _bits = (2, 3, 4, 8)


class AWQDTypePolicy(_GroupedPolicy):
    """AWQ quantization: `mode` is "awq/4/<group_size>" (AWQ is 4-bit only)."""

    _algorithm = "awq"
    _bits = (4,)


def quantized_policy_from_name(policy: Any) -> QuantizedDTypePolicy:
    """The policy named "<mode>_from_<source>" ("int8_from_float32", "int4/128_from_float32", ...)."""
    if not isinstance(policy, str):
        raise TypeError(f"`policy` must be a string. Received: policy={policy!r}")
    if not policy.startswith(QUANTIZATION_MODES):
        raise ValueError(f"`policy` {policy!r} is not a quantized policy; expected a name starting with one "
                         f"of {QUANTIZATION_MODES}.")
    parts = policy.split("_from_")
    if len(parts) != 2:
        raise ValueError("Cannot convert `policy` into a valid pair (`mode`, `source_name`) to instantiate "
                         f"`QuantizedDTypePolicy`. Received: policy={policy!r}")
    mode, source_name = parts
    if mode.startswith("int4") and "/" in mode:
        return Int4DTypePolicy(mode, source_name)
    if mode.startswith("gptq"):
        return GPTQDTypePolicy(mode, source_name)
    if mode.startswith("awq"):
        return AWQDTypePolicy(mode, source_name)
    if mode.startswith("float8"):
        return QuantizedFloat8DTypePolicy(mode, source_name)
    return QuantizedDTypePolicy(mode, source_name)

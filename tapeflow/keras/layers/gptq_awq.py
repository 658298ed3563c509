"""GPTQ and AWQ quantized Dense / EinsumDense (Keras 3.15's "gptq" / "awq" modes)."""

from __future__ import annotations

from typing import Any

from tapeflow.errors import UnimplementedError


def _refuse(mode: str) -> UnimplementedError:
    return UnimplementedError(None, None, f"quantization mode {mode!r} (calibrated post-training quantization) is "
                                          "not available in this Tapeflow build yet: use 'int8', 'int4' or 'float8'.")


def build_calibrated(layer: Any, kernel_shape: tuple, reduced_axes: tuple, mode: str, config: Any,
                     from_policy: bool = False) -> None:
    raise _refuse(mode)


def calibrated_product(layer: Any, x: Any, specs: tuple) -> Any:
    raise _refuse(layer.quantization_mode)

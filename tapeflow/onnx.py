"""`tapeflow.onnx`: export Keras models to ONNX (the converters live in
`tapeflow.keras.saving.onnx_export`; this module is the short public name).

Example:
    tapeflow.onnx.export(model, "model.onnx")   # same as model.export("model.onnx", format="onnx")
"""

from __future__ import annotations

import os
from typing import Any


def export(model: Any, filepath: str | os.PathLike, input_signature: Any = None, opset_version: int | None = None,
           verbose: Any = False) -> None:
    """Write `model` (Sequential or Functional) as an ONNX file; see `Model.export(format="onnx")`."""
    from tapeflow.keras.saving.onnx_export import export_onnx

    export_onnx(model, filepath, verbose=verbose, input_signature=input_signature, opset_version=opset_version)


def to_onnx(model: Any, input_signature: Any = None, opset_version: int | None = None) -> Any:
    """The ONNX `ModelProto` of `model`'s inference call (needs the `onnx` package)."""
    from tapeflow.keras.saving.onnx_export import to_onnx as convert

    return convert(model, input_signature=input_signature, opset_version=opset_version)


__all__ = ["export", "to_onnx"]
